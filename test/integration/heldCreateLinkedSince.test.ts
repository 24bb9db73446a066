import { expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { leadEmailsIn, newLeads } from '../support/leads.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A lead's create held while the credentials could not write, and the agency keying the person into the CRM by
 * hand before write access came: the next cycle links the lead to the agency's record, and the held create is
 * not sent. It went out: the CRM held the person twice, and the create's link replaced the one to the agency's own
 * record, which was then suppressed as the duplicate.
 */
it('sends no held create for a lead linked since to the record the agency keyed in', async () => {
  const h = await createSyncHarness('reapit', { simulator: { contacts: 6, seed: 4 } });
  try {
    await auditedCycle(h);
    const [person] = newLeads(1, 'Heldcreate');
    if (person === undefined) throw new Error('no lead');
    const imported = await importContacts(h.store, {
      tenantId: h.tenantId,
      lines: [{ line: 1, value: person.contact }],
      now: new Date(),
    });
    const lead = { id: imported.created[0]?.id ?? expect.unreachable(), contact: person.contact };
    expect(await h.sim.control.writeAccess(false)).toBe(true);
    const held = await auditedCycle(h);
    expect(held?.errors).toEqual([expect.objectContaining({ status: 403, retry: true })]);
    expect(held?.written).toMatchObject({ created: 0 });

    await h.sim.control.writeAccess(true);
    const keyedIn = must(
      await agencyClient('reapit', h.sim).create({ contact: lead.contact, reference: 'front desk' }),
    );
    const linked = await auditedCycle(h);
    expect(linked?.outcome).toBe('completed');
    expect(linked?.written).toMatchObject({ created: 0 });
    expect(linked?.errors).toEqual([]);
    expect(leadEmailsIn(await h.sim.control.records())).toEqual([lead.contact.email]);
    const links = must(await h.store.getLinksByContactIds({ ...h, contactIds: [lead.id] }));
    expect(links.map((link) => link.externalId)).toEqual([keyedIn.externalId]);
    expect(linked?.duplicatesSuppressed).toContainEqual({
      incoming: lead.id,
      matched: keyedIn.externalId,
      reason: expect.stringMatching(/^not created in Reapit: linked since it was planned/),
    });

    const quiet = await auditedCycle(h);
    expect(quiet?.written).toMatchObject({ created: 0, updated: 0 });
    expect(leadEmailsIn(await h.sim.control.records())).toEqual([lead.contact.email]);
  } finally {
    await h.close();
  }
}, 120_000);
