import { describe, expect, it } from 'vitest';
import type { CliApp } from '../../src/cli/app.ts';
import { runAll } from '../../src/cli/sync.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { beforeNextLease, runElsewhere } from '../support/leaseInterleaving.ts';
import { useSharedStore } from '../support/sharedStore.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

const store = useSharedStore();

/** A Reapit connection failing every request, one attempt per run, on a clock the test moves. */
async function failingConnection() {
  const spec = withSpec(getProvider('reapit')?.spec ?? expect.unreachable(), { retry: { maxAttempts: 1 } });
  const clock = { offsetMs: 0 };
  const interleaved = beforeNextLease(store());
  const h = await createSyncHarness('reapit', {
    store: store(),
    simulator: { contacts: 10, seed: 5 },
    runner: {
      store: interleaved.store,
      clock: () => new Date(Date.now() + clock.offsetMs),
      providerOptions: () => ({ spec }),
    },
  });
  await h.sim.control.faults({ errorRate: 1 });
  const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
  const tenant = must(await h.store.getTenant({ tenantId: h.tenantId }));
  const app: CliApp = { via: 'own', store: h.store, clock: h.deps.clock, runner: h.deps };
  return { h, ref, tenant, app, clock, between: interleaved.between };
}

describe('crm-sync sync and retry run here, decided under the lease', () => {
  it('leaves a connection a scheduled run parked in a backoff not yet due after sync read it idle: not run, nothing written', async () => {
    const { h, ref, tenant, app, clock, between } = await failingConnection();
    try {
      let parked: { resumeAt: string | null; nextRunAt: Date; savedAt: Date | undefined } | null = null;
      between(async () => {
        const outcome = must(await runElsewhere(h, 'phase'));
        parked = {
          resumeAt: outcome.context.resumeAt,
          nextRunAt: must(await h.store.getConnection(ref)).nextRunAt,
          savedAt: must(await h.store.loadSnapshot(ref))?.updatedAt,
        };
        clock.offsetMs += 1_000;
      });

      const [row] = await runAll(app, tenant, [must(await h.store.getConnection(ref))], 'cycle');
      const { resumeAt, nextRunAt, savedAt } = parked ?? expect.unreachable();
      expect(row).toMatchObject({ state: 'backoff', attempt: 1, resumeAt });
      expect(row?.runError).toBe(
        `connection is in backoff until ${resumeAt} after a transient failure in fetching; it resumes by itself then, and a sync from then on resumes it at once`,
      );
      expect(must(await h.store.loadSnapshot(ref))?.updatedAt).toEqual(savedAt);
      expect(must(await h.store.getConnection(ref)).nextRunAt).toEqual(nextRunAt);
    } finally {
      await h.close();
    }
  });

  it('leaves a connection a scheduled run retried out of error after retry read it: not run, nothing written', async () => {
    const { h, ref, tenant, app, clock, between } = await failingConnection();
    try {
      for (let failure = 1; failure <= 5; failure += 1) {
        const run = must(await runElsewhere(h, 'phase'));
        if (run.context.resumeAt !== null) clock.offsetMs = Date.parse(run.context.resumeAt) - Date.now() + 1;
      }
      expect(must(await h.store.loadSnapshot(ref))?.stateValue).toBe('error');
      await h.sim.control.faults({});
      let savedAt: Date | undefined;
      between(async () => {
        expect(must(await runElsewhere(h, 'retry'))).toMatchObject({ state: 'idle' });
        savedAt = must(await h.store.loadSnapshot(ref))?.updatedAt;
        clock.offsetMs += 1_000;
      });

      const [row] = await runAll(app, tenant, [must(await h.store.getConnection(ref))], 'retry');
      expect(row).toMatchObject({
        state: 'idle',
        runError: 'connection is idle, not in error: nothing to retry',
      });
      expect(savedAt).toBeDefined();
      expect(must(await h.store.loadSnapshot(ref))?.updatedAt).toEqual(savedAt);
    } finally {
      await h.close();
    }
  });
});
