import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { openApp } from '../../src/main.ts';
import { type ConnectionLimiter, createLimiter } from '../../src/providers/limiter.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { noRateLimits, withSpec } from '../../src/providers/spec.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';
import { tempDirs } from '../support/tempDirs.ts';

const newDataDir = tempDirs('crm-sync-long-lived-');

/**
 * What the worker and `serve` keep from one run to the next: they run cycle after cycle for months, so anything
 * a run leaves behind in the process grows with the number of runs, and anything kept per connection should go
 * once the connection no longer runs.
 */

const DAY_MS = 86_400_000;

/**
 * The signals Node keeps composed from `signal` (`AbortSignal.any`). Node 20 removes none of them until `signal`
 * aborts; no public API counts them.
 */
function composedFrom(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kDependantSignals');
  const dependants = key === undefined ? undefined : (signal as unknown as Record<symbol, Set<unknown>>)[key];
  return dependants?.size ?? 0;
}

describe('a long-lived process', () => {
  it("leaves nothing on the process's stopping signal after its runs", async () => {
    // How this Node keeps composed signals, so that the count below means something.
    const control = new AbortController();
    AbortSignal.any([control.signal]);
    expect(composedFrom(control.signal)).toBe(1);

    const stopping = new AbortController();
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 5 },
      runner: { stopping: stopping.signal },
    });
    try {
      for (let i = 0; i < 3; i++) expect(must(await h.run()).state).toBe('idle');
      expect(composedFrom(stopping.signal)).toBe(0);
      expect(getEventListeners(stopping.signal, 'abort')).toHaveLength(0);
    } finally {
      await h.close();
    }
  });

  it('lets more runs than Node warns of at once listen to its stopping signal, without a leak warning', async () => {
    const app = must(
      await openApp({ command: 'test', source: { CRM_SYNC_DATA_DIR: newDataDir() }, notice: () => {} }),
    );
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const stopping = app.runner.stopping ?? expect.unreachable();
    const runs = Array.from({ length: 50 }, () => () => {});
    try {
      for (const run of runs) stopping.addEventListener('abort', run, { once: true });
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      for (const run of runs) stopping.removeEventListener('abort', run);
      process.off('warning', onWarning);
      await app.close();
    }
  });

  it('drops the limiter of a connection that has not run for a day once it creates another', async () => {
    const spec = withSpec(getProvider('reapit')?.spec ?? expect.unreachable(), { limits: noRateLimits });
    const limiters = new Map<string, ConnectionLimiter>();
    const runner = { limiters, providerOptions: () => ({ spec }) };
    const retired = await createSyncHarness('reapit', { simulator: { contacts: 5 }, runner });
    const store = retired.store;
    const running = await createSyncHarness('reapit', { store, simulator: { contacts: 5 }, runner });
    const added = await createSyncHarness('reapit', { store, simulator: { contacts: 5 }, runner });
    try {
      // The retired connection's limiter, on a clock the test moves.
      let now = Date.now();
      const retiredLimiter = createLimiter(spec, { now: () => now });
      limiters.set(retired.connectionId, retiredLimiter);
      expect(must(await retired.run()).state).toBe('idle');
      must(
        await store.setConnectionEnabled({
          tenantId: retired.tenantId,
          connectionId: retired.connectionId,
          enabled: false,
        }),
      );

      // Unused for less than a day: kept.
      now += DAY_MS - 1;
      expect(must(await running.run()).state).toBe('idle');
      expect([...limiters.keys()]).toEqual([retired.connectionId, running.connectionId]);

      now += 1;
      expect(must(await added.run()).state).toBe('idle');
      expect([...limiters.keys()]).toEqual([running.connectionId, added.connectionId]);
    } finally {
      await added.close();
      await running.close();
      await retired.close();
    }
  });
});
