import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatLeaseOwner } from '../../src/persistence/leaseOwner.ts';
import { getProvider } from '../../src/providers/registry.ts';
import type { ProviderLimits } from '../../src/providers/spec.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { type RunnerDeps, runConnection } from '../../src/runner/connectionRunner.ts';
import { createSyncHarness, editContact, must } from '../support/syncHarness.ts';

const reapit = getProvider('reapit') ?? expect.unreachable();
/** Reapit's 20 a second, scaled down so that a push of a few writes fills its windows; the simulator enforces it. */
const limits: Partial<ProviderLimits> = { requestsPerSecond: 2 };

/**
 * A connection's rate windows are the store's, not one process's: the next process to run it (a restart, an
 * Inngest step on another replica) counts the calls the last one made before it calls. With windows in memory only,
 * a run taken up elsewhere at once spent a second window's budget inside the first, and the CRM answered 429
 * (agentOS may block a key that goes on past one).
 */
describe('rate windows across processes', () => {
  it('a run in a second process right after the first waits for the window the first one filled', async () => {
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 30, seed: 3, limits },
      runner: { providerOptions: () => ({ spec: withSpec(reapit.spec, { limits }) }), limiters: new Map() },
    });
    const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
    // Another process: its own owner and limiters, the same store and CRM.
    const elsewhere: RunnerDeps = {
      ...h.deps,
      owner: formatLeaseOwner({ host: 'elsewhere', pid: 2, id: randomUUID() }),
      limiters: new Map(),
    };
    try {
      expect(must(await h.run()).state).toBe('idle');
      // Agents change intent scores: the next cycle ends in a push of one write each, paced to the limit.
      const contacts = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 4 }));
      for (const [i, c] of contacts.entries()) await editContact(h, c.id, { intentScore: 40 + i });
      expect(must(await h.run()).state).toBe('idle');
      const first = await h.sim.control.stats();
      expect(first.writes).toBeGreaterThanOrEqual(4);

      // At once, another process runs the connection: its listing and its read of the records the push wrote (two
      // calls) must wait for the window the push's last calls filled.
      const second = must(await runConnection(elsewhere, ref));
      expect(second.state).toBe('idle');
      const after = await h.sim.control.stats();
      expect(after.requests).toBeGreaterThan(first.requests);
      expect(after.rateLimited).toBe(0);
    } finally {
      await h.close();
    }
  }, 60_000);
});
