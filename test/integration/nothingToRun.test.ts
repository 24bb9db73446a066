import { describe, expect, it } from 'vitest';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import type { RunMode } from '../../src/runner/connectionRunner.ts';
import { useSharedStore } from '../support/sharedStore.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

const store = useSharedStore();

/** A Reapit connection whose CRM answers every request 500, one request per attempt, on a clock the test moves. */
async function failingHarness() {
  const spec = withSpec(getProvider('reapit')?.spec ?? expect.unreachable(), { retry: { maxAttempts: 1 } });
  const clock = { offsetMs: 0 };
  const h = await createSyncHarness('reapit', {
    store: store(),
    simulator: { contacts: 10, seed: 6 },
    runner: { clock: () => new Date(Date.now() + clock.offsetMs), providerOptions: () => ({ spec }) },
  });
  await h.sim.control.faults({ errorRate: 1 });
  return { h, clock };
}

/** The snapshot row's stamp and the next run: what a run that does nothing must leave as it found them. */
async function written(h: SyncHarness) {
  const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
  const snapshot = must(await h.store.loadSnapshot(ref));
  return { savedAt: snapshot?.updatedAt, nextRunAt: must(await h.store.getConnection(ref)).nextRunAt };
}

describe('a run that finds nothing to do', () => {
  it.each<RunMode>(['cycle', 'phase', 'retry'])(
    'in a backoff not yet due (%s) neither re-saves the snapshot nor moves the next run',
    async (mode) => {
      const { h, clock } = await failingHarness();
      try {
        expect(must(await h.run())).toMatchObject({ state: 'backoff', context: { attempt: 1 } });
        const before = await written(h);
        clock.offsetMs += 1_000;
        expect(must(await h.run(mode))).toMatchObject({ state: 'backoff', context: { attempt: 1 } });
        expect(await written(h)).toEqual(before);
      } finally {
        await h.close();
      }
    },
  );

  it.each<RunMode>(['cycle', 'phase'])(
    'in error (%s) neither re-saves the snapshot nor moves the next run (the schedule retries it then)',
    async (mode) => {
      const { h, clock } = await failingHarness();
      try {
        for (let attempt = 1; attempt <= 5; attempt += 1) {
          const outcome = must(await h.run());
          const { resumeAt } = outcome.context;
          if (resumeAt !== null) clock.offsetMs = Date.parse(resumeAt) - Date.now() + 1;
        }
        const before = await written(h);
        clock.offsetMs += 1_000;
        expect(must(await h.run(mode))).toMatchObject({
          state: 'error',
          context: { errorReason: 'attempts_exhausted' },
        });
        expect(await written(h)).toEqual(before);
      } finally {
        await h.close();
      }
    },
  );
});
