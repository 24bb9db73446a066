import { z } from 'zod';
import { parseInterval } from '../core/interval.ts';
import { ok, type Result } from '../core/result.ts';
import { type Connection, tenantInputSchema } from '../persistence/records.ts';
import type { Store, StoreError } from '../persistence/store.ts';

/** An interval as people write it (`15m`, `1h`), read into seconds within what the store accepts. */
export const intervalSchema = z
  .string()
  .transform((text, ctx) => {
    const seconds = parseInterval(text);
    if (seconds.ok) return seconds.value;
    ctx.addIssue({ code: 'custom', message: seconds.error });
    return z.NEVER;
  })
  .pipe(tenantInputSchema.shape.syncIntervalSeconds);

/**
 * A shorter interval takes effect now: a run scheduled further out than one new interval from `now` is
 * brought forward to it. A longer interval applies from the next run on.
 */
export async function pullInNextRun(
  store: Pick<Store, 'setNextRun'>,
  connection: Connection,
  now: Date,
): Promise<Result<void, StoreError>> {
  const due = new Date(now.getTime() + connection.effectiveIntervalSeconds * 1000);
  if (connection.nextRunAt <= due) return ok(undefined);
  return store.setNextRun({ tenantId: connection.tenantId, connectionId: connection.id, nextRunAt: due });
}
