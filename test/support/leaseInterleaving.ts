import { randomUUID } from 'node:crypto';
import { formatLeaseOwner } from '../../src/persistence/leaseOwner.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { type RunMode, runConnection } from '../../src/runner/connectionRunner.ts';
import type { SyncHarness } from './syncHarness.ts';

/**
 * The store, with what `between` is given run once at the next lease asked for, before the store is asked: another
 * process's run fitted deterministically between a caller's reading of a connection and its own run's lease.
 */
export function beforeNextLease(store: StoreHandle): {
  store: StoreHandle;
  between(run: () => Promise<void>): void;
} {
  let pending: (() => Promise<void>) | null = null;
  const wrapped: StoreHandle = new Proxy(store, {
    get(target, key) {
      if (key === 'acquireLease') {
        return (async (request) => {
          const run = pending;
          pending = null;
          await run?.();
          return target.acquireLease(request);
        }) satisfies StoreHandle['acquireLease'];
      }
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    store: wrapped,
    between: (run) => {
      pending = run;
    },
  };
}

/** A run of the harness connection by another owner (a scheduled run in another process), on the unwrapped store. */
export function runElsewhere(h: SyncHarness, mode: RunMode): ReturnType<typeof runConnection> {
  const owner = formatLeaseOwner({ host: 'other-host', pid: 4242, id: randomUUID() });
  return runConnection(
    { ...h.deps, store: h.store, owner },
    { tenantId: h.tenantId, connectionId: h.connectionId },
    mode,
  );
}
