import { expect, it } from 'vitest';
import { LEAD_ID, lead } from '../support/lostCreate.ts';
import {
  auditedCycle,
  createSyncHarness,
  editContact,
  must,
  type SyncHarness,
} from '../support/syncHarness.ts';

/** After a first sync, a new lead whose create the CRM refuses (credentials that cannot write): held, `planned`. */
async function holdLeadCreate(h: SyncHarness) {
  await auditedCycle(h);
  expect(await h.sim.control.writeAccess(false)).toBe(true);
  must(
    await h.store.upsertContacts({
      tenantId: h.tenantId,
      contacts: [{ id: LEAD_ID, contact: lead }],
      now: new Date(),
    }),
  );
  expect((await auditedCycle(h))?.errors).toEqual([expect.objectContaining({ status: 403 })]);
}

/**
 * A create held by a 403 stays `planned` in the ledger. The contact is edited before write access comes back; the
 * next cycle plans the create again under the same key, but `planPushes` refreshed only a `deferred` row, so the
 * ledger kept the old payload and the CRM was sent the contact as it was (found by a read-only audit of the push).
 */
it('creates a held lead with the values it holds when sent, not when first planned', async () => {
  const h = await createSyncHarness('alto', { simulator: { contacts: 4, seed: 11 } });
  try {
    await holdLeadCreate(h);

    // The agent corrects the lead's e-mail address while the write is held.
    await editContact(h, LEAD_ID, { email: 'priya.raman@example.co.uk', lastName: 'Raman-Shah' });
    await h.sim.control.writeAccess(true);
    const sent = await auditedCycle(h);
    expect(sent).toMatchObject({ written: { created: 1 }, errors: [] });
    const created = (await h.sim.control.records()).filter((r) => JSON.stringify(r).includes('Raman'));
    expect(created).toHaveLength(1);
    const text = JSON.stringify(created[0]);
    expect(text).toContain('priya.raman@example.co.uk');
    expect(text).toContain('Raman-Shah');
  } finally {
    await h.close();
  }
}, 120_000);

/** Archived while its create was held, the lead is not created when write access comes back. */
it('does not create a held lead archived since', async () => {
  const h = await createSyncHarness('alto', { simulator: { contacts: 4, seed: 11 } });
  try {
    await holdLeadCreate(h);

    await editContact(h, LEAD_ID, { status: 'archived' });
    await h.sim.control.writeAccess(true);
    const cycle = await auditedCycle(h);
    expect(cycle?.written.created).toBe(0);
    expect((await h.sim.control.records()).filter((r) => JSON.stringify(r).includes('Raman'))).toEqual([]);
  } finally {
    await h.close();
  }
}, 120_000);
