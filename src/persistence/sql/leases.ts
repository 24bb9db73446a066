import { z } from 'zod';
import { err, ok } from '../../core/result.ts';
import { leaseRequestSchema, leaseSchema, snapshotRecordSchema } from '../records.ts';
import { guarded } from '../sqlClient.ts';
import type { LeaseStore, SnapshotStore } from '../store.ts';
import { json, parseInput, parseOne, type SqlContext } from './context.ts';

const leaseRowSchema = z.object({
  owner: z.string().nullable(),
  expiresAt: z.coerce.date().nullable(),
  sessionLocked: z.boolean(),
});

/** A lease as claimed, with the instant a holder found gone may still have writes landing till. */
const heldLeaseRowSchema = leaseSchema.extend({ writesLandBy: z.coerce.date().nullable() });

const lockKey = (connectionId: string) => `crm-sync:lease:${connectionId}`;
/** Claims of one `acquireLease`: another after losing the race to a release, not a loop under contention. */
const CLAIM_ATTEMPTS = 2;

/** Per store (its `heldLeases`, shared with its transactions): connection id → the end of its queue of turns. */
const leaseTurns = new WeakMap<Map<string, string>, Map<string, Promise<void>>>();

/**
 * Run `fn` once every acquire and release of the connection's lease already asked of this store has finished.
 * Whether this process holds a connection's session lock is read from `heldLeases` and then acted on across
 * awaits; a release of one run interleaved with another run's acquire in the same process (Sync now beside the
 * scheduler) read the lock as held, and the release then unlocked it under the new lease, which other processes
 * took over as one whose holder was gone. One at a time, `heldLeases` names an owner exactly while the lock is
 * held for it (unless its session ended, which `lost` tells).
 */
function inTurn<T>(store: Map<string, string>, connectionId: string, fn: () => Promise<T>): Promise<T> {
  let queues = leaseTurns.get(store);
  if (queues === undefined) {
    queues = new Map();
    leaseTurns.set(store, queues);
  }
  const turns = queues;
  const result = (turns.get(connectionId) ?? Promise.resolve()).then(fn);
  const done = result.then(
    () => undefined,
    () => undefined,
  );
  turns.set(connectionId, done);
  void done.then(() => {
    if (turns.get(connectionId) === done) turns.delete(connectionId);
  });
  return result;
}

