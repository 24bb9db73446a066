import { err, ok, type Result } from '../core/result.ts';
import type { ConnectionRef, Store } from '../persistence/store.ts';
import { type ConnectionLimiter, utcDay } from '../providers/limiter.ts';
import type { RunError } from './connectionRunner.ts';

/**
 * A run's link between its limiter, which counts each call against the daily quota in memory, and the store's count
 * of the connection's requests of the day, which every process that runs the connection adds to. The run starts
 * from the store's count and adds what it spent at each save of its machine and as often as its lease is renewed:
 * a round trip every few seconds, not a request, and a process killed mid-phase leaves at most those seconds'
 * calls uncounted.
 */
export interface StoredQuota {
  /** Adds the calls counted since the last save to the store's count. Never fails: unsaved calls go with the next. */
  save(): Promise<void>;
}

/** Starts the limiter's day from the store's count of `now`'s UTC day (the runner's clock: the database's). */
export async function loadStoredQuota(
  store: Store,
  ref: ConnectionRef,
  limiter: ConnectionLimiter,
  now: Date,
): Promise<Result<StoredQuota, RunError>> {
  const day = utcDay(now.getTime());
  const stored = await store.getDailyRequests({ ...ref, day });
  if (!stored.ok) return err({ kind: 'store', message: stored.error.message });
  limiter.storedUsage(day, stored.value);

  const saveUnstored = async () => {
    for (const usage of limiter.unstoredUsage()) {
      // The store away: the calls stay unstored in the limiter, and the next save (this process's) adds them.
      const total = await store.addDailyRequests({ ...ref, ...usage }).catch(() => null);
      if (total?.ok) limiter.storedUsage(usage.day, total.value, usage.requests);
    }
  };
  // One save at a time: two at once would both add the calls neither had marked stored yet.
  let saving = Promise.resolve();
  return ok({
    save: () => {
      saving = saving.then(saveUnstored);
      return saving;
    },
  });
}
