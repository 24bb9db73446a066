import type { FetchMode } from '../actors/context.ts';
import { err, ok, type Result } from '../core/result.ts';
import type { ConnectionContext, ConnectionState } from '../machines/connectionContext.ts';
import type { PersistedConnectionError } from '../machines/persistence.ts';
import { runLeaseOwner } from '../persistence/leaseOwner.ts';
import type { Connection } from '../persistence/records.ts';
import type { ConnectionRef, HeldLease, Store } from '../persistence/store.ts';
import type { ClientCredentialsTokenCache } from '../providers/clientCredentials.ts';
import type { ConnectionLimiter } from '../providers/limiter.ts';
import type { CreateProviderParams } from '../providers/registry.ts';
import { WRITE_TIME_LIMIT_MS } from '../providers/spec.ts';
import { drive, stoppingError } from './driveMachine.ts';
import { keepLease, LockSessionEnded, RenewalsFailed } from './keepLease.ts';
import { providerFor } from './providerFor.ts';
import { loadStoredQuota, type StoredQuota } from './storedQuota.ts';

/** What running connections needs from the process: the store, a clock, ids and this worker's identity. */
export interface RunnerDeps {
  store: Store;
  clock: () => Date;
  /** `host:pid:uuid` of this process (`formatLeaseOwner`); a run leases under its own (`runLeaseOwner`). */
  owner: string;
  newCycleId: () => string;
  /** Told of every transition (the CLI draws progress from it). Must not throw. */
  onTransition?: (update: {
    connectionId: string;
    state: ConnectionState;
    context: ConnectionContext;
  }) => void;
  /** One limiter per connection for the life of the process, so pacing carries over between cycles. */
  limiters?: Map<string, ConnectionLimiter>;
  /** OAuth tokens for the life of the process, so a connection's phases and cycles do not each fetch one. */
  tokenCache?: ClientCredentialsTokenCache;
  /** Per-connection provider overrides (tests shrink waits and windows; `fetch` for fault injection). */
  providerOptions?: (connection: Connection) => Partial<CreateProviderParams>;
  /** Lease length; a holder that died blocks the next run for at most this long. */
  leaseTtlMs?: number;
  /** How the fetch phase lists (`PhaseDeps.fetchMode`); `delta` by default. */
  fetchMode?: FetchMode;
  /** Told after each outbound write of a push settles (the CLI draws a progress bar). Must not throw. */
  onPushProgress?: (progress: { connectionId: string; done: number; total: number }) => void;
  /**
   * The process is stopping. A run in progress then persists nothing more and returns `stopping` (its phase's
   * calls aborted), leaving its machine at its last persisted snapshot: the next run resumes it. Without this,
   * closing the process's limiters and store under a running phase failed it, and the machine stopped in error.
   */
  stopping?: AbortSignal;
  /** Runs in progress, so whoever closes the process can wait for them to return (`stopping` first). */
  activeRuns?: Set<Promise<unknown>>;
}

/** Where a run leaves a connection, read back from its persisted snapshot. */
export interface RunOutcome {
  tenantId: string;
  connectionId: string;
  provider: Connection['provider'];
  state: ConnectionState;
  context: ConnectionContext;
}

export type RunError =
  | { kind: 'lease_held'; message: string }
  /** The caller's `LeaseCheck` refused the machine as the run found it under the lease; nothing ran or was written. */
  | { kind: 'refused'; message: string }
  /** The process is stopping (`RunnerDeps.stopping`); the machine stays where it was last persisted. */
  | { kind: 'stopping'; message: string }
  | { kind: 'store'; message: string }
  /** The stored snapshot cannot be restored and waits for a reset (`unrestorable`: why; `message` names `crm-sync reset`). */
  | { kind: 'snapshot'; message: string; unrestorable: PersistedConnectionError }
  /** The connection's CRM client cannot be built: no such provider, or credentials that cannot be decrypted. */
  | { kind: 'provider'; message: string };