export function leaseMethods(ctx: SqlContext): LeaseStore & SnapshotStore {
  const { client } = ctx;
  // Inside a transaction the lock session would outlive a rollback; leases there use the row alone.
  const locks = ctx.inTransaction ? null : client.sessionLocks;

  /** Write our lease over exactly the state we read (compare-and-set), or report who beat us to it. */
  const claim = async (
    request: z.output<typeof leaseRequestSchema>,
    seen: z.output<typeof leaseRowSchema>,
    sessionLocked: boolean,
    takenOverLive: boolean,
  ) => {
    const expiresAt = new Date(request.now.getTime() + request.ttlMs);
    // Taken over live, the holder's writes may land till its lease would have run out (`writes_land_by`).
    const { rows } = await client.query(
      `UPDATE connections
         SET lease_owner = $3, lease_expires_at = $4, lease_heartbeat_at = $5, lease_session_locked = $6,
             writes_land_by = GREATEST(writes_land_by, $9::timestamptz)
       WHERE tenant_id = $1 AND id = $2
         AND lease_owner IS NOT DISTINCT FROM $7 AND lease_expires_at IS NOT DISTINCT FROM $8
       RETURNING lease_owner AS owner, lease_expires_at AS "expiresAt", lease_heartbeat_at AS "heartbeatAt",
         writes_land_by AS "writesLandBy"`,
      [
        request.tenantId,
        request.connectionId,
        request.owner,
        expiresAt,
        request.now,
        sessionLocked,
        seen.owner,
        seen.expiresAt,
        takenOverLive ? seen.expiresAt : null,
      ],
    );
    return rows;
  };

  const readLease = async (request: { tenantId: string; connectionId: string }) => {
    const { rows } = await client.query(
      `SELECT lease_owner AS owner, lease_expires_at AS "expiresAt", lease_session_locked AS "sessionLocked"
       FROM connections WHERE tenant_id = $1 AND id = $2`,
      [request.tenantId, request.connectionId],
    );
    return parseOne(leaseRowSchema, rows, `connection ${request.connectionId}`);
  };

  /** One compare-and-set attempt at the lease; `free_again` when it lost the race to a release and may try again. */
  const acquireOnce = async (
    request: z.output<typeof leaseRequestSchema>,
    mayRetry: boolean,
  ): Promise<Awaited<ReturnType<LeaseStore['acquireLease']>> | 'free_again'> => {
    const seen = await readLease(request);
    if (!seen.ok) return seen;
    const { owner, expiresAt, sessionLocked } = seen.value;
    const key = lockKey(request.connectionId);
    // A live lease is held even by the owner asking again: an owner is a process, and two runs of one
    // connection in one process (Sync now beside the scheduler) must not run the same cycle side by side.
    const free = owner === null || expiresAt === null || expiresAt <= request.now;

    // Postgres advisory locks are re-entrant per session: when this process already holds the
    // connection's lock (for any local owner) it is ours to carry, not to take again; unless its session
    // ended since, and the lock with it. Read and acted on in the connection's turn (`inTurn`): no release
    // of this process unlocks it meanwhile.
    const lockedHere =
      locks !== null && ctx.heldLeases.has(request.connectionId) && locks.lost(key)?.aborted === false;
    let locked = lockedHere;
    if (!free) {
      // A live lease may still be taken when its holder is provably gone: a holder in another
      // process whose session lock went with its connection, or a dead pid on this host. A session lock
      // still held outranks the pid: another container may share this host name, not its pids.
      const sessionHeld = locks !== null && sessionLocked && !lockedHere;
      const sessionGone = sessionHeld && (await locks.tryLock(key));
      if (sessionGone) locked = true;
      else if (sessionHeld || !ctx.isOwnerGone(owner)) {
        return err({
          kind: 'lease_held',
          message: `connection ${request.connectionId} is leased by ${owner} until ${expiresAt.toISOString()}`,
          owner,
          expiresAt,
        });
      }
    }
    if (locks !== null && !locked) locked = await locks.tryLock(key);
    const rows = await claim(request, seen.value, locked, !free);
    if (rows.length === 0) {
      if (locked && !lockedHere) await locks?.unlock(key);
      const now = await readLease(request);
      if (!now.ok) return now;
      const freed =
        now.value.owner === null || now.value.expiresAt === null || now.value.expiresAt <= request.now;
      if (freed && mayRetry) return 'free_again';
      return err({
        kind: 'lease_held',
        message: `connection ${request.connectionId} was leased by ${now.value.owner ?? 'another worker'} meanwhile`,
        owner: now.value.owner ?? '',
        expiresAt: now.value.expiresAt ?? request.now,
      });
    }
    ctx.heldLeases.set(request.connectionId, request.owner);
    const lease = parseOne(heldLeaseRowSchema, rows, 'lease');
    if (!lease.ok) return lease;
    const { writesLandBy, ...held } = lease.value;
    const sessionLost = locked ? locks?.lost(key) : null;
    return ok({
      ...held,
      ...(sessionLost == null ? {} : { sessionLost }),
      ...(writesLandBy === null ? {} : { writesLandBy }),
    });
  };

  return {
    acquireLease: (input) =>
      guarded(async () => {
        const parsed = parseInput(leaseRequestSchema, input);
        if (!parsed.ok) return parsed;
        // A claim beaten only by the holder releasing (or a lease running out) between our read and our write
        // finds the lease free: taken then, not reported held by "another worker" that is nobody.
        return inTurn(ctx.heldLeases, parsed.value.connectionId, async () => {
          for (let attempt = 1; ; attempt++) {
            const acquired = await acquireOnce(parsed.value, attempt < CLAIM_ATTEMPTS);
            if (acquired !== 'free_again') return acquired;
          }
        });
      }),

    heartbeatLease: (input) =>
      guarded(async () => {
        const parsed = parseInput(leaseRequestSchema, input);
        if (!parsed.ok) return parsed;
        const request = parsed.value;
        const { rows } = await client.query(
          // Never moved back: a renewal answered late, after a later one, would otherwise shorten the lease below
          // what its holder counts on, and another worker could take it while the holder still writes.
          `UPDATE connections
             SET lease_expires_at = GREATEST(lease_expires_at, $4), lease_heartbeat_at = GREATEST(lease_heartbeat_at, $5)
           WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3
           RETURNING lease_owner AS owner, lease_expires_at AS "expiresAt", lease_heartbeat_at AS "heartbeatAt"`,
          [
            request.tenantId,
            request.connectionId,
            request.owner,
            new Date(request.now.getTime() + request.ttlMs),
            request.now,
          ],
        );
        if (rows.length === 0) {
          return err({
            kind: 'lease_lost',
            message: `lease on connection ${request.connectionId} is no longer held by ${request.owner}`,
          });
        }
        return parseOne(leaseSchema, rows, 'lease');
      }),

    releaseLease: ({ tenantId, connectionId, owner }) =>
      guarded(() =>
        inTurn(ctx.heldLeases, connectionId, async () => {
          await client.query(
            `UPDATE connections
               SET lease_owner = NULL, lease_expires_at = NULL, lease_heartbeat_at = NULL, lease_session_locked = false
             WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3`,
            [tenantId, connectionId, owner],
          );
          // The lease and its lock go together: no acquire of this process takes the lease, now free, before the
          // unlock (it waits its turn), so the lock unlocked here is never one a new lease counts on.
          if (ctx.heldLeases.get(connectionId) === owner) {
            ctx.heldLeases.delete(connectionId);
            await locks?.unlock(lockKey(connectionId));
          }
          return ok(undefined);
        }),
      ),

    saveSnapshot: (ref) =>
      guarded(
        async () => {
          const owner = ref.leaseOwner ?? null;
          // FOR SHARE: a claim of the lease written and not yet committed is waited for and its lease read (on a
          // shared PostgreSQL; read as committed, a takeover under way was not seen and the save went through), and
          // a claim comes after this save's commit, which the new holder then loads.
          const { rows } = await client.query(
            `INSERT INTO machine_snapshots (connection_id, tenant_id, machine_version, snapshot, state_value, updated_at)
             SELECT $2, $1, $3, $4::jsonb, $5::jsonb, $6
             WHERE $7::text IS NULL OR EXISTS (
               SELECT 1 FROM connections WHERE tenant_id = $1 AND id = $2 AND lease_owner = $7::text FOR SHARE)
             ON CONFLICT (connection_id) DO UPDATE SET machine_version = excluded.machine_version,
               snapshot = excluded.snapshot, state_value = excluded.state_value, updated_at = excluded.updated_at
             WHERE machine_snapshots.tenant_id = excluded.tenant_id
             RETURNING 1 AS saved`,
            [
              ref.tenantId,
              ref.connectionId,
              ref.machineVersion,
              json(ref.snapshot),
              json(ref.stateValue),
              ref.now,
              owner,
            ],
          );
          if (owner !== null && rows.length === 0) {
            return err({
              kind: 'lease_lost',
              message: `lease on connection ${ref.connectionId} is no longer held by ${owner}: snapshot not saved`,
            });
          }
          return ok(undefined);
        },
        { not_found: `connection ${ref.connectionId} not found` },
      ),

    loadSnapshot: (ref) =>
      guarded(async () => {
        const { rows } = await client.query(
          `SELECT machine_version AS "machineVersion", snapshot, state_value AS "stateValue", updated_at AS "updatedAt"
           FROM machine_snapshots WHERE tenant_id = $1 AND connection_id = $2`,
          [ref.tenantId, ref.connectionId],
        );
        if (rows.length === 0) return ok(null);
        return parseOne(snapshotRecordSchema, rows, 'machine snapshot');
      }),
  };
}
