import { describe, expect, it } from 'vitest';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { createEmbeddedWorker, type RunReport } from '../../src/worker/embeddedWorker.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

/**
 * The embedded worker's per-provider concurrency counts steps, as Inngest's does: a connection of an agency whose
 * CRM is down (sleeping in backoff) or in a long first load (handing its phase over) never keeps the provider's
 * other connections waiting. Held for a whole run, the slot let such runs skip every other agency of the provider at
 * each tick, without a word. One slot a provider here, so that a single run would hold them all.
 */
describe('embedded worker: a provider slot is held for a step, not a run', () => {
  /** Two Reapit connections of two agencies on one store; the worker's runner allows one attempt a phase. */
  async function twoAgencies(first: { contacts: number }, second: { contacts: number }) {
    const store = must(await openMemoryStore());
    const spec = withSpec(getProvider('reapit')?.spec ?? expect.unreachable(), { retry: { maxAttempts: 1 } });
    const a = await createSyncHarness('reapit', {
      store,
      simulator: { contacts: first.contacts, seed: 3 },
      runner: { providerOptions: () => ({ spec }) },
    });
    const b = await createSyncHarness('reapit', { store, simulator: { contacts: second.contacts, seed: 4 } });
    return {
      a,
      b,
      close: async () => {
        await a.close();
        await b.close();
        await store.close();
      },
    };
  }

  const outcomes = async (h: SyncHarness) =>
    must(await h.store.listAudit({ tenantId: h.tenantId })).entries.map((e) => e.body.outcome);

  it('a run sleeping in backoff holds no slot: the provider’s other connection runs its cycle meanwhile', async () => {
    const { a: down, b: healthy, close } = await twoAgencies({ contacts: 5 }, { contacts: 20 });
    try {
      await down.sim.control.faults({ errorRate: 1 });
      // A minute's tick: the first backoff (15–30 s) is slept inside the run.
      const worker = createEmbeddedWorker(down.deps, { providerConcurrency: 1, log: () => {} });
      const started = await worker.tick();
      expect(started.started.map((c) => c.connectionId).sort()).toEqual(
        [down.connectionId, healthy.connectionId].sort(),
      );
      const reports = new Map<string, RunReport>();
      const drained = worker.drain();
      // The healthy agency's cycle completes while the other's run still sleeps in its backoff.
      while ((await outcomes(healthy)).length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await outcomes(healthy)).toEqual(['completed']);
      expect(worker.running()).toContain(down.connectionId);
      await worker.stop({ graceMs: 10_000 });
      for (const report of await drained) reports.set(report.connection.connectionId, report);
      expect(reports.get(healthy.connectionId)?.progress?.state).toBe('idle');
      expect(reports.get(down.connectionId)?.progress?.state).toBe('backoff');
    } finally {
      await close();
    }
  }, 120_000);

  it('a long phase hands its slot over between steps: a small agency’s cycle ends first', async () => {
    const { a: large, b: small, close } = await twoAgencies({ contacts: 600 }, { contacts: 5 });
    try {
      // Each of the large agency's pages waits 300 ms, and a step hands over after 100 ms of its phase: a page.
      await large.sim.control.faults({ latencyMs: 300 });
      const lines: string[] = [];
      const worker = createEmbeddedWorker(large.deps, {
        providerConcurrency: 1,
        stepBudgetMs: 100,
        log: (line) => lines.push(line),
      });
      expect((await worker.tick()).started).toHaveLength(2);
      const reports = await worker.drain();
      expect(reports.map((r) => r.progress?.state)).toEqual(['idle', 'idle']);
      // Both cycles completed, the small one first although the large one took the slot first.
      expect(lines[0]).toContain(`connection=${small.connectionId} state=idle`);
      expect(lines[1]).toContain(`connection=${large.connectionId} state=idle`);
      expect(reports.find((r) => r.connection.connectionId === large.connectionId)?.steps).toBeGreaterThan(5);
      expect(await outcomes(large)).toEqual(['completed']);
      expect(await outcomes(small)).toEqual(['completed']);
      await worker.stop();
    } finally {
      await close();
    }
  }, 120_000);

  it('on stop, a run waiting for its slot ends without taking that step; those never started are one line', async () => {
    const { a: busy, b: waiting, close } = await twoAgencies({ contacts: 40 }, { contacts: 5 });
    let late: SyncHarness | null = null;
    try {
      await busy.sim.control.faults({ latencyMs: 1_500 });
      const lines: string[] = [];
      const worker = createEmbeddedWorker(busy.deps, {
        providerConcurrency: 1,
        log: (line) => lines.push(line),
      });
      expect((await worker.tick()).started).toHaveLength(2);
      // Each run has loaded its machine; the busy one's fetch holds the slot, the other's waits for it.
      while ((await busy.sim.control.stats()).requests < 1)
        await new Promise((resolve) => setTimeout(resolve, 20));
      // An agency due at the next tick waits behind them before it has loaded anything.
      late = await createSyncHarness('reapit', { store: busy.store, simulator: { contacts: 5, seed: 5 } });
      const lateId = late.connectionId;
      expect((await worker.tick()).started.map((c) => c.connectionId)).toEqual([lateId]);
      const drained = worker.drain();
      expect(await worker.stop({ graceMs: 30_000 })).toEqual({ abandoned: 0 });
      const reports = await drained;
      const reportOf = (id: string) => reports.find((r) => r.connection.connectionId === id);
      expect(reportOf(waiting.connectionId)).toMatchObject({ steps: 1, interrupted: { kind: 'stopping' } });
      expect(reportOf(lateId)).toMatchObject({ steps: 0, interrupted: { kind: 'stopping' } });
      for (const h of [waiting, late]) {
        expect((await h.sim.control.stats()).requests).toBe(0);
        expect(await outcomes(h)).toEqual([]);
        const connection = must(
          await h.store.getConnection({ tenantId: h.tenantId, connectionId: h.connectionId }),
        );
        expect(connection.lease).toBeNull();
      }
      // The run that never took a step logs no line of its own.
      expect(lines.filter((line) => line.includes(lateId))).toEqual([]);
      expect(lines.at(-1)).toBe(
        "1 run(s) waiting for their provider's slot not started; due at the next tick",
      );
    } finally {
      await late?.close();
      await close();
    }
  }, 120_000);
});
