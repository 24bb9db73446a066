import { describe, expect, it } from 'vitest';
import { TWIN_RECHECK_AFTER_MS } from '../../src/actors/twinRecords.ts';
import { importContacts } from '../../src/cli/importContacts.ts';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import { agencyClient } from '../support/simulators.ts';
import {
  auditedCycle,
  createSyncHarness,
  editContact,
  must,
  type SyncHarness,
} from '../support/syncHarness.ts';

/**
 * After a first sync, an active person with an e-mail keyed into the CRM a second time: the new record (`keptId`, the
 * one the merge will keep) is suppressed as the CRM holding the person twice beside `removedId`.
 */
async function keyedInTwice(h: SyncHarness, name: ProviderName) {
  await auditedCycle(h);
  const before = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 50 }));
  const person = before.find(
    (c) =>
      c.contact.status === 'active' &&
      c.contact.email !== null &&
      c.contact.mobilePhone !== null &&
      c.contact.lastName !== null &&
      c.links.length === 1,
  );
  const removedId = person?.links[0]?.externalId;
  if (person === undefined || removedId === undefined) throw new Error('the seed holds no such person');
  const agency = agencyClient(name, h.sim);
  const keptId = must(
    await agency.create({ contact: person.contact, reference: 'keyed in twice' }),
  ).externalId;
  const twice = await auditedCycle(h);
  expect(twice?.duplicatesSuppressed).toEqual([
    expect.objectContaining({ incoming: keptId, matched: person.id }),
  ]);
  return { before, person, removedId, keptId, agency };
}

/**
 * A person keyed into Reapit twice: the second record is suppressed as the CRM holding the person twice, and the
 * audit says to merge the two in the CRM. The agency does, keeping the second record. The contact stayed linked to
 * the record the merge removed: every change of it was sent there and refused (404), and the record kept was never
 * read again unless it changed, when it was suppressed again. Now the 404 drops the link, and the kept record links
 * to the contact when it next comes in, merged against the dropped link's base: before, it linked as a first link,
 * and the kept record's old e-mail address overwrote the agent's correction that the 404 had refused.
 */
describe('two records of one person merged in the CRM into the one that was suppressed', () => {
  it('unlinks the removed record at its 404 and links the kept one when it next changes', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 12, seed: 5 } });
    try {
      const { store, tenantId } = h;
      const ref = { tenantId, connectionId: h.connectionId };
      const { before, person, removedId, keptId, agency } = await keyedInTwice(h, 'reapit');

      // The merge in Reapit: the linked record goes, the suppressed one stays. Then NurtureHub scores the contact,
      // and an agent corrects the person's e-mail address there.
      expect(await h.sim.control.remove([removedId])).toEqual({ removed: [removedId] });
      const [stored] = must(await store.getContacts({ tenantId, ids: [person.id] }));
      if (stored === undefined) throw new Error('no contact');
      const email = 'corrected.address@example.org';
      must(
        await store.upsertContacts({
          tenantId,
          contacts: [{ id: person.id, contact: { ...stored.contact, intentScore: 70, email } }],
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
      const dropped = must(await store.goneLinks({ ...ref, contactIds: [person.id] }));
      expect(dropped.map((link) => link.externalId)).toEqual([removedId]);

      const { version } = must(await agency.getRecord({ externalId: keptId }));
      must(await agency.update({ externalId: keptId, patch: { title: 'Prof' }, version }));
      const relinked = await auditedCycle(h);
      expect(relinked?.errors).toEqual([]);
      expect(relinked?.duplicatesSuppressed).toEqual([
        {
          incoming: keptId,
          matched: person.id,
          reason: expect.stringContaining(
            `in place of reapit record ${removedId}, which reapit no longer has`,
          ),
        },
      ]);
      const links = must(await store.getLinksByContactIds({ ...ref, contactIds: [person.id] }));
      expect(links.map((link) => link.externalId)).toEqual([keptId]);
      expect(must(await store.goneLinks({ ...ref, contactIds: [person.id] }))).toEqual([]);
      // Merged against the dropped link's base, not as a first link: the kept record still holds the address the
      // contact had, so the agent's correction is no conflict, stays, and reaches the kept record.
      expect(relinked?.conflicts).toEqual([]);
      const [after] = must(await store.getContacts({ tenantId, ids: [person.id] }));
      expect(after?.contact).toMatchObject({ title: 'Prof', intentScore: 70, email });
      expect(must(await agency.getRecord({ externalId: keptId })).contact).toMatchObject({
        intentScore: 70,
        email,
      });
      expect(must(await store.listContacts({ tenantId, limit: 50 }))).toHaveLength(before.length);
    } finally {
      await h.close();
    }
  }, 60_000);
});

