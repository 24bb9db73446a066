import { describe, expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { canonicalContactSchema, type NurtureSequence } from '../../src/core/schemas.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

const enrolment: NurtureSequence = {
  sequenceId: 'vendor-valuation',
  step: 2,
  state: 'active',
  enrolledAt: '2025-06-01T09:00:00.000Z',
};

/**
 * A Reapit contact enrolled in a nurture sequence; a web lead for the same person arrives with a new e-mail address
 * (so the import makes a contact of it), and before the next cycle the agency types that address into the Reapit
 * record. The cycle's search for the lead in Reapit finds the record, which is the enrolled contact's. Linked to it,
 * the lead took over the record's link: the lead showed the enrolment and intent score it never had, and the
 * enrolled contact was no longer synced with Reapit, so its opens and clicks never reached the record again.
 */
describe('a NurtureHub lead found in the CRM as a record another contact holds', () => {
  it('is neither linked to that record nor created; the record stays the enrolled contact’s', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 3, seed: 5 } });
    try {
      const { tenantId } = h;
      await auditedCycle(h);
      const contacts = must(await h.store.listContacts({ tenantId, limit: 10 }));
      // Active: a record the CRM holds archived is no lead's (its search passes over it), and the seed holds one.
      const enrolled = contacts.find(
        (c) => c.contact.status === 'active' && c.contact.email !== null && c.contact.firstName !== null,
      );
      const externalId = enrolled?.links[0]?.externalId;
      if (enrolled === undefined || externalId === undefined) throw new Error('no linked contact to enrol');
      must(
        await h.store.upsertContacts({
          tenantId,
          contacts: [
            {
              id: enrolled.id,
              contact: { ...enrolled.contact, intentScore: 70, nurtureSequence: enrolment },
            },
          ],
          now: new Date(),
        }),
      );
      expect((await auditedCycle(h))?.written).toMatchObject({ updated: 1 });

      const newEmail = 'new.address@example.org';
      const lead = canonicalContactSchema.parse({
        firstName: enrolled.contact.firstName,
        lastName: enrolled.contact.lastName,
        email: newEmail,
      });
      const imported = await importContacts(h.store, {
        tenantId,
        lines: [{ line: 1, value: lead }],
        now: new Date(),
      });
      const leadId = imported.created[0]?.id;
      if (leadId === undefined) throw new Error('the lead matched the enrolled contact at import');

      const agency = agencyClient('reapit', h.sim);
      const records = (await h.sim.control.records()) as Array<{ id: string; _eTag?: string }>;
      must(
        await agency.update({
          externalId,
          patch: { email: newEmail },
          version: records.find((r) => r.id === externalId)?._eTag ?? null,
          signal: new AbortController().signal,
        }),
      );

      const cycle = await auditedCycle(h);
      const [record] = must(await h.store.getLinksByExternalIds({ ...h, externalIds: [externalId] }));
      expect(record?.contactId).toBe(enrolled.id);
      expect(must(await h.store.getLinksByContactIds({ ...h, contactIds: [leadId] }))).toEqual([]);
      const [leadNow, enrolledNow] = await Promise.all(
        [leadId, enrolled.id].map(async (id) => must(await h.store.getContacts({ tenantId, ids: [id] }))[0]),
      );
      expect(leadNow?.contact).toMatchObject({ nurtureSequence: null, intentScore: null, emailOpens: 0 });
      expect(enrolledNow?.contact).toMatchObject({
        nurtureSequence: enrolment,
        intentScore: 70,
        email: newEmail,
      });
      const holding = (await h.sim.control.records()).filter((r) => JSON.stringify(r).includes(newEmail));
      expect(holding).toHaveLength(1);
      expect(cycle?.duplicatesSuppressed).toContainEqual(
        expect.objectContaining({
          incoming: leadId,
          matched: externalId,
          reason: expect.stringContaining(`which is contact ${enrolled.id}'s`),
        }),
      );

      // The enrolled contact is still the record's: its next open reaches Reapit.
      must(
        await h.store.ingestEngagementEvents({
          tenantId,
          events: [
            {
              eventId: 'nh-1',
              contactId: enrolled.id,
              kind: 'email_open',
              occurredAt: '2025-06-02T10:00:00Z',
            },
          ],
          now: new Date(),
        }),
      );
      expect((await auditedCycle(h))?.written).toMatchObject({ created: 0, updated: 1 });
      const held = (await h.sim.control.records()).find(
        (r): r is { id: string; metadata: { nurturehub: { emailOpens: number } } } =>
          (r as { id: string }).id === externalId,
      );
      expect(held?.metadata.nurturehub.emailOpens).toBe(1);
      expect((await auditedCycle(h))?.written).toMatchObject({ created: 0, updated: 0 });
    } finally {
      await h.close();
    }
  });
});
