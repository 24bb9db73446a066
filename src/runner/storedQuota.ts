import { err, ok, type Result } from '../core/result.ts';
import type { ConnectionRef, Store } from '../persistence/store.ts';
import { type ConnectionLimiter, utcDay } from '../providers/limiter.ts';
import type { RunError } from './connectionRunner.ts';

/**
 * A run's link between its limiter, which counts each call against the daily quota and in the rate windows in
 * memory, and the store, which keeps for every process that runs the connection the count of the day's requests and
 * the calls of the last window. The run starts from what the store holds and saves what it spent at each save of its
 * machine and as often as its lease is renewed: a round trip every few seconds, not a request. A process killed
 * mid-phase leaves at most those seconds' calls unsaved; the next run can take the connection only once the dead
 * one's lease has run out, a whole lease later.
 */
export interface StoredQuota {
  /**
   * Adds the calls counted since the last save to the store's count, and saves the rate windows' calls. Never
   * fails: unsaved calls go with the next.
   */
  save(): Promise<void>;
}

/**
 * Starts the limiter's day from the store's count of `now`'s UTC day (the runner's clock: the database's), and its
 * rate windows with the calls the last process to run the connection saved.
 */
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
  const recent = await store.getRecentCalls(ref);
  if (!recent.ok) return err({ kind: 'store', message: recent.error.message });
  limiter.countCallsElsewhere(recent.value);
  // Nothing to save while the store holds none and the windows none (a connection without rate limits).
  let storedNone = recent.value.length === 0;

  const saveUnstored = async () => {
    for (const usage of limiter.unstoredUsage()) {
      // The store away: the calls stay unstored in the limiter, and the next save (this process's) adds them.
      const total = await store.addDailyRequests({ ...ref, ...usage }).catch(() => null);
      if (total?.ok) limiter.storedUsage(usage.day, total.value, usage.requests);
    }
    const calls = limiter.recentCalls();
    if (calls.length === 0 && storedNone) return;
    // The store away, the next save has them all again.
    const saved = await store.saveRecentCalls({ ...ref, calls }).catch(() => null);
    if (saved?.ok) storedNone = calls.length === 0;
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