/**
 * The same merge, with the kept record saved by the merge (or edited) an hour or more after it was last
 * suppressed: its change no longer waits for a write to the removed record. Before, it was suppressed again without
 * asking about its twin (a duplicate suppressed before never was), so it stayed unsynced until a change of the
 * contact was refused with a 404 and the kept record changed once more. An agent's correction made in NurtureHub
 * meanwhile is merged against the removed record's link, so it stays and reaches the kept record.
 */
describe.each(['reapit', 'loop'] as const)(
  'two %s records of one person merged into the suppressed one, which then changes',
  (name) => {
    it('links the kept record in place of the removed one at that change, keeping NurtureHub’s edits since', async () => {
      let lateByMs = 0;
      const h = await createSyncHarness(name, {
        simulator: { contacts: 12, seed: 5 },
        runner: { clock: () => new Date(Date.now() + lateByMs) },
      });
      try {
        const { store, tenantId } = h;
        const ref = { tenantId, connectionId: h.connectionId };
        const { before, person, removedId, keptId, agency } = await keyedInTwice(h, name);

        lateByMs = TWIN_RECHECK_AFTER_MS;
        expect(await h.sim.control.remove([removedId])).toEqual({ removed: [removedId] });
        const { version } = must(await agency.getRecord({ externalId: keptId }));
        must(await agency.update({ externalId: keptId, patch: { title: 'Prof' }, version }));
        // Meanwhile an agent corrects the person's e-mail address in NurtureHub.
        const email = 'corrected.address@example.org';
        must(
          await store.upsertContacts({
            tenantId,
            contacts: [{ id: person.id, contact: { ...person.contact, email } }],
            now: new Date(Date.now() + lateByMs),
          }),
        );
        const merged = await auditedCycle(h);
        expect(merged?.errors).toEqual([]);
        expect(merged?.duplicatesSuppressed).toEqual([
          {
            incoming: keptId,
            matched: person.id,
            reason: expect.stringContaining(
              `in place of ${name} record ${removedId}, which ${name} no longer has`,
            ),
          },
        ]);
        const links = must(await store.getLinksByContactIds({ ...ref, contactIds: [person.id] }));
        expect(links.map((link) => link.externalId)).toEqual([keptId]);
        // Merged against the removed record's link, not as a first link: the kept record still holds the address the
        // contact had, so the agent's correction is no conflict, stays, and is written to the kept record.
        const [linked] = must(await store.getContacts({ tenantId, ids: [person.id] }));
        expect(linked?.contact).toMatchObject({ title: 'Prof', email });
        expect(merged?.conflicts).toEqual([]);
        expect(must(await agency.getRecord({ externalId: keptId })).contact).toMatchObject({
          title: 'Prof',
          email,
        });
        expect((await auditedCycle(h))?.written).toMatchObject({ created: 0, updated: 0 });
        expect(must(await store.listContacts({ tenantId, limit: 50 }))).toHaveLength(before.length);
      } finally {
        await h.close();
      }
    }, 60_000);
  },
);

/**
 * A NurtureHub lead created in Reapit, keyed in there a second time by the agency (suppressed), and the two merged
 * into the second. A write to the first answers 404 and unlinks the lead; at its next change the lead is looked
 * for by e-mail, found as the kept record and linked. Before, it was linked as a first link, so the kept record's
 * old mobile number overwrote the agent's correction that the 404 had refused; now it merges against the dropped
 * link's base, and the correction reaches the kept record.
 */
