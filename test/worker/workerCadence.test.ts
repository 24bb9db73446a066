import { describe, expect, it } from 'vitest';
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
      // Due after the next tick (10:02:50): that tick runs it.
      must(await h.store.setNextRun({ ...ref, nextRunAt: new Date(lateInAMinute.getTime() + 61_000) }));
      expect(await tickOnce(h)).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