/**
 * `cycle`: run until the machine settles (idle, backoff or error): start a cycle from idle, resume a due backoff,
 * finish a cycle interrupted by a crash. `retry` and `credentials` first lead the machine out of `error`.
 * `phase`: the same start, but run only the phase the machine is then in (all its pages, for fetching) and
 * stop in the next state: the Inngest function runs one phase per step. `retryPhase`: as `phase`, but first
 * out of `error` as `retry` does (the schedule's own retry of a cycle whose attempts ran out). `credentialsPhase`:
 * as `phase`, but first out of `error` as `credentials` does (the schedule's resumption of a machine whose refused
 * credentials were replaced).
 */
export type RunMode = 'cycle' | 'retry' | 'credentials' | 'phase' | 'retryPhase' | 'credentialsPhase';

/**
 * The caller's look at the machine as the run restores it under the lease, before anything is sent or saved:
 * `null` runs it. Callers decide from a reading taken before the lease, and another run may have moved the
 * machine on and released the lease in between: a phase step would then run the next phase (or from idle a new
 * cycle), a Sync now a machine that settled in `error` or in a backoff not yet due.
 */
export type LeaseCheck = (leased: {
  state: ConnectionState;
  context: ConnectionContext;
  /** As read under the lease. */
  connection: Connection;
}) => LeaseStop | null;

export type LeaseStop =
  /** Not where the caller planned from: the run reports where the machine stands (a phase step goes on from there). */
  | { kind: 'moved_on' }
  /** Not to be run as it stands: the run ends in `RunError` `refused` with this reason. */
  | { kind: 'refused'; reason: string };

export interface RunBounds {
  /**
   * In a phase mode, how long the phase may run before it hands over (`StepBudget`): the run then ends `ok`, the
   * machine still in the phase where it was last persisted, and the caller's next step resumes it. None: unbounded.
   */
  stepBudgetMs?: number;
}

/** Three write time limits: a run stops once renewals failed for two thirds of it (`keepLease`). */
const DEFAULT_LEASE_TTL_MS = 3 * WRITE_TIME_LIMIT_MS;

/**
 * The connection, under a lease of this run's own (`runLeaseOwner`): every run, cycle or abandonment, starts here.
 * `run` is `deps` with that owner, for everything the run fences or releases with it.
 */
export async function leaseConnection(
  deps: RunnerDeps,
  ref: ConnectionRef,
): Promise<Result<{ connection: Connection; lease: HeldLease; run: RunnerDeps }, RunError>> {
  const { store, clock } = deps;
  const owner = runLeaseOwner(deps.owner);
  const ttlMs = deps.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const lease = await store.acquireLease({ ...ref, owner, ttlMs, now: clock() });
  if (!lease.ok) {
    return err({
      kind: lease.error.kind === 'lease_held' ? 'lease_held' : 'store',
      message: lease.error.message,
    });
  }
  // Read under the lease: a run that held it just before may have moved the next run (and a first cycle the cursor).
  const connection = await store.getConnection(ref);
  if (!connection.ok) {
    await store.releaseLease({ ...ref, owner });
    return err({ kind: 'store', message: connection.error.message });
  }
  return ok({ connection: connection.value, lease: lease.value, run: { ...deps, owner } });
}

/**
 * Runs one connection's machine under its lease: restores the persisted snapshot (a phase interrupted by a
 * crash re-runs), sends the command the mode implies, persists the snapshot after every transition, writes an
 * audit entry when the machine enters `error`, and schedules the next run.
 */
export function runConnection(
  deps: RunnerDeps,
  ref: ConnectionRef,
  mode: RunMode = 'cycle',
  check?: LeaseCheck,
  bounds: RunBounds = {},
): Promise<Result<RunOutcome, RunError>> {
  const run = leaseAndDrive(deps, ref, mode, check, bounds);
  const active = deps.activeRuns;
  if (active !== undefined) {
    active.add(run);
    // Both callbacks: `finally` would hand a rejection on to a promise nobody awaits (an unhandled rejection
    // that ends the process), though the caller of `run` handles it.
    const forget = () => active.delete(run);
    run.then(forget, forget);
  }
  return run;
}

