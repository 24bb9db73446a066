import { expect, it } from 'vitest';
import { credentialsSchema } from '../../src/persistence/records.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { refusingInTransactions } from '../support/refusingStore.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/** The store, with every audit commit refused while `refusing` is set: the database gone for that moment. */
function refusingAuditCommits(store: StoreHandle) {
  const state = { refusing: false };
  return { store: refusingInTransactions(store, 'commitCycle', () => state.refusing), state };
}

/**
 * The snapshot stopping a machine in error is saved, and the failure's audit entry is not (the store failed, or the
 * process died, between the two writes): the next run that finds the machine in error writes it. Before, nothing
 * ever did: the connection stood in error with no audit entry saying why.
 */
it('writes the failure audit a run left unwritten when the next run finds the machine in error', async () => {
  const memory = must(await openMemoryStore());
  const refusing = refusingAuditCommits(memory);
  const h = await createSyncHarness('reapit', { simulator: { contacts: 4, seed: 5 }, store: refusing.store });
  try {
    expect(must(await h.run()).state).toBe('idle');
    const good = credentialsSchema.parse(h.sim.credentials);
    must(await h.store.setConnectionCredentials({ ...h, credentials: { ...good, clientSecret: 'revoked' } }));
    const failedEntries = async () =>
      must(await h.store.listAudit({ tenantId: h.tenantId, limit: 10 })).entries.filter(
        (entry) => entry.body.outcome === 'failed',
      );

    refusing.state.refusing = true;
    const unaudited = await h.run();
    expect(unaudited.ok).toBe(false);
    refusing.state.refusing = false;
    expect(must(await h.store.loadSnapshot(h))?.stateValue).toBe('error');
    expect(await failedEntries()).toEqual([]);

    const standing = must(await h.run());
    expect(standing.state).toBe('error');
    const [entry, ...more] = await failedEntries();
    expect(more).toEqual([]);
    expect(entry?.body.errors).toEqual([
      expect.objectContaining({
        status: 401,
        message: expect.stringMatching(/^stopped in error \(auth_failed\)/),
      }),
    ]);
    expect(entry?.body.finishedAt).toBe(standing.context.lastError?.at);

    must(await h.run());
    expect(await failedEntries()).toHaveLength(1);
  } finally {
    await h.close();
    await memory.close();
  }
}, 120_000);
