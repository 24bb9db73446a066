import { describe, expect, it } from 'vitest';
import { utcDay } from '../../src/providers/limiter.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { pullInNextRun } from '../../src/runner/nextRun.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';
import { tickOnce } from '../support/workerTick.ts';

const DAY_MS = 86_400_000;
const ONE_MINUTE = 60;

/** Tomorrow at 10:01:50 UTC, late in a minute, standing still. */
const lateInAMinute = new Date((Math.floor(Date.now() / DAY_MS) + 1) * DAY_MS + 36_110_000);

/**
 * The embedded worker ticks a minute after its last tick, at whatever second of the minute it started, not at
 * each minute's start as Inngest's cron does. A run that ends after the minute turned sets its next run one
 * interval on, past the end of the minute of the worker's next tick, which looked only that far: each run was a
 * tick late, a 1-minute interval ran every 2 minutes and a 5-minute one every 6.
 */
describe('the embedded worker ticking late in a minute', () => {
  it('runs a connection due before its next tick, not one due after it', async () => {
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 3, seed: 1 },
      runner: { clock: () => lateInAMinute },
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      must(await h.store.setTenantInterval({ tenantId: h.tenantId, syncIntervalSeconds: ONE_MINUTE }));
      // The last run ended at 10:01:05, 15 s after the tick at 10:00:50 that started it: next run at 10:02:05.
      must(await h.store.setNextRun({ ...ref, nextRunAt: new Date(lateInAMinute.getTime() + 15_000) }));
      expect(await tickOnce(h)).toEqual([h.connectionId]);
      // Its cycle ran (it was started, then found not due by the end of the tick's minute): next run an interval on.
      expect(must(await h.store.getConnection(ref)).nextRunAt).toEqual(
        new Date(lateInAMinute.getTime() + 60_000),
      );
      // Due after the next tick (10:02:50): that tick runs it.
      must(await h.store.setNextRun({ ...ref, nextRunAt: new Date(lateInAMinute.getTime() + 61_000) }));
      expect(await tickOnce(h)).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('keeps a backoff’s next run at its resumeAt after an interval shortened under it: one tick finds it waiting, no more', async () => {
    let now = new Date(lateInAMinute.getTime() - 110_000); // 10:00:00 tomorrow
    const spec = withSpec(getProvider('reapit')?.spec ?? expect.fail('reapit'), {
      limits: { requestsPerDay: 10 },
    });
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 3, seed: 1 },
      runner: { clock: () => now, providerOptions: () => ({ spec }) },
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const midnight = new Date((Math.floor(now.getTime() / DAY_MS) + 1) * DAY_MS);
      must(await h.store.addDailyRequests({ ...ref, day: utcDay(now.getTime()), requests: 10 }));
      expect(await tickOnce(h)).toEqual([h.connectionId]);
      expect(must(await h.store.getConnection(ref)).nextRunAt).toEqual(midnight);
      // As `connection set-interval 5m` and the admin API's PATCH do.
      must(await h.store.setConnectionInterval({ ...ref, syncIntervalSeconds: 300 }));
      must(await pullInNextRun(h.store, must(await h.store.getConnection(ref)), 300, now));
      now = new Date(now.getTime() + 300_000);
      expect(await tickOnce(h)).toEqual([h.connectionId]);
      expect(must(await h.store.getConnection(ref)).nextRunAt).toEqual(midnight);
      now = new Date(now.getTime() + 60_000);
      expect(await tickOnce(h)).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
