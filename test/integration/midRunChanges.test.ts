import { describe, expect, it } from 'vitest';
import {
  type ConnectionProgress,
  driveConnection,
  type SyncSteps,
} from '../../src/inngest/driveConnection.ts';
import { createSyncHarness } from '../support/syncHarness.ts';

/** What an operator changes while a cycle runs takes effect then, not one cycle later. */
describe('changes made while a cycle runs', () => {
  it('a connection disabled after a phase stops before the next, and resumes there once enabled', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 20, seed: 2 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const ran: string[] = [];
      const steps = (after: (id: string) => Promise<void>): SyncSteps => ({
        run: async (id: string, fn: () => Promise<ConnectionProgress>) => {
          const progress = await fn();
          ran.push(id);
          await after(id);
          return progress;
        },
        sleepUntil: async () => {},
        finalAttempt: true,
      });
      const disableAfterFetch = async (id: string) => {
        if (id.startsWith('fetch')) await h.store.setConnectionEnabled({ ...ref, enabled: false });
      };
      const stopped = await driveConnection(h.deps, ref, steps(disableAfterFetch));
      expect(stopped).toMatchObject({ state: 'reconciling', stopped: 'disabled' });
      expect(ran).toEqual(['load', 'fetch-1', 'reconcile-2']);

      await h.store.setConnectionEnabled({ ...ref, enabled: true });
      ran.length = 0;
      const resumed = await driveConnection(
        h.deps,
        ref,
        steps(async () => {}),
      );
      expect(resumed).toMatchObject({ state: 'idle', stopped: null });
      expect(resumed.lastAudit?.counts.fetched).toBe(20);
      expect(ran).toEqual(['load', 'reconcile-1', 'push-2', 'audit-3']);
    } finally {
      await h.close();
    }
  });

  it('an interval shortened during a run sets the next run from the new interval', async () => {
    let tenantInterval: (() => Promise<void>) | null = null;
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 20, seed: 2 },
      runner: {
        // The operator's change lands while the cycle is in its fetch.
        onTransition: ({ state }) => {
          if (state === 'reconciling' && tenantInterval !== null) {
            const change = tenantInterval;
            tenantInterval = null;
            void change();
          }
        },
      },
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const before = await h.store.getConnection(ref);
      if (!before.ok) throw new Error(before.error.message);
      expect(before.value.effectiveIntervalSeconds).toBeGreaterThan(600);
      let changed: Promise<unknown> = Promise.resolve();
      tenantInterval = async () => {
        changed = h.store.setTenantInterval({ tenantId: h.tenantId, syncIntervalSeconds: 60 });
        await changed;
      };
      const run = await h.run();
      await changed;
      expect(run.ok && run.value.state).toBe('idle');
      const after = await h.store.getConnection(ref);
      if (!after.ok) throw new Error(after.error.message);
      const untilNext = after.value.nextRunAt.getTime() - Date.now();
      expect(untilNext).toBeGreaterThan(0);
      expect(untilNext).toBeLessThanOrEqual(60_000);
    } finally {
      await h.close();
    }
  });
});
