import { describe, expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { type CanonicalContact, canonicalContactSchema } from '../../src/core/schemas.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

/**
 * A CRM record the agency archived, of a person NurtureHub holds active and not yet in that CRM, is the person's old
 * record. Linked, the CRM's status archived the contact: a lead was no longer nurtured, and a contact live in another
 * CRM was archived there too by the next push. It is left apart, a suppressed duplicate that says why; a lead is
 * created in the CRM as the live record of its new enquiry.
 */
describe('an archived CRM record of a contact active in NurtureHub', () => {
  it('held by a second CRM: the contact stays active in NurtureHub and in the first CRM', async () => {
    const store = must(await openMemoryStore());
    const reapit = await createSyncHarness('reapit', { store, simulator: { contacts: 5, seed: 4 } });
    const alto = await createSyncHarness('alto', {
      store,
      tenantId: reapit.tenantId,
      simulator: { contacts: 5, seed: 4 },
    });
    try {
      const { tenantId } = reapit;
      await auditedCycle(reapit);
      const contacts = must(await store.listContacts({ tenantId, limit: 10 }));
      const altoAgency = agencyClient('alto', alto.sim);
      const altoRecords = await alto.sim.control.records();
      // A contact live in Reapit whom Alto holds once (the same seed makes the same people): found by e-mail.
      const pairs = contacts.flatMap((c) => {
        const email = c.contact.email?.toLowerCase();
        if (c.contact.status !== 'active' || email === undefined) return [];
        const held = altoRecords.filter((r) => JSON.stringify(r).toLowerCase().includes(email));
        return held.length === 1 ? [{ person: c, altoId: String((held[0] as { id: unknown }).id) }] : [];
      });
      const [pair] = pairs;
      if (pair === undefined) throw new Error('the seed holds no live person Alto holds once');
      const { person, altoId } = pair;
      const { version } = must(await altoAgency.getRecord({ externalId: altoId }));
      must(await altoAgency.update({ externalId: altoId, patch: { status: 'archived' }, version }));

      const first = await auditedCycle(alto);
      expect(first?.duplicatesSuppressed).toContainEqual({
        incoming: altoId,
        matched: person.id,
        reason: expect.stringMatching(
          /^archived in alto, a record of a contact active in NurtureHub: not linked/,
        ),
      });
      const [after] = must(await store.getContacts({ tenantId, ids: [person.id] }));
      expect(after?.contact.status).toBe('active');
      expect(
        must(
          await store.getLinksByContactIds({
            tenantId,
            connectionId: alto.connectionId,
            contactIds: [person.id],
          }),
        ),
      ).toEqual([]);
      await auditedCycle(reapit);
      const reapitId = person.links[0]?.externalId ?? '';
      const inReapit = must(await agencyClient('reapit', reapit.sim).getRecord({ externalId: reapitId }));
      expect(inReapit.contact.status).toBe('active');

      // Restored by the agency, the record is the person's again: linked.
      const archived = must(await altoAgency.getRecord({ externalId: altoId }));
      must(
        await altoAgency.update({
          externalId: altoId,
          patch: { status: 'active' },
          version: archived.version,
        }),
      );
      await auditedCycle(alto);
      const links = must(
        await store.getLinksByContactIds({
          tenantId,
          connectionId: alto.connectionId,
          contactIds: [person.id],
        }),
      );
      expect(links.map((link) => link.externalId)).toEqual([altoId]);
    } finally {
      await alto.close();
      await reapit.close();
      await store.close();
    }
  }, 120_000);

  it('of a NurtureHub lead: the lead stays active and is created in the CRM as a new record', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 4, seed: 2 } });
    try {
      await auditedCycle(h);
      // Found by the CRM's listing and by its e-mail search.
      const { leadId, oldId, agency } = await leadWithOldRecord(h, { mobilePhone });
      const cycle = await auditedCycle(h);
      expect(cycle?.duplicatesSuppressed).toContainEqual(
        expect.objectContaining({ incoming: oldId, matched: leadId }),
      );
      expect(cycle?.written.created).toBe(1);
      const [stored] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [leadId] }));
      expect(stored?.contact.status).toBe('active');
      const [link] = must(await h.store.getLinksByContactIds({ ...h, contactIds: [leadId] }));
      expect(link?.externalId).not.toBe(oldId);
      const created = must(await agency.getRecord({ externalId: link?.externalId ?? '' }));
      expect(created.contact).toMatchObject({ status: 'active', email: lead.email });
      expect(must(await agency.getRecord({ externalId: oldId })).contact.status).toBe('archived');
      expect((await auditedCycle(h))?.written).toMatchObject({ created: 0, updated: 0 });
    } finally {
      await h.close();
    }
  }, 120_000);

  it.each([
    // The old record scores above the live one, which lacks the e-mail; the search before a create finds only it.
    ['however well the other scores', { mobilePhone }, { mobilePhone, email: null }],
    // The live record scores nothing with the lead alone (a newer e-mail, the mobile the lead lacks): only the old
    // one matched, and tied the two into one group. The live one was suppressed behind it.
    [
      'though only the other matched',
      { mobilePhone, dateOfBirth },
      { mobilePhone, dateOfBirth, email: 'jon.f@newmail.example.org' },
    ],
  ] as Array<[string, Partial<CanonicalContact>, Partial<CanonicalContact>]>)(
    'beside the live record of the person in one batch: the live one is linked, %s',
    async (_, old, live) => {
      const h = await createSyncHarness('reapit', { simulator: { contacts: 4, seed: 2 } });
      try {
        const { leadId, agency } = await leadWithOldRecord(h, old);
        const liveId = must(
          await agency.create({ contact: { ...lead, ...live }, reference: 'registered again' }),
        ).externalId;
        await auditedCycle(h);
        const [link] = must(await h.store.getLinksByContactIds({ ...h, contactIds: [leadId] }));
        expect(link?.externalId).toBe(liveId);
        const [stored] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [leadId] }));
        expect(stored?.contact.status).toBe('active');
        // Not created a third time: the archived record and the live one are all the CRM holds of the person.
        const held = (await h.sim.control.records()).filter((r) =>
          JSON.stringify(r).includes(lead.lastName ?? ''),
        );
        expect(held).toHaveLength(2);
      } finally {
        await h.close();
      }
    },
    120_000,
  );
});

const lead = canonicalContactSchema.parse({
  firstName: 'Jon',
  lastName: 'Featherstonehaugh',
  email: 'jon.featherstonehaugh@example.org',
  marketingConsent: 'grant',
});
const mobilePhone = '07700 900456';
const dateOfBirth = '1980-05-17';

/** The lead imported into NurtureHub, and the person's registration of years ago in Reapit, archived. */
async function leadWithOldRecord(h: SyncHarness, old: Partial<CanonicalContact>) {
  const imported = await importContacts(h.store, {
    tenantId: h.tenantId,
    lines: [{ line: 1, value: lead }],
    now: new Date(),
  });
  const leadId = imported.created[0]?.id ?? expect.unreachable();
  const agency = agencyClient('reapit', h.sim);
  const oldId = must(
    await agency.create({ contact: { ...lead, ...old }, reference: 'years ago' }),
  ).externalId;
  const { version } = must(await agency.getRecord({ externalId: oldId }));
  must(await agency.update({ externalId: oldId, patch: { status: 'archived' }, version }));
  return { leadId, oldId, agency };
}
