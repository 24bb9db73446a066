import { expect, it } from 'vitest';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { refusingInTransactions } from '../support/refusingStore.ts';
import { auditedCycle, createSyncHarness, editContact, must } from '../support/syncHarness.ts';

/** The store, its next `markPushAcknowledged` (in a transaction) after `arm()` answered as a database gone away. */
function losingAcknowledgement(store: StoreHandle) {
  let armed = false;
  const refuses = () => {
    const refusing = armed;
    armed = false;
    return refusing;
  };
  return { store: refusingInTransactions(store, 'markPushAcknowledged', refuses), arm: () => (armed = true) };
}

/**
 * Reapit applies an update and answers; the store fails as the ledger records it, and the push backs off. Sent
 * again, the update is refused as stale (412): its own first write moved the record's ETag. It was noted as
 * "deferred to the next cycle", retry true, and counted nowhere: the audit said 0 updated, and no cycle sent it
 * again (the CRM's values read back as our echo). The record read back holds the values sent: written once, counted.
 */
it('counts an update the CRM applied before its acknowledgement was lost, refused as stale when sent again', async () => {
  const memory = must(await openMemoryStore());
  const losing = losingAcknowledgement(memory);
  const clock = { offsetMs: 0 };
  const h = await createSyncHarness('reapit', {
    simulator: { contacts: 4, seed: 5 },
    store: losing.store,
    runner: { clock: () => new Date(Date.now() + clock.offsetMs) },
  });
  try {
    expect(must(await h.run()).state).toBe('idle');
    const [contact] = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 10 })).filter(
      (c) => c.links.length === 1,
    );
    if (contact === undefined) throw new Error('no linked contact');
    await editContact(h, contact.id, { firstName: 'Oluwaseun' });
    const before = await h.sim.control.stats();
    losing.arm();
    let outcome = must(await h.run());
    expect(outcome.state).toBe('backoff');
    while (outcome.state === 'backoff') {
      clock.offsetMs = Date.parse(outcome.context.resumeAt ?? '') - Date.now() + 1;
      outcome = must(await h.run());
    }
    expect(outcome.state).toBe('idle');
    expect((await h.sim.control.stats()).writes - before.writes).toBe(1);

    const [entry] = must(await h.store.listAudit({ tenantId: h.tenantId, limit: 1 })).entries;
    expect(entry?.body.written.updated).toBe(1);
    expect(entry?.body.errors.map((e) => e.status)).not.toContain(412);
    // Read back as our own write: nothing to send, no agency edit.
    expect(await auditedCycle(h)).toMatchObject({ written: { updated: 0 }, conflicts: [], errors: [] });
    expect((await h.sim.control.stats()).writes - before.writes).toBe(1);
  } finally {
    await h.close();
  }
});
