import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatLeaseOwner } from '../../src/persistence/leaseOwner.ts';
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
 * The embedded worker ticked a minute after its last tick, at whatever second of the minute it started, and looked a
 * minute ahead of it. Two schedulers on one database (two workers, or Inngest's cron and a worker) each took the run
 * the other had just set a minute on, as due before their own next tick: a 1-minute interval ran twice a minute.
 * Every scheduler now ticks on whole minutes (the worker's first tick, when it starts, looks only to the next).
 */
describe('the embedded worker ticking late in a minute', () => {
  it('looks only to the start of the next minute, where its next tick falls', async () => {
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 3, seed: 1 },
      runner: { clock: () => lateInAMinute },
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      must(await h.store.setTenantInterval({ tenantId: h.tenantId, syncIntervalSeconds: ONE_MINUTE }));
      // Due at 10:02:05: the tick at 10:02:00 takes it.
      must(await h.store.setNextRun({ ...ref, nextRunAt: new Date(lateInAMinute.getTime() + 15_000) }));
      expect(await tickOnce(h)).toEqual([]);
      // Due at 10:01:55, before the next tick: this one takes it, and it runs a minute on.
      must(await h.store.setNextRun({ ...ref, nextRunAt: new Date(lateInAMinute.getTime() + 5_000) }));
      expect(await tickOnce(h)).toEqual([h.connectionId]);
      expect(must(await h.store.getConnection(ref)).nextRunAt).toEqual(
        new Date(lateInAMinute.getTime() + 60_000),
      );
    } finally {
      await h.close();
    }
  });

  it('runs a 1-minute interval once a minute beside another scheduler ticking half a minute apart', async () => {
    const start = lateInAMinute.getTime() - 100_000; // 10:00:10 tomorrow
    let now = start;
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 2, seed: 1 },
      runner: { clock: () => new Date(now) },
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      must(await h.store.setTenantInterval({ tenantId: h.tenantId, syncIntervalSeconds: ONE_MINUTE }));
      must(await h.store.setNextRun({ ...ref, nextRunAt: new Date(now) }));
      const other = {
        ...h,
        deps: { ...h.deps, owner: formatLeaseOwner({ host: 'other', pid: 1, id: randomUUID() }) },
      };
      for (let minute = 0; minute < 10; minute += 1) {
        for (const [scheduler, offset] of [
          [h, 0],
          [other, 30_000],
        ] as const) {
          now = start + minute * 60_000 + offset;
          await tickOnce(scheduler);
        }
      }
      const audits = must(await h.store.listAudit({ ...ref, limit: 100 })).entries;
      expect(audits.filter((entry) => entry.body.outcome === 'completed')).toHaveLength(10);
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
