import { describe, expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { canonicalContactSchema, type NurtureSequence } from '../../src/core/schemas.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

const enrolment: NurtureSequence = {
  sequenceId: 'first-time-buyer',
  step: 1,
  state: 'active',
  enrolledAt: '2025-06-01T09:00:00.000Z',
};

type ReapitRecord = {
  id: string;
  email?: string;
  metadata?: { nurturehub?: { intentScore: number | null; nurtureSequence: NurtureSequence | null } };
};

/**
 * An enrolled NurtureHub lead, and an agency holding the same person twice in Reapit: once with the lead's e-mail,
 * once with the lead's mobile and a work e-mail. The two records do not match each other, but each matches the
 * lead. Read in one batch, both were linked to the lead: the second record's work e-mail replaced the lead's own
 * address and was written into the first record, and the lead's enrolment and intent score went into both. Read in
 * two batches, the second would be suppressed as the CRM holding the person twice; in one batch it is now too.
 */
describe('two CRM records of one batch that each match the same NurtureHub lead', () => {
  it('links the better match only and suppresses the other', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 2, seed: 5 } });
    try {
      const { tenantId } = h;
      const agency = agencyClient('reapit', h.sim);
      const signal = new AbortController().signal;
      const keyedIn = async (contact: Record<string, string>, reference: string) =>
        must(await agency.create({ contact: canonicalContactSchema.parse(contact), reference, signal }))
          .externalId;
      const byEmail = await keyedIn(
        { firstName: 'Priya', lastName: 'Raman', email: 'priya.raman@example.org' },
        'agency-1',
      );
      const byMobile = await keyedIn(
        {
          firstName: 'Priya',
          lastName: 'Raman',
          email: 'p.raman@work.example.com',
          mobilePhone: '07700 900555',
        },
        'agency-2',
      );
      const lead = canonicalContactSchema.parse({
        firstName: 'Priya',
        lastName: 'Raman',
        email: 'priya.raman@example.org',
        mobilePhone: '07700900555',
        intentScore: 55,
        nurtureSequence: enrolment,
      });
      const imported = await importContacts(h.store, {
        tenantId,
        lines: [{ line: 1, value: lead }],
        now: new Date(),
      });
      const leadId = imported.created[0]?.id;
      if (leadId === undefined) throw new Error('the lead was not imported');

      const first = await auditedCycle(h);
      const links = must(await h.store.getLinksByContactIds({ ...h, contactIds: [leadId] }));
      expect(links.map((l) => l.externalId)).toEqual([byEmail]);
      const [stored] = must(await h.store.getContacts({ tenantId, ids: [leadId] }));
      expect(stored?.contact).toMatchObject({ email: 'priya.raman@example.org', nurtureSequence: enrolment });
      expect(first?.duplicatesSuppressed).toContainEqual(
        expect.objectContaining({
          incoming: byMobile,
          matched: leadId,
          reason: expect.stringContaining(`duplicate of reapit record ${byEmail} in the same batch`),
        }),
      );

      await auditedCycle(h);
      const records = (await h.sim.control.records()) as ReapitRecord[];
      const record = (id: string) => records.find((r) => r.id === id);
      expect(record(byEmail)?.email).toBe('priya.raman@example.org');
      expect(record(byEmail)?.metadata?.nurturehub).toMatchObject({
        intentScore: 55,
        nurtureSequence: enrolment,
      });
      expect(record(byMobile)?.email).toBe('p.raman@work.example.com');
      expect(record(byMobile)?.metadata?.nurturehub).toMatchObject({
        intentScore: null,
        nurtureSequence: null,
      });
      expect((await auditedCycle(h))?.written).toMatchObject({ created: 0, updated: 0 });
    } finally {
      await h.close();
    }
  });
});