describe('a NurtureHub lead whose CRM record was merged into the one that was suppressed', () => {
  it('links the record found by e-mail in place of the removed one, keeping NurtureHub’s edits since', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 3, seed: 5 } });
    try {
      const { store, tenantId } = h;
      const ref = { tenantId, connectionId: h.connectionId };
      await auditedCycle(h);
      const lead = canonicalContactSchema.parse({
        title: 'Prof',
        firstName: 'Ada',
        lastName: 'Quill',
        email: 'ada.quill@example.org',
        mobilePhone: '07700 900123',
      });
      const imported = await importContacts(store, {
        tenantId,
        lines: [{ line: 1, value: lead }],
        now: new Date(),
      });
      const leadId = imported.created[0]?.id;
      if (leadId === undefined) throw new Error('the lead matched a seeded contact');
      expect((await auditedCycle(h))?.written).toMatchObject({ created: 1 });
      const [created] = must(await store.getLinksByContactIds({ ...ref, contactIds: [leadId] }));
      const removedId = created?.externalId;
      if (removedId === undefined) throw new Error('the lead was not created in Reapit');
      const agency = agencyClient('reapit', h.sim);
      const keptId = must(await agency.create({ contact: lead, reference: 'keyed in twice' })).externalId;
      expect((await auditedCycle(h))?.duplicatesSuppressed).toEqual([
        expect.objectContaining({ incoming: keptId, matched: leadId }),
      ]);

      // The merge, then an agent corrects the lead's mobile number in NurtureHub: sent to the removed record, 404.
      expect(await h.sim.control.remove([removedId])).toEqual({ removed: [removedId] });
      const mobilePhone = '07700 900456';
      await editContact(h, leadId, { mobilePhone });
      expect((await auditedCycle(h))?.errors).toEqual([
        expect.objectContaining({ status: 404, retry: false }),
      ]);

      await editContact(h, leadId, { title: 'Mx' });
      const relinked = await auditedCycle(h);
      expect(relinked?.errors).toEqual([]);
      expect(relinked?.duplicatesSuppressed).toEqual([
        {
          incoming: leadId,
          matched: keptId,
          reason: expect.stringContaining(`in place of record ${removedId}, which reapit no longer has`),
        },
      ]);
      expect(relinked?.conflicts).toEqual([]);
      const links = must(await store.getLinksByContactIds({ ...ref, contactIds: [leadId] }));
      expect(links.map((link) => link.externalId)).toEqual([keptId]);
      const [after] = must(await store.getContacts({ tenantId, ids: [leadId] }));
      expect(after?.contact).toMatchObject({ title: 'Mx', mobilePhone });
      expect(must(await agency.getRecord({ externalId: keptId })).contact).toMatchObject({
        title: 'Mx',
        mobilePhone,
      });
    } finally {
      await h.close();
    }
  }, 60_000);
});

/**
 * The same merge in a CRM that archives the record it merges away rather than deleting it (Reapit has no delete:
 * archiving, `fromArchive`, is its only removal). Before, the archived loser stayed the contact's record and archived
 * the contact, and the kept record was suppressed again at every change. (Alto refuses to create the second record
 * of a live person, 409, so the case is Reapit's.)
 */
describe.each(['reapit'] as const)('two %s records of one person merged, the loser archived', (name) => {
  it('keeps the contact active, with its engagement, and links the kept record', async () => {
    let lateByMs = 0;
    const h = await createSyncHarness(name, {
      simulator: { contacts: 12, seed: 5 },
      runner: { clock: () => new Date(Date.now() + lateByMs) },
    });
    try {
      const { store, tenantId } = h;
      const { before, person, removedId: loserId, keptId, agency } = await keyedInTwice(h, name);
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
      const links = must(
        await store.getLinksByContactIds({ tenantId, connectionId: h.connectionId, contactIds: [person.id] }),
      );
      expect(links.map((l) => l.externalId)).toEqual([keptId]);
      const [after] = must(await store.getContacts({ tenantId, ids: [person.id] }));
      expect(after?.contact).toMatchObject({ status: 'active', title: 'Prof', intentScore: 70 });
      expect((await auditedCycle(h))?.written).toMatchObject({ created: 0, updated: 0 });
      expect(must(await store.listContacts({ tenantId, limit: 50 }))).toHaveLength(before.length);
      expect(must(await agency.getRecord({ externalId: keptId })).contact.status).toBe('active');
      expect(must(await agency.getRecord({ externalId: loserId })).contact.status).toBe('archived');
    } finally {
      await h.close();
    }
  }, 60_000);
});
