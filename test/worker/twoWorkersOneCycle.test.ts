import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { createEmbeddedWorker } from '../../src/worker/embeddedWorker.ts';
import { postgresBackend, unwrap, useBackend } from '../store/backends.ts';
import { postgresAvailable } from '../support/postgresServer.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * Two workers on one PostgreSQL database, each with its own store (as two processes have). Between two phase
 * steps a run holds no lease and its connection is due (mid-cycle), so the other worker's tick picks it up and
 * both drive the same cycle, one phase at a time under the lease. Each phase must still run once, and the cycle
 * once: a phase step that finds, once it holds the lease, that the other worker already moved the machine on
 * reports where it stands instead of running whatever phase that is (from idle, a whole new cycle).
 */
describe.runIf(postgresAvailable('two workers on one database'))('two workers on one PostgreSQL', () => {
  const backend = useBackend(postgresBackend);

  it('finishes a cycle the other worker is auditing without starting another one in the same slot', async () => {
    const database = await backend().createDatabase();
    const [mine, theirs] = [unwrap(await database.open()), unwrap(await database.open())];
    const h = await createSyncHarness('reapit', { simulator: { contacts: 20, seed: 3 }, store: mine });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      // This worker has run the cycle up to its audit, one phase per step.
      for (const next of ['reconciling', 'pushing', 'auditing'])
        expect(must(await runConnection(h.deps, ref, 'phase')).state).toBe(next);

      // The other worker selects the connection between two steps and plans its audit; this worker's audit step
      // runs and ends (the cycle committed, the lease released) before the other one's step takes the lease.
      let auditedHere: Promise<unknown> | null = null;
      const theirStore: StoreHandle = new Proxy(theirs, {
        get(target, key) {
          if (key === 'acquireLease') {
            return (async (request) => {
              auditedHere ??= runConnection(h.deps, ref, 'phase');
              await auditedHere;
              return target.acquireLease(request);
            }) satisfies StoreHandle['acquireLease'];
          }
          const value = Reflect.get(target, key);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const other = createEmbeddedWorker(
        { ...h.deps, store: theirStore, owner: `other-host:4242:${randomUUID()}` },
        { log: () => {} },
      );
      expect((await other.tick()).started.map((c) => c.connectionId)).toEqual([h.connectionId]);
      const [report] = await other.drain();
      await other.stop();

      expect(auditedHere).not.toBeNull();
      // One cycle in the slot: the audit this worker wrote, and no second fetch from the CRM.
      const audit = must(await h.store.listAudit(ref)).entries;
      expect(audit.map((e) => e.body.outcome)).toEqual(['completed']);
      expect(report?.progress).toMatchObject({ state: 'idle', cycleId: null });
      expect(report?.progress?.lastAudit?.cycleId).toBe(audit[0]?.body.cycleId);
      const connection = must(await h.store.getConnection(ref));
      expect(connection.lease).toBeNull();
      expect(connection.nextRunAt.getTime()).toBeGreaterThan(Date.now() + 10 * 60_000);
      expect(must(await h.store.loadSnapshot(ref))?.stateValue).toBe('idle');
    } finally {
      await h.close();
      await mine.close();
      await theirs.close();
      await database.drop();
    }
  }, 120_000);
});
