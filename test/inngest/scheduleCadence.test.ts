import { InngestTestEngine } from '@inngest/test';
import { describe, expect, it } from 'vitest';
import type { ConnectionProgress } from '../../src/inngest/driveConnection.ts';
import { createScheduleTick, type TickResult } from '../../src/inngest/functions/scheduleTick.ts';
import { createSyncConnection } from '../../src/inngest/functions/syncConnection.ts';
import { capturingClient, type SentEvent } from '../support/inngest.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

/** Seconds a cycle takes in these tests: any run ends after the tick that started it. */
const RUN_SECONDS = 4;

/**
 * A harness whose clock stands still until the test moves it, starting `offsetMs` from a minute boundary: after it
 * (the cron's delivery), or before it (the database's clock behind the cron's, a timer firing early).
 */
async function harnessAtMinute(intervalSeconds: number, offsetMs: number) {
  const firstTick = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 60_000 + offsetMs);
  let now = firstTick;
  const h = await createSyncHarness('reapit', {
    simulator: { contacts: 3 },
    runner: { clock: () => now },
  });
  must(await h.store.setTenantInterval({ tenantId: h.tenantId, syncIntervalSeconds: intervalSeconds }));
  return { h, firstTick, setNow: (at: Date) => (now = at) };
}

/** The cron tick through the test engine; the due events it sent. */
async function tick(h: SyncHarness): Promise<SentEvent[]> {
  const { client, sent } = capturingClient();
  const run = await new InngestTestEngine({ function: createScheduleTick(client, h.deps) }).execute();
  expect(run).not.toHaveProperty('error');
  expect((run.result as TickResult).fannedOut).toBe(sent.length);
  return sent;
}

/** One sync-connection run for a due event, as Inngest starts it. */
async function runDue(h: SyncHarness, event: SentEvent): Promise<ConnectionProgress> {
  const { client } = capturingClient();
  const fn = createSyncConnection(client, h.deps);
  const run = await new InngestTestEngine({ function: fn, events: [event] }).execute();
  expect(run).not.toHaveProperty('error');
  return run.result as ConnectionProgress;
}

/**
 * Cron ticks at the start of each minute for `minutes` minutes; every due event starts a run that ends
 * RUN_SECONDS later. Returns the minutes (from the first tick) in which a cycle ran.
 */
async function cycleMinutes(
  { h, firstTick, setNow }: Awaited<ReturnType<typeof harnessAtMinute>>,
  minutes: number,
): Promise<number[]> {
  const ran: number[] = [];
  for (let minute = 0; minute < minutes; minute++) {
    const tickAt = new Date(firstTick.getTime() + minute * 60_000);
    setNow(tickAt);
    const due = await tick(h);
    setNow(new Date(tickAt.getTime() + RUN_SECONDS * 1000));
    for (const event of due) {
      const progress = await runDue(h, event);
      if (progress.stopped === null) ran.push(minute);
    }
  }
  return ran;
}

// Read 50 ms before the minute, a tick took the minute ending there and left out every run set into the next: the
// same one tick late, whenever the database's clock lagged the cron's.
describe.each([
  ['500 ms after', 500],
  ['50 ms before', -50],
  ['3 s before', -3_000],
])(
  'schedule cadence, each tick reading the clock %s the minute (regression: every interval ran one tick late)',
  (_, offsetMs) => {
    it('runs a 1m connection on every tick, not every other one', async () => {
      const schedule = await harnessAtMinute(60, offsetMs);
      try {
        expect(await cycleMinutes(schedule, 5)).toEqual([0, 1, 2, 3, 4]);
      } finally {
        await schedule.h.close();
      }
    });

    it('runs a 5m connection every 5 minutes, not every 6', async () => {
      const schedule = await harnessAtMinute(300, offsetMs);
      try {
        expect(await cycleMinutes(schedule, 11)).toEqual([0, 5, 10]);
      } finally {
        await schedule.h.close();
      }
    });
  },
);
