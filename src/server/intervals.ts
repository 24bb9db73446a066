import { z } from 'zod';
import { parseInterval } from '../core/interval.ts';
import { tenantInputSchema } from '../persistence/records.ts';

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
