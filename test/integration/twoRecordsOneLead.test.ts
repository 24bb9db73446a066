import { describe, expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { canonicalContactSchema, type NurtureSequence } from '../../src/core/schemas.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

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
/** A Reapit simulator with two records, whose agency keys in contacts, and NurtureHub's leads imported. */
async function withReapit(
  run: (
    h: SyncHarness,
    keyedIn: (contact: Record<string, string>, reference: string) => Promise<string>,
    imported: (lead: Record<string, unknown>) => Promise<string>,
  ) => Promise<void>,
) {
  const h = await createSyncHarness('reapit', { simulator: { contacts: 2, seed: 5 } });
  try {
    const agency = agencyClient('reapit', h.sim);
    const signal = new AbortController().signal;
    const keyedIn = async (contact: Record<string, string>, reference: string) =>
      must(await agency.create({ contact: canonicalContactSchema.parse(contact), reference, signal }))
        .externalId;
    const imported = async (lead: Record<string, unknown>) => {
      const value = canonicalContactSchema.parse(lead);
      const done = await importContacts(h.store, {
        tenantId: h.tenantId,
        lines: [{ line: 1, value }],
        now: new Date(),
      });
      const id = done.created[0]?.id;
      if (id === undefined) throw new Error('the lead was not imported');
      return id;
    };
    await run(h, keyedIn, imported);
  } finally {
    await h.close();
  }
}

const linkedTo = async (h: SyncHarness, externalIds: string[]) =>
  must(await h.store.getLinksByExternalIds({ ...h, externalIds })).map(
    (l) => [l.externalId, l.contactId] as const,
  );

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

  /**
   * A newsletter sign-up holding only a family's e-mail, and two of the family in Reapit with it. Each matches the
   * sign-up; the one that joined it made the other "a duplicate of a record in the same batch", although the two
   * are different people (their given names differ), and it stayed out of NurtureHub until edited.
   */
  it('keeps a record apart that conflicts with the one joining the lead: a family sharing an e-mail', async () => {
    await withReapit(async (h, keyedIn, imported) => {
      const leadId = await imported({ email: 'ramans@example.org', marketingConsent: 'grant' });
      const priya = await keyedIn(
        { firstName: 'Priya', lastName: 'Raman', email: 'ramans@example.org' },
        'a-1',
      );
      const arjun = await keyedIn(
        { firstName: 'Arjun', lastName: 'Raman', email: 'ramans@example.org' },
        'a-2',
      );
      const creates = (await h.sim.control.stats()).creates;

      const first = await auditedCycle(h);
      const links = new Map(await linkedTo(h, [priya, arjun]));
      expect(links.get(priya)).toBe(leadId);
      expect(links.get(arjun)).toEqual(expect.any(String));
      expect(links.get(arjun)).not.toBe(leadId);
      expect(first?.duplicatesSuppressed.map((d) => d.incoming)).not.toContain(arjun);
      await auditedCycle(h);
      expect((await h.sim.control.stats()).creates).toBe(creates);
    });
  });

  /**
   * The agency holds the person twice: once with a work e-mail only, once with that and the lead's mobile. The two
   * records match each other; only the second matches the lead. Only the group's first record (by id) was looked
   * for among the stored contacts: with the sparse record first, the group made a contact beside the lead, and the
   * lead, left unlinked, was created in Reapit as a third record.
   */
  it.each([
    ['the record without the mobile first', false],
    ['the record with the mobile first', true],
  ])('links the lead to the record of a group that ties it, %s', async (_, mobileFirst) => {
    await withReapit(async (h, keyedIn, imported) => {
      const leadId = await imported({
        firstName: 'Priya',
        lastName: 'Raman',
        email: 'priya@home.example',
        mobilePhone: '07700 900555',
      });
      const sparse = { firstName: 'Priya', lastName: 'Raman', email: 'p.raman@work.example' };
      const rich = { ...sparse, mobilePhone: '07700 900555' };
      const [first, second] = mobileFirst ? [rich, sparse] : [sparse, rich];
      const firstId = await keyedIn(first, 'a-1');
      const secondId = await keyedIn(second, 'a-2');
      const [richId, sparseId] = mobileFirst ? [firstId, secondId] : [secondId, firstId];
      const records = (await h.sim.control.records()).length;

      const audit = await auditedCycle(h);
      expect(await linkedTo(h, [richId, sparseId])).toEqual([[richId, leadId]]);
      expect(audit?.duplicatesSuppressed).toContainEqual(
        expect.objectContaining({
          incoming: sparseId,
          reason: expect.stringContaining(`duplicate of reapit record ${richId} in the same batch`),
        }),
      );
      await auditedCycle(h);
      expect((await h.sim.control.records()).length).toBe(records);
      expect(
        must(await h.store.listContacts({ tenantId: h.tenantId, limit: 50 })).filter(
          (c) => c.contact.lastName === 'Raman',
        ),
      ).toHaveLength(1);
    });
  });
});
