import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { err } from '../../src/core/result.ts';
import { formatLeaseOwner } from '../../src/persistence/leaseOwner.ts';
import type { Store } from '../../src/persistence/store.ts';
import { reapitSpec } from '../../src/providers/reapit/spec.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { leadEmailsIn, newLeads } from '../support/leads.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

const LEADS = 40;
const TTL_MS = 1_500;

/**
 * A run whose renewals fail (the database out of this process's reach) stops with a third of its lease left, and a
 * create it had sent may still be answered in that third. Before, it released the lease as it returned, and once
 * the database answered again another worker could take it at once, look for that create before the CRM showed it
 * and send it again: the person twice.
 */
describe('a run stopped because its lease could not be renewed', () => {
  it('keeps its lease until it runs out, and the worker that takes over then creates every lead once', async () => {
    let aheadMs = 0;
    const clock = () => new Date(Date.now() + aheadMs);
    let unreachable = false;
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 5, seed: 2, latencyMs: 100 },
      runner: {
        clock,
        onPushProgress: ({ done }) => {
          if (done > 0) unreachable = true;
        },
      },
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const settled = { ...h.deps, leaseTtlMs: 60_000 };
      delete settled.onPushProgress;
      must(await runConnection(settled, ref));
      const leads = newLeads(LEADS, 'Adeyemi');
      must(await h.store.upsertContacts({ tenantId: h.tenantId, contacts: leads, now: clock() }));

      // Renewals fail once the first create is answered; every other query of the store still goes through.
      const renewalsFail = new Proxy(h.store as Store, {
        get(target, key, receiver) {
          if (key === 'heartbeatLease' && unreachable)
            return async () => err({ kind: 'store' as const, message: 'connection refused' });
          const value = Reflect.get(target, key, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const stopped = await runConnection({ ...h.deps, store: renewalsFail, leaseTtlMs: TTL_MS }, ref);
      expect(stopped).toMatchObject({ ok: false, error: { kind: 'lease_held' } });
      const returnedAt = clock();
      expect((await h.sim.control.records()).length).toBeLessThan(5 + LEADS);

      const other = formatLeaseOwner({ host: 'other', pid: 2, id: randomUUID() });
      const lease = { ...ref, owner: other, ttlMs: 60_000 };
      // Still the stopped run's: another worker waits for it to run out, by when its writes have been answered.
      const meanwhile = await h.store.acquireLease({ ...lease, now: returnedAt });
      expect(meanwhile).toMatchObject({ ok: false, error: { kind: 'lease_held' } });
      if (meanwhile.ok || meanwhile.error.kind !== 'lease_held') return;
      expect(meanwhile.error.owner).not.toBe(other);
      expect(meanwhile.error.expiresAt.getTime()).toBeLessThanOrEqual(returnedAt.getTime() + TTL_MS);
      // Once run out, it is given back (on PostgreSQL with its session lock), not left to whoever comes next; waited
      // for well short of a whole lease more.
      const givenBackBy = meanwhile.error.expiresAt.getTime() + TTL_MS / 2;
      let stillHeld = must(await h.store.getConnection(ref)).lease;
      while (stillHeld !== null && Date.now() < givenBackBy) {
        await sleep(50);
        stillHeld = must(await h.store.getConnection(ref)).lease;
      }
      expect(stillHeld).toBeNull();

      // Past the lease and Reapit's settle time, the worker that takes over finishes the cycle.
      aheadMs += Math.max(TTL_MS, reapitSpec.capabilities.createSettleMs);
      const takeover = { ...settled, owner: other };
      const taken = must(await runConnection(takeover, ref));
      expect(taken.state).toBe('idle');
      const copies = (await h.sim.control.records()).filter((r) =>
        /lead\d+@example\.org/.test(JSON.stringify(r)),
      );
      expect(copies).toHaveLength(LEADS);
      expect(new Set(leadEmailsIn(copies)).size).toBe(LEADS);
    } finally {
      await h.close();
    }
    // 14 s alone; more than twice that on a loaded machine.
  }, 120_000);
});
