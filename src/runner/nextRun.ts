import { ok, type Result } from '../core/result.ts';
import type { Connection } from '../persistence/records.ts';
import type { Store, StoreError } from '../persistence/store.ts';
import type { RunOutcome } from './connectionRunner.ts';

/**
 * A shorter interval takes effect now: a run scheduled further out than one new interval from `now` is
 * brought forward to it. A longer interval applies from the next run on. Returns whether the run moved.
 */
export async function pullInNextRun(
  store: Pick<Store, 'setNextRun'>,
  connection: Pick<Connection, 'id' | 'tenantId' | 'nextRunAt'>,
  intervalSeconds: number,
  now: Date,
): Promise<Result<boolean, StoreError>> {
  const due = new Date(now.getTime() + intervalSeconds * 1000);
  if (connection.nextRunAt <= due) return ok(false);
  const moved = await store.setNextRun({
    tenantId: connection.tenantId,
    connectionId: connection.id,
    nextRunAt: due,
  });
  return moved.ok ? ok(true) : moved;
}

/** Idle and error wait one interval; backoff comes back when it may resume; a cycle in progress at once. */
export function nextRunAt(outcome: RunOutcome, connection: Connection, now: Date): Date {
  if (outcome.state === 'backoff' && outcome.context.resumeAt !== null)
    return new Date(outcome.context.resumeAt);
  if (outcome.state === 'idle' || outcome.state === 'error') {
    return new Date(now.getTime() + connection.effectiveIntervalSeconds * 1000);
  }
  return now;
}
