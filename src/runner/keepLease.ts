import type { ConnectionRef } from '../persistence/store.ts';
import { WRITE_TIME_LIMIT_MS } from '../providers/spec.ts';
import type { RunError, RunnerDeps } from './connectionRunner.ts';

/** Lets a write out only while the lease is sure to outlast its answer: resolves then, or rejects on `signal`. */
export interface WriteGate {
  open(signal?: AbortSignal): Promise<void>;
}

/**
 * Renews the lease every third of its time, and aborts `lost` once it may no longer be ours: the store says
 * another owner holds it; the lease ran out unrenewed while this process could not run (stopped, a stalled VM,
 * a query that held the thread), checked first when it runs again, before a pending CRM answer lets the phase
 * send more; or renewals failed for two thirds of it (the database out of this process's reach, not necessarily
 * out of another worker's), which leaves a third to stop in before another worker may take it: a write already
 * sent is answered or cut within it (`WRITE_TIME_LIMIT_MS`), and the run keeps its lease till then. A run that went
 * on would write to the CRM beside the worker that took over: twice the creates. A slow renewal still pending is
 * not a loss: the database is slow for every worker alike.
 *
 * `writes` holds each write attempt, wherever it waited before (a limiter's window, a 429), until the lease is
 * known to outlast its time limit: a renewal that hangs rather than fails (a connection to the database cut
 * without a reset) stops the run only once the lease has run out, and a create sent just before, still unanswered,
 * would be looked for by the worker taking over and sent again. Held, it goes out once a renewal answers.
 */
export function keepLease(
  deps: RunnerDeps,
  ref: ConnectionRef,
  lease: { ttlMs: number; renewedAt: Date },
  lost: AbortController,
): { renewals: ReturnType<typeof setInterval>; writes: WriteGate; runsOutAt: () => number } {
  const { store, clock, owner } = deps;
  const { ttlMs } = lease;
  const everyMs = ttlMs / 3;
  // A test's lease shorter than three write time limits keeps the same proportions.
  const writableForMs = ttlMs - Math.min(WRITE_TIME_LIMIT_MS, everyMs);
  // From the lease's own stamp, not from now: the connection was read under it since, which may have taken a while.
  let renewedAt = lease.renewedAt.getTime();
  const held = new Set<() => void>();
  const writable = () => clock().getTime() - renewedAt < writableForMs;
  const renew = () => {
    const now = clock();
    if (now.getTime() - renewedAt >= ttlMs) {
      lost.abort();
      return;
    }
    const failed = () => {
      if (clock().getTime() - renewedAt >= ttlMs - everyMs) lost.abort(new RenewalsFailed(ttlMs - everyMs));
    };
    void store.heartbeatLease({ ...ref, owner, ttlMs, now }).then((renewed) => {
      if (renewed.ok) {
        renewedAt = Math.max(renewedAt, now.getTime());
        for (const release of held) release();
      } else if (renewed.error.kind === 'lease_lost') lost.abort();
      else failed();
    }, failed);
  };
  // A renewal already due when the run starts is asked at once, not a whole interval on.
  if (clock().getTime() - renewedAt >= everyMs) renew();
  const writes: WriteGate = {
    open: (signal) =>
      new Promise<void>((resolve, reject) => {
        // The call's own signal, which the lease's loss aborts too (the run stops its phase), so the call ends as
        // stopped, the write unsent; the lease's for a call that has none.
        const stop = signal ?? lost.signal;
        if (stop.aborted) return reject(stop.reason);
        if (writable()) return resolve();
        const done = () => {
          held.delete(release);
          stop.removeEventListener('abort', onStop);
        };
        const release = () => {
          if (!writable()) return;
          done();
          resolve();
        };
        const onStop = () => {
          done();
          reject(stop.reason);
        };
        held.add(release);
        stop.addEventListener('abort', onStop, { once: true });
      }),
  };
  return { renewals: setInterval(renew, everyMs), writes, runsOutAt: () => renewedAt + ttlMs };
}

/**
 * Why a run stopped whose lease is still its own until it runs out: its renewals failed. It keeps the lease to the
 * end rather than release it (`leaseAndDrive`): a write it had sent is answered or cut by then
 * (`WRITE_TIME_LIMIT_MS`, a third of the lease), and released, the lease could pass at once to a worker that would
 * look for that create before its answer, find nothing yet, and create the person again.
 */
export class RenewalsFailed extends Error {
  constructor(failedForMs: number) {
    super(`the lease could not be renewed for ${failedForMs} ms`);
    this.name = 'RenewalsFailed';
  }
}

/**
 * Why a run stopped whose lease row is still its own: its session advisory lock went with its database session (on
 * PostgreSQL), so a run elsewhere may take the lease over at once. As after failed renewals, it lets the lease run
 * out rather than release it: released, the lease passed to a scheduled run as a free one, which looked at once
 * for a create this run still had on its way, found nothing yet and sent it again. Kept, whoever takes it over
 * takes a live lease and waits out the creates its holder sent (`writesLandBy`).
 */
export class LockSessionEnded extends Error {
  constructor() {
    super("the database session holding the lease's advisory lock ended");
    this.name = 'LockSessionEnded';
  }
}

export const leaseLostError = (connectionId: string): RunError => ({
  kind: 'lease_held',
  message: `the lease on connection ${connectionId} was lost or could not be renewed in time, so another worker may hold it: this run stopped without writing more; whoever holds the lease resumes the cycle`,
});
