import { InngestTestEngine, mockCtx } from '@inngest/test';
import { describe, expect, it } from 'vitest';
import { createSyncConnection } from '../../src/inngest/functions/syncConnection.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { capturingClient, dueEvent } from '../support/inngest.ts';
import { createSyncHarness } from '../support/syncHarness.ts';

type Ctx = Parameters<typeof mockCtx>[0];

/** How far Inngest's clock runs ahead of the database's, which the runner goes by. */
const SKEW_MS = 3_000;

describe('sync-connection, a backoff under a clock skew between Inngest and the database', () => {
  it('sleeps on when Inngest wakes the run before resumeAt by the database clock, instead of spinning steps', async () => {
    // The runner's clock (the database's) is real time plus what the run has slept.
    let sleptMs = 0;
    const spec = withSpec(getProvider('reapit')?.spec ?? fail(), { retry: { maxAttempts: 1 } });
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 10, seed: 4 },
      runner: { clock: () => new Date(Date.now() + sleptMs), providerOptions: () => ({ spec }) },
    });
    try {
      await h.sim.control.faults({ errorRate: 1 });
      const wakes: string[] = [];
      const { client } = capturingClient();
      const engine = new InngestTestEngine({
        function: createSyncConnection(client, h.deps),
        events: [dueEvent(h)],
        transformCtx: (ctx: Ctx) => {
          const mocked = mockCtx(ctx) as Ctx;
          // Inngest wakes the run at `until` by its own clock, SKEW_MS before it by the database's; the CRM is
          // back by then. Replays of earlier sleeps never move the clock back.
          mocked.step.sleepUntil = (async (_id: string, until: string) => {
            if (!wakes.includes(until)) wakes.push(until);
            sleptMs = Math.max(sleptMs, Date.parse(until) - SKEW_MS - Date.now());
            await h.sim.control.faults({});
          }) as unknown as typeof mocked.step.sleepUntil;
          return mocked;
        },
      });
      const run = await engine.execute();

      expect(run).not.toHaveProperty('error');
      expect(run.result).toMatchObject({ state: 'idle', stopped: null });
      const ids = run.ctx.step.run.mock.calls.map((call) => call[0] as string);
      const fetches = ids.filter((id) => id.startsWith('fetch-'));
      // fetch-1 fails into backoff; woken 3 s early the next finds it not yet due, sleeps on 1 s, then 2 s more,
      // and runs. Before, each early wake slept until the same passed instant: about ten steps a second.
      expect(fetches.length).toBeLessThanOrEqual(4);
      expect(ids.slice(-3).map((id) => id.replace(/-\d+$/, ''))).toEqual(['reconcile', 'push', 'audit']);
      const resumeAt = Date.parse(wakes[0] ?? '');
      expect(wakes.map((w) => Date.parse(w) - resumeAt)).toEqual([0, 1_000, 3_000]);
    } finally {
      await h.close();
    }
  }, 120_000);
});

function fail(): never {
  throw new Error('reapit is not registered');
}
