import { z } from 'zod';
import { err, ok } from '../../core/result.ts';
import { guarded } from '../sqlClient.ts';
import type { LeaseFence } from '../store.ts';
import { parseInput, type SqlContext } from './context.ts';

const fenceSchema = z.strictObject({ tenantId: z.uuid(), connectionId: z.uuid(), owner: z.string().min(1) });

export function leaseFenceMethods(ctx: SqlContext): LeaseFence {
  const { client } = ctx;

  return {
    holdLease: (input) =>
      guarded(async () => {
        const parsed = parseInput(fenceSchema, input);
        if (!parsed.ok) return parsed;
        const { tenantId, connectionId, owner } = parsed.value;
        // The owner, not the expiry: a lease run out that no one has taken is still this run's to write under, and
        // a takeover rewrites the owner, which the row lock holds off until the commit. NO KEY: a row referring to
        // the connection (a cycle note, a link) takes a key-share lock on it, which FOR UPDATE blocked: a run taking
        // over marking a write sent, and the old holder acknowledging that write (its ledger row locked, then its
        // note), waited on each other until PostgreSQL broke the deadlock.
        const { rows } = await client.query(
          'SELECT 1 FROM connections WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 FOR NO KEY UPDATE',
          [tenantId, connectionId, owner],
        );
        return rows.length === 1
          ? ok(undefined)
          : err({
              kind: 'lease_lost',
              message: `lease on connection ${connectionId} is no longer held by ${owner}`,
            });
      }),
  };
}
