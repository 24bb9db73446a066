import { z } from 'zod';
import { ok } from '../../core/result.ts';
import type { RecentCall } from '../../providers/limiter.ts';
import { guarded } from '../sqlClient.ts';
import type { DailyRequestStore } from '../store.ts';
import { json, parseInput, parseOne, type SqlContext } from './context.ts';

const dayRefSchema = z.strictObject({ tenantId: z.uuid(), connectionId: z.uuid(), day: z.iso.date() });
const addSchema = dayRefSchema.extend({ requests: z.number().int().min(0) });
const countSchema = z.object({ requests: z.number().int() });
const connectionRefSchema = z.strictObject({ tenantId: z.uuid(), connectionId: z.uuid() });
const recentCallSchema = z.strictObject({
  id: z.string().min(1).max(200),
  at: z.number().int(),
  kind: z.enum(['read', 'write']),
}) satisfies z.ZodType<RecentCall>;
/** More than any window of any provider holds (Reapit's 20 a second, agentOS's 50 a minute). */
const MAX_RECENT_CALLS = 10_000;
const saveCallsSchema = connectionRefSchema.extend({
  calls: z.array(recentCallSchema).max(MAX_RECENT_CALLS),
});
const callsRowSchema = z.object({ calls: z.array(recentCallSchema) });

export function dailyRequestMethods(ctx: SqlContext): DailyRequestStore {
  const { client } = ctx;

  return {
    getDailyRequests: (input) =>
      guarded(async () => {
        const parsed = parseInput(dayRefSchema, input);
        if (!parsed.ok) return parsed;
        const { tenantId, connectionId, day } = parsed.value;
        const { rows } = await client.query(
          `SELECT requests FROM daily_requests WHERE tenant_id = $1 AND connection_id = $2 AND day = $3::date`,
          [tenantId, connectionId, day],
        );
        if (rows.length === 0) return ok(0);
        const count = parseOne(countSchema, rows, 'daily request count');
        return count.ok ? ok(count.value.requests) : count;
      }),

    addDailyRequests: (input) =>
      guarded(
        async () => {
          const parsed = parseInput(addSchema, input);
          if (!parsed.ok) return parsed;
          const { tenantId, connectionId, day, requests } = parsed.value;
          const { rows } = await client.query(
            `WITH earlier AS (
               DELETE FROM daily_requests WHERE connection_id = $2 AND tenant_id = $1 AND day < $3::date)
             INSERT INTO daily_requests AS d (connection_id, tenant_id, day, requests)
             VALUES ($2, $1, $3::date, $4)
             ON CONFLICT (connection_id, day) DO UPDATE SET requests = d.requests + excluded.requests
             WHERE d.tenant_id = excluded.tenant_id
             RETURNING requests`,
            [tenantId, connectionId, day, requests],
          );
          const count = parseOne(countSchema, rows, `connection ${connectionId}'s daily request count`);
          return count.ok ? ok(count.value.requests) : count;
        },
        { not_found: `connection ${input.connectionId} not found` },
      ),

    getRecentCalls: (input) =>
      guarded(async () => {
        const parsed = parseInput(connectionRefSchema, input);
        if (!parsed.ok) return parsed;
        const { tenantId, connectionId } = parsed.value;
        const { rows } = await client.query(
          'SELECT calls FROM recent_calls WHERE connection_id = $2 AND tenant_id = $1',
          [tenantId, connectionId],
        );
        if (rows.length === 0) return ok([]);
        const saved = parseOne(callsRowSchema, rows, `connection ${connectionId}'s recent calls`);
        return saved.ok ? ok(saved.value.calls) : saved;
      }),

    saveRecentCalls: (input) =>
      guarded(
        async () => {
          const parsed = parseInput(saveCallsSchema, input);
          if (!parsed.ok) return parsed;
          const { tenantId, connectionId, calls } = parsed.value;
          await client.query(
            `INSERT INTO recent_calls AS r (connection_id, tenant_id, calls) VALUES ($2, $1, $3::jsonb)
             ON CONFLICT (connection_id) DO UPDATE SET calls = excluded.calls WHERE r.tenant_id = excluded.tenant_id`,
            [tenantId, connectionId, json(calls)],
          );
          return ok(undefined);
        },
        { not_found: `connection ${input.connectionId} not found` },
      ),
  };
}
