import { expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A lead the push looks for in the CRM (Reapit's e-mail search) and links to the record found there, which the
 * agency keyed in after this cycle's fetch: where the two disagree, the CRM wins the fields it owns, and each such
 * field is a conflict of the cycle's audit, as when a fetched record links to a lead. Those were merged and never
 * audited: the lead's own value was overwritten with no trace.
 */
it("audits the conflicts of a lead linked to the CRM's record its search found", async () => {
  const h = await createSyncHarness('reapit', { simulator: { contacts: 4, seed: 2 } });
  try {
    await auditedCycle(h);
    const lead = canonicalContactSchema.parse({
      firstName: 'Jon',
      lastName: 'Featherstonehaugh',
      email: 'jon.featherstonehaugh@example.org',
      marketingConsent: 'grant',
    });
    const imported = await importContacts(h.store, {
      tenantId: h.tenantId,
      lines: [{ line: 1, value: lead }],
      now: new Date(),
    });
    const leadId = imported.created[0]?.id ?? expect.unreachable();
    // The fetch's window closes before the agency's record exists: only the lead's search can find it.
    expect(must(await h.run('phase')).state).toBe('reconciling');
    const keyedIn = must(
      await agencyClient('reapit', h.sim).create({
        contact: { ...lead, firstName: 'John' },
        reference: 'desk',
      }),
    );
    expect(must(await h.run()).state).toBe('idle');

    const [entry] = must(await h.store.listAudit({ tenantId: h.tenantId, limit: 1 })).entries;
    const [link] = must(await h.store.getLinksByContactIds({ ...h, contactIds: [leadId] }));
    expect(link?.externalId).toBe(keyedIn.externalId);
    expect(entry?.body.written.created).toBe(0);
    expect(entry?.body.conflicts).toEqual([
      expect.objectContaining({
        contactId: leadId,
        field: 'firstName',
        crm: 'John',
        local: 'Jon',
        winner: 'crm',
      }),
    ]);
  } finally {
    await h.close();
  }
}, 120_000);
