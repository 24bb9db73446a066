import { describe, expect, it } from 'vitest';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { newLeads, recordsAndPeople } from '../support/leads.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

const LEADS = 30;

const isDue = async (h: SyncHarness, now: Date) =>
  must(await h.store.listDueConnections({ now, limit: 100 })).some((c) => c.id === h.connectionId);

/**
 * A cycle asked for ahead of its schedule (a `sync` from the admin API or the CLI) and cut short is due at once:
 * its next run stood an interval on, and the interrupted cycle waited that long for the schedule to resume it.
 */
describe('a cycle run ahead of its schedule and cut short', () => {
  it('is due at once after the process stops mid-push, and the next look finishes it', async () => {
    const h = await createSyncHarness('loop', { simulator: { contacts: 5, seed: 3, latencyMs: 20 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      must(await h.run());
      expect(await isDue(h, new Date())).toBe(false);
      must(
        await h.store.upsertContacts({
          tenantId: h.tenantId,
          contacts: newLeads(LEADS, 'Adeyemi'),
          now: new Date(),
        }),
      );

      const stopping = new AbortController();
      h.deps.stopping = stopping.signal;
      h.deps.onPushProgress = ({ done }) => {
        if (done > 0) stopping.abort();
      };
      const stopped = await h.run();
      expect(stopped).toMatchObject({ ok: false, error: { kind: 'stopping' } });
      delete h.deps.stopping;
      delete h.deps.onPushProgress;
      expect(must(await h.store.loadSnapshot(ref))?.stateValue).toBe('pushing');
      expect(must(await h.store.getConnection(ref)).nextRunAt.getTime()).toBeLessThanOrEqual(Date.now());
      expect(await isDue(h, new Date())).toBe(true);

      const resumed = must(await h.run());
      expect(resumed.state).toBe('idle');
      // Each lead created once: a create sent again blind on resume is a second record with the same e-mail.
      expect(recordsAndPeople(await h.sim.control.records())).toEqual({ records: LEADS, people: LEADS });
      // Settled, it waits its interval again.
      expect(await isDue(h, new Date())).toBe(false);
    } finally {
      await h.close();
    }
  });

  it('is due once its lease runs out, when the process running it stalled (or died) mid-push', async () => {
    let aheadMs = 0;
    const clock = () => new Date(Date.now() + aheadMs);
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 5, seed: 4, latencyMs: 20 },
      runner: {
        clock,
        leaseTtlMs: 1_500,
        // Past its lease, yet well short of the tenant's 900 s interval.
        onPushProgress: ({ done }) => {
          if (done > 0) aheadMs = Math.max(aheadMs, 5 * 60_000);
        },
      },
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const { onPushProgress: _stall, ...steady } = h.deps;
      must(await runConnection({ ...steady, leaseTtlMs: 60_000 }, ref));
      expect(await isDue(h, clock())).toBe(false);
      must(
        await h.store.upsertContacts({
          tenantId: h.tenantId,
          contacts: newLeads(LEADS, 'Adeyemi'),
          now: clock(),
        }),
      );
      expect(await h.run()).toMatchObject({ ok: false, error: { kind: 'lease_held' } });
      expect(await isDue(h, clock())).toBe(true);
    } finally {
      await h.close();
    }
  });
});
