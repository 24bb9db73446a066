import { describe, expect, it } from 'vitest';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A person keyed into Reapit twice: the second record is suppressed as the CRM holding the person twice, and the
 * audit says to merge the two in the CRM. The agency does, keeping the second record. The contact stayed linked to
 * the record the merge removed: every change of it was sent there and refused (404), and the record kept was never
 * read again unless it changed, when it was suppressed again. Now the 404 drops the link, and the kept record links
 * to the contact when it next comes in.
 */
describe('two records of one person merged in the CRM into the one that was suppressed', () => {
  it('unlinks the removed record at its 404 and links the kept one when it next changes', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 12, seed: 5 } });
    try {
      const { store, tenantId } = h;
      const ref = { tenantId, connectionId: h.connectionId };
      await auditedCycle(h);
      const before = must(await store.listContacts({ tenantId, limit: 50 }));
      const person = before.find(
        (c) => c.contact.status === 'active' && c.contact.email !== null && c.contact.lastName !== null,
      );
      const removedId = person?.links[0]?.externalId;
      if (person === undefined || removedId === undefined) throw new Error('the seed holds no such person');
      const agency = agencyClient('reapit', h.sim);
      const keptId = must(
        await agency.create({ contact: person.contact, reference: 'keyed in twice' }),
      ).externalId;
      const twice = await auditedCycle(h);
      expect(twice?.duplicatesSuppressed).toEqual([
        expect.objectContaining({ incoming: keptId, matched: person.id }),
      ]);

      // The merge in Reapit: the linked record goes, the suppressed one stays. Then NurtureHub scores the contact.
      expect(await h.sim.control.remove([removedId])).toEqual({ removed: [removedId] });
      const [stored] = must(await store.getContacts({ tenantId, ids: [person.id] }));
      if (stored === undefined) throw new Error('no contact');
      must(
        await store.upsertContacts({
          tenantId,
          contacts: [{ id: person.id, contact: { ...stored.contact, intentScore: 70 } }],
          now: new Date(),
        }),
      );
      const refused = await auditedCycle(h);
      // Before: "refused; sent again when the contact changes", the link kept, and the next change refused again.
      expect(refused?.errors).toEqual([
        {
          status: 404,
          message: expect.stringContaining(
            `(${removedId}) refused; the contact is no longer linked to it, and links to the person's record in ` +
              'Reapit when that record next changes: Reapit has no such record',
          ),
          retry: false,
        },
      ]);
      expect(must(await store.getLinksByContactIds({ ...ref, contactIds: [person.id] }))).toEqual([]);

      const { version } = must(await agency.getRecord({ externalId: keptId }));
      must(await agency.update({ externalId: keptId, patch: { title: 'Dr' }, version }));
      const relinked = await auditedCycle(h);
      expect(relinked?.errors).toEqual([]);
      const links = must(await store.getLinksByContactIds({ ...ref, contactIds: [person.id] }));
      expect(links.map((link) => link.externalId)).toEqual([keptId]);
      const [after] = must(await store.getContacts({ tenantId, ids: [person.id] }));
      expect(after?.contact).toMatchObject({ title: 'Dr', intentScore: 70 });
      expect(must(await agency.getRecord({ externalId: keptId })).contact.intentScore).toBe(70);
      expect(must(await store.listContacts({ tenantId, limit: 50 }))).toHaveLength(before.length);
    } finally {
      await h.close();
    }
  }, 60_000);
});
