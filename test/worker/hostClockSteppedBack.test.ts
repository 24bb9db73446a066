import { describe, expect, it } from 'vitest';
import { utcDay } from '../../src/providers/limiter.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';
import { tickOnce } from '../support/workerTick.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const FIVE_MINUTES = 300;

/**
 * A clock that stands still until the test moves it, at 10:00:00.5 UTC tomorrow: far from a minute's end and
 * from midnight, where a daily quota turns.
 */
function settableClock() {
  let now = new Date((Math.floor(Date.now() / DAY_MS) + 1) * DAY_MS + 10 * HOUR_MS + 500);
  return {
    clock: () => now,
    set: (at: Date) => (now = at),
    shift: (ms: number) => (now = new Date(now.getTime() + ms)),
  };
}

async function nextRunOf(h: SyncHarness): Promise<Date> {
  return must(await h.store.getConnection({ tenantId: h.tenantId, connectionId: h.connectionId })).nextRunAt;
}

/**
 * A run sets its connection's next run one interval from its end, by the database's clock, which on the
 * embedded database is the host's. A host clock stepped back (an NTP correction, a VM restored) or an interval
 * shortened behind the CLI's back left that next run further out than one interval: an agency on a 5-minute
 * interval went unsynced for 65 minutes after a step back of an hour.
 */
describe('a next run further out than one interval (PGlite)', () => {
  it('is brought within one interval of now after the host clock steps back an hour', async () => {
    const time = settableClock();
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 3, seed: 1 },
      runner: { clock: time.clock },
    });
    try {
      must(await h.store.setTenantInterval({ tenantId: h.tenantId, syncIntervalSeconds: FIVE_MINUTES }));
      expect(await tickOnce(h)).toEqual([h.connectionId]);

      time.shift(-HOUR_MS + 10_000);
      // Not run at once (it ran ten seconds ago, by the hour's real time)...
      expect(await tickOnce(h)).toEqual([]);
      // ...but due one interval from now, not one interval and an hour.
      expect((await nextRunOf(h)).getTime()).toBeLessThanOrEqual(
        time.clock().getTime() + FIVE_MINUTES * 1000,
      );
      time.shift(FIVE_MINUTES * 1000);
      expect(await tickOnce(h)).toEqual([h.connectionId]);
    } finally {
      await h.close();
    }
  });

  it('is brought within one interval of now after the interval is shortened in the database', async () => {
    const time = settableClock();
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 3, seed: 1 },
      runner: { clock: time.clock },
    });
    try {
      must(await h.store.setTenantInterval({ tenantId: h.tenantId, syncIntervalSeconds: DAY_MS / 1000 }));
      expect(await tickOnce(h)).toEqual([h.connectionId]);

      // An operator's UPDATE, which does not move next runs as `tenant set-interval` does.
      must(await h.store.setTenantInterval({ tenantId: h.tenantId, syncIntervalSeconds: FIVE_MINUTES }));
      time.shift(10_000);
      expect(await tickOnce(h)).toEqual([]);
      time.shift(FIVE_MINUTES * 1000);
      expect(await tickOnce(h)).toEqual([h.connectionId]);
    } finally {
      await h.close();
    }
  });

  it('brings a short backoff within its own wait of now after the host clock steps back an hour, and keeps it there', async () => {
    const time = settableClock();
    // Loop answers a 429 with Retry-After; an injected burst says 1 s, so the backoff is the machine's first
    // (15 to 30 s), which Retry-After sets a floor under.
    const h = await createSyncHarness('loop', {
      simulator: { contacts: 3, seed: 1 },
      runner: { clock: time.clock },
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      must(await h.store.setTenantInterval({ tenantId: h.tenantId, syncIntervalSeconds: FIVE_MINUTES }));
      await h.sim.control.faults({ rateLimitBurst: 1_000 });
      expect(await tickOnce(h, 1_000)).toEqual([h.connectionId]);
      expect(must(await h.store.loadSnapshot(ref))).toMatchObject({
        stateValue: 'backoff',
        snapshot: { context: { lastError: { kind: 'rate_limited' } } },
      });
      // The run handed the backoff to the schedule: its next run is the backoff's resumeAt.
      const waitMs = (await nextRunOf(h)).getTime() - time.clock().getTime();
      expect(waitMs).toBeGreaterThanOrEqual(1_000);
      expect(waitMs).toBeLessThanOrEqual(30_000);
      await h.sim.control.faults({});
      const { requests } = await h.sim.control.stats();

      // The wait asked is honoured: not run before it ends.
      time.shift(waitMs / 2);
      expect(await tickOnce(h, 1_000)).toEqual([]);
      time.shift(-waitMs / 2 - HOUR_MS);
      expect(await tickOnce(h, 1_000)).toEqual([]);
      // Due one wait from now, not an hour and a wait.
      expect((await nextRunOf(h)).getTime()).toBeLessThanOrEqual(time.clock().getTime() + waitMs);
      expect((await h.sim.control.stats()).requests).toBe(requests);
      // Nor sooner at the ticks that follow: each brought it in again by the step, and the next ran it.
      time.shift(1_000);
      expect(await tickOnce(h, 1_000)).toEqual([]);
      expect((await h.sim.control.stats()).requests).toBe(requests);

      time.shift(waitMs - 1_000);
      expect(await tickOnce(h, 1_000)).toEqual([h.connectionId]);
      expect(must(await h.store.loadSnapshot(ref))?.stateValue).toBe('idle');
      expect((await h.sim.control.stats()).requests).toBeGreaterThan(requests);
    } finally {
      await h.close();
    }
  });

  it('leaves a daily quota parked until the next UTC midnight', async () => {
    const time = settableClock();
    const reapit = getProvider('reapit') ?? expect.unreachable();
    const spec = withSpec(reapit.spec, { limits: { requestsPerDay: 10 } });
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 3, seed: 1 },
      runner: { clock: time.clock, providerOptions: () => ({ spec }) },
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      must(await h.store.setTenantInterval({ tenantId: h.tenantId, syncIntervalSeconds: FIVE_MINUTES }));
      must(await h.store.addDailyRequests({ ...ref, day: utcDay(time.clock().getTime()), requests: 10 }));
      const midnight = new Date((Math.floor(time.clock().getTime() / DAY_MS) + 1) * DAY_MS);

      expect(await tickOnce(h)).toEqual([h.connectionId]);
      expect(must(await h.store.loadSnapshot(ref))?.stateValue).toBe('backoff');
      expect(await nextRunOf(h)).toEqual(midnight);

      time.shift(10_000);
      expect(await tickOnce(h)).toEqual([]);
      expect(await nextRunOf(h)).toEqual(midnight);
      expect((await h.sim.control.stats()).requests).toBe(0);
    } finally {
      await h.close();
    }
  });
});
