import { describe, expect, it } from 'vitest';
import { TWIN_RECHECK_AFTER_MS } from '../../src/actors/twinRecords.ts';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

/**
 * Two Reapit records of one person, both archived: the record the contact is linked to, and an older registration
 * (suppressed as its duplicate) holding an old e-mail address. An archived record gives up the contact's link to
 * the person's *live* record (90abe85); an archived record is none. Yet one archived record took the link of the
 * other, merged against its base, so the contact took the old registration's e-mail; and at each later edit of
 * either record the link went back and forth between the two, the contact's e-mail with it.
 */
const person = canonicalContactSchema.parse({
  title: 'Ms',
  firstName: 'Ada',
  lastName: 'Quillfeather',
  email: 'ada.quillfeather@example.org',
  mobilePhone: '07700 900123',
});
const oldEmail = 'ada.q@oldmail.example.org';

async function holder(h: SyncHarness, contactId: string) {
  const links = must(
    await h.store.getLinksByContactIds({
      tenantId: h.tenantId,
      connectionId: h.connectionId,
      contactIds: [contactId],
    }),
  );
  const [contact] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [contactId] }));
  return { linked: links.map((l) => l.externalId), email: contact?.contact.email };
}

/** The person registered in Reapit and synced to a contact; `archive` is the agency archiving a record. */
async function personSynced(h: SyncHarness) {
  const agency = agencyClient('reapit', h.sim);
  const linkedId = must(await agency.create({ contact: person, reference: 'registered' })).externalId;
  await auditedCycle(h);
  const contact = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 50 })).find(
    (c) => c.contact.lastName === person.lastName,
  );
  if (contact === undefined) throw new Error('no contact for the person');
  const archive = async (externalId: string) => {
    const { version } = must(await agency.getRecord({ externalId }));
    must(await agency.update({ externalId, patch: { status: 'archived' }, version }));
  };
  return { agency, linkedId, contact, archive };
}

describe('two reapit records of one person, both archived', () => {
  it('an edit of either keeps the contact linked to its record, with its values', async () => {
    let lateByMs = 0;
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 3, seed: 5 },
      runner: { clock: () => new Date(Date.now() + lateByMs) },
    });
    try {
      const { store, tenantId } = h;
      const { agency, linkedId, contact, archive } = await personSynced(h);
      expect((await holder(h, contact.id)).linked).toEqual([linkedId]);

      // An old registration of the person, keyed in with the address they used then: suppressed as a duplicate.
      const oldId = must(
        await agency.create({ contact: { ...person, email: oldEmail }, reference: 'years ago' }),
      ).externalId;
      expect((await auditedCycle(h))?.duplicatesSuppressed).toEqual([
        expect.objectContaining({ incoming: oldId, matched: contact.id }),
      ]);

      // The person leaves: the agency archives the record, and the contact is archived with it.
      await archive(linkedId);
      await auditedCycle(h);
      const [archived] = must(await store.getContacts({ tenantId, ids: [contact.id] }));
      expect(archived?.contact.status).toBe('archived');

      const seen: Array<{ linked: string[]; email: string | null | undefined }> = [];
      // An hour on, the agency archives the old registration too (a clean-up): both records now archived.
      lateByMs = TWIN_RECHECK_AFTER_MS;
      await archive(oldId);
      const cleanedUp = await auditedCycle(h);
      seen.push(await holder(h, contact.id));
      // Then, an hour apart each, the agency edits the archived record, and the archived old registration.
      lateByMs = 2 * TWIN_RECHECK_AFTER_MS;
      const first = must(await agency.getRecord({ externalId: linkedId }));
      must(await agency.update({ externalId: linkedId, patch: { title: 'Dr' }, version: first.version }));
      await auditedCycle(h);
      seen.push(await holder(h, contact.id));
      lateByMs = 3 * TWIN_RECHECK_AFTER_MS;
      const second = must(await agency.getRecord({ externalId: oldId }));
      must(await agency.update({ externalId: oldId, patch: { title: 'Dr' }, version: second.version }));
      await auditedCycle(h);
      seen.push(await holder(h, contact.id));

      // No archived record is the live record of the person: the link stays where it was, the e-mail with it.
      expect(seen).toEqual([
        { linked: [linkedId], email: person.email },
        { linked: [linkedId], email: person.email },
        { linked: [linkedId], email: person.email },
      ]);
      expect(cleanedUp?.duplicatesSuppressed).toEqual([
        expect.objectContaining({
          incoming: oldId,
          matched: contact.id,
          reason: expect.stringContaining(`duplicate of reapit record ${linkedId}, suppressed`),
        }),
      ]);
    } finally {
      await h.close();
    }
  }, 120_000);
});

/**
 * The record the contact is linked to is archived when the person leaves. Later, in one window, the agency archives
 * an old registration of theirs in a clean-up and keys the person in again (a live record, a new e-mail). The two
 * new records share nothing, so each matches the contact on its own: the live one must take the link, as only a live
 * record may take an archived twin's. The archived one took it (the better score), and the live record was
 * suppressed behind it: the contact stayed archived and the person's live record synced to nothing.
 */
describe('an archived and a live record of one person in one batch, the linked record archived', () => {
  it('the live record takes the link', async () => {
    let lateByMs = 0;
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 3, seed: 5 },
      runner: { clock: () => new Date(Date.now() + lateByMs) },
    });
    try {
      const { store, tenantId } = h;
      const { agency, linkedId, contact, archive } = await personSynced(h);
      await archive(linkedId);
      await auditedCycle(h);

      lateByMs = TWIN_RECHECK_AFTER_MS;
      // The old registration, without the mobile, archived in a clean-up.
      const oldId = must(
        await agency.create({ contact: { ...person, mobilePhone: null }, reference: 'years ago' }),
      ).externalId;
      await archive(oldId);
      // The person registers again: their mobile, a new e-mail.
      const newEmail = 'ada@newmail.example.org';
      const newId = must(
        await agency.create({ contact: { ...person, email: newEmail }, reference: 'again' }),
      ).externalId;
      const cycle = await auditedCycle(h);

      const [after] = must(await store.getContacts({ tenantId, ids: [contact.id] }));
      expect(
        { ...(await holder(h, contact.id)), status: after?.contact.status },
        JSON.stringify(cycle?.duplicatesSuppressed),
      ).toEqual({ linked: [newId], email: newEmail, status: 'active' });
    } finally {
      await h.close();
    }
  }, 120_000);
});
