import { describe, expect, it } from 'vitest';
import { TWIN_RECHECK_AFTER_MS } from '../../src/actors/inboundOwners.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, editContact, must } from '../support/syncHarness.ts';

/**
 * A person keyed into the CRM twice after the first sync: the second record (`keptId`) is suppressed, and the audit
 * advises merging the two in the CRM. The agency merges them into the second, and the CRM archives the first
 * (Reapit's API has no delete: archiving, `fromArchive`, is its only removal) rather than deleting it. NurtureHub
 * ends with one contact, active, synced with the kept record, its engagement kept. Before, the archived loser stayed
 * the contact's record and archived it, and the kept record was suppressed again at every change. (Alto refuses to
 * create the second record of a live person, 409, so the case is Reapit's.)
 */
describe.each(['reapit'] as const)('two %s records of one person merged, the loser archived', (name) => {
  it('keeps the contact active and links the kept record', async () => {
    let lateByMs = 0;
    const h = await createSyncHarness(name, {
      simulator: { contacts: 12, seed: 5 },
      runner: { clock: () => new Date(Date.now() + lateByMs) },
    });
    try {
      const { store, tenantId } = h;
      const ref = { tenantId, connectionId: h.connectionId };
      await auditedCycle(h);
      const before = must(await store.listContacts({ tenantId, limit: 50 }));
      const person = before.find(
        (c) =>
          c.contact.status === 'active' &&
          c.contact.email !== null &&
          c.contact.mobilePhone !== null &&
          c.contact.lastName !== null &&
          c.links.length === 1,
      );
      const loserId = person?.links[0]?.externalId;
      if (person === undefined || loserId === undefined) throw new Error('no such person');
      const agency = agencyClient(name, h.sim);
      const keptId = must(
        await agency.create({ contact: person.contact, reference: 'keyed in twice' }),
      ).externalId;
      expect((await auditedCycle(h))?.duplicatesSuppressed).toEqual([
        expect.objectContaining({ incoming: keptId, matched: person.id }),
      ]);
      await editContact(h, person.id, { intentScore: 70 });
      await auditedCycle(h);

      // The merge, an hour or more later: the loser archived, the kept record saved with the merged data.
      lateByMs = TWIN_RECHECK_AFTER_MS;
      const loser = must(await agency.getRecord({ externalId: loserId }));
      must(
        await agency.update({ externalId: loserId, patch: { status: 'archived' }, version: loser.version }),
      );
      const kept = must(await agency.getRecord({ externalId: keptId }));
      must(await agency.update({ externalId: keptId, patch: { title: 'Prof' }, version: kept.version }));

      const merged = await auditedCycle(h);
      expect(merged?.duplicatesSuppressed).toEqual([
        expect.objectContaining({
          incoming: keptId,
          matched: person.id,
          reason: expect.stringContaining(
            `in place of ${name} record ${loserId}, which ${name} holds archived`,
          ),
        }),
      ]);
      const [after] = must(await store.getContacts({ tenantId, ids: [person.id] }));
      const links = must(await store.getLinksByContactIds({ ...ref, contactIds: [person.id] }));
      expect(must(await store.listContacts({ tenantId, limit: 50 }))).toHaveLength(before.length);
      expect(after?.contact.status).toBe('active');
      expect(links.map((l) => l.externalId)).toEqual([keptId]);
      expect(after?.contact).toMatchObject({ title: 'Prof', intentScore: 70 });
      expect((await auditedCycle(h))?.written).toMatchObject({ created: 0, updated: 0 });
      expect(must(await agency.getRecord({ externalId: keptId })).contact.status).toBe('active');
      expect(must(await agency.getRecord({ externalId: loserId })).contact.status).toBe('archived');
    } finally {
      await h.close();
    }
  }, 60_000);
});
