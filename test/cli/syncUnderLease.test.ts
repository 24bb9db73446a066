import { describe, expect, it } from 'vitest';
import type { CliApp } from '../../src/cli/app.ts';
import { runAll } from '../../src/cli/sync.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { beforeNextLease, runElsewhere } from '../support/leaseInterleaving.ts';
import { useSharedStore } from '../support/sharedStore.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

const store = useSharedStore();

describe('crm-sync sync run here, decided under the lease', () => {
  it('leaves a connection a scheduled run parked in a backoff not yet due after sync read it idle: not run, nothing written', async () => {
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
    try {
      await h.sim.control.faults({ errorRate: 1 });
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const tenant = must(await h.store.getTenant({ tenantId: h.tenantId }));
      const app: CliApp = { via: 'own', store: h.store, clock: h.deps.clock, runner: h.deps };
      let parked: { resumeAt: string | null; nextRunAt: Date; savedAt: Date | undefined } | null = null;
      interleaved.between(async () => {
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
});