/**
 * A run that stopped because the CRM refused its credentials (`auth_failed`) read them before it leased on; if the
 * operator replaced them meanwhile, the refusal was of the earlier ones, and the new ones, stamped before the
 * failure, would not resume the machine (`credentialsReplaced`): it stayed in `error` until someone ran `retry`.
 * They are stamped again now, so its next run, made due at once, tries them (best effort: a store failure here
 * leaves it to `retry`, as before).
 */
async function resumeOnCredentialsSetMeanwhile(
  deps: RunnerDeps,
  read: Connection,
  outcome: RunOutcome,
): Promise<void> {
  if (outcome.state !== 'error' || outcome.context.errorReason !== 'auth_failed') return;
  const ref = { tenantId: read.tenantId, connectionId: read.id };
  const now = await deps.store.getConnection(ref);
  const setAt = now.ok ? now.value.credentialsSetAt : null;
  if (setAt === null || setAt.getTime() === read.credentialsSetAt?.getTime()) return;
  await deps.store.restampCredentials({ ...ref, setAt });
}

async function leaseAndDrive(
  deps: RunnerDeps,
  ref: ConnectionRef,
  mode: RunMode,
  check: LeaseCheck | undefined,
  bounds: RunBounds,
): Promise<Result<RunOutcome, RunError>> {
  if (deps.stopping?.aborted) return err(stoppingError());
  const ttlMs = deps.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const leased = await leaseConnection(deps, ref);
  if (!leased.ok) return leased;
  const { connection, lease, run } = leased.value;
  const { store, owner } = run;
  const lost = new AbortController();
  const kept = keepLease(run, ref, { ttlMs, renewedAt: lease.heartbeatAt }, lost);
  // Its session lock gone, the lease may be taken over at once by a run elsewhere: this one stops first.
  const onSessionLost = () => lost.abort(new LockSessionEnded());
  lease.sessionLost?.addEventListener('abort', onSessionLost, { once: true });
  let quota: StoredQuota | null = null;
  // The day's calls counted in the store as the run goes, as often as the lease is renewed, not only as each phase
  // ends: a process killed in an hour-long push left every call of it uncounted, and the next believed the quota
  // had that much left (Reapit's 250,000 a day). `save` never fails; one runs at a time.
  const saving = setInterval(() => void quota?.save(), ttlMs / 3);
  let keepToExpiry = false;
  try {
    if (lease.sessionLost?.aborted) lost.abort(new LockSessionEnded());
    const built = await providerFor(run, connection, kept.writes);
    if (!built.ok) return built;
    const loaded = await loadStoredQuota(store, ref, built.value.limiter, run.clock());
    if (!loaded.ok) return loaded;
    quota = loaded.value;
    const outcome = await drive(run, connection, built.value.provider, mode, lost, {
      check,
      quota,
      writesLandBy: lease.writesLandBy ?? null,
      ...bounds,
    });
    // Only a run stopped by failed renewals or its lock session's end may still have a write in flight; a renewal
    // failing later, once the run has ended, does not keep the lease.
    const { reason } = lost.signal;
    keepToExpiry = !outcome.ok && (reason instanceof RenewalsFailed || reason instanceof LockSessionEnded);
    if (outcome.ok) await resumeOnCredentialsSetMeanwhile(run, connection, outcome.value);
    return outcome;
  } finally {
    // Before the lease goes, so the next run of the connection, in any process, counts from what this one spent.
    clearInterval(saving);
    await quota?.save();
    lease.sessionLost?.removeEventListener('abort', onSessionLost);
    clearInterval(kept.renewals);
    const release = () => store.releaseLease({ ...ref, owner });
    if (!keepToExpiry) await release();
    // Stopped by failed renewals or its lock session's end, the run lets its lease run out: a write it sent may
    // still be answered till then.
    // Then it gives back what this process still holds of it (on PostgreSQL, the session lock, which would otherwise
    // leave every later lease of the connection elsewhere without one); nothing once another run has taken it.
    else {
      const leftMs = Math.max(0, kept.runsOutAt() - run.clock().getTime());
      setTimeout(() => void release().catch(() => undefined), leftMs).unref();
    }
  }
}
