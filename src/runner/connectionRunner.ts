import { createActor, waitFor } from 'xstate';
import type { FetchMode } from '../actors/context.ts';
import { createConnectionActors, type PhaseGate } from '../actors/createConnectionActors.ts';
import { err, ok, type Result } from '../core/result.ts';
import type { ConnectionCommand, ConnectionContext, ConnectionState } from '../machines/connectionContext.ts';
import { connectionMachine } from '../machines/connectionMachine.ts';
import { toPersisted } from '../machines/persistence.ts';
import type { Phase } from '../machines/phases.ts';
import type { Connection } from '../persistence/records.ts';
import type { ConnectionRef, HeldLease, Store } from '../persistence/store.ts';
import type { ClientCredentialsTokenCache } from '../providers/clientCredentials.ts';
import type { ConnectionLimiter } from '../providers/limiter.ts';
import type { CrmProvider } from '../providers/provider.ts';
import type { CreateProviderParams } from '../providers/registry.ts';
import { failedCycleAudit } from './failedCycleAudit.ts';
import { keepLease, leaseLostError } from './keepLease.ts';
import { PersistQueue } from './persistQueue.ts';
import { providerFor } from './providerFor.ts';
import { committedInput, loadMachine } from './restartMachine.ts';
import { loadStoredQuota, type StoredQuota } from './storedQuota.ts';

/** What running connections needs from the process: the store, a clock, ids and this worker's identity. */
export interface RunnerDeps {
  store: Store;
  clock: () => Date;
  /** `host:pid:uuid` of this process (`formatLeaseOwner`). */
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
  | { kind: 'snapshot'; message: string }
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

const settledStates: ReadonlySet<ConnectionState> = new Set(['idle', 'backoff', 'error']);
const DEFAULT_LEASE_TTL_MS = 60_000;

/** The connection, under this owner's lease: every run, cycle or abandonment, starts here. */
export async function leaseConnection(
  deps: RunnerDeps,
  ref: ConnectionRef,
): Promise<Result<{ connection: Connection; lease: HeldLease }, RunError>> {
  const { store, clock, owner } = deps;
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
  return ok({ connection: connection.value, lease: lease.value });
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
): Promise<Result<RunOutcome, RunError>> {
  const run = leaseAndDrive(deps, ref, mode, check);
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

const stoppingError = (): RunError => ({
  kind: 'stopping',
  message: 'the process is stopping; the run resumes from its last persisted state',
});

async function leaseAndDrive(
  deps: RunnerDeps,
  ref: ConnectionRef,
  mode: RunMode,
  check: LeaseCheck | undefined,
): Promise<Result<RunOutcome, RunError>> {
  const { store, owner } = deps;
  if (deps.stopping?.aborted) return err(stoppingError());
  const ttlMs = deps.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const leased = await leaseConnection(deps, ref);
  if (!leased.ok) return leased;
  const { connection, lease } = leased.value;
  const lost = new AbortController();
  const heartbeat = keepLease(deps, ref, ttlMs, lost);
  // Its session lock gone, the lease may be taken over at once by a run elsewhere: this one stops first.
  const onSessionLost = () => lost.abort();
  lease.sessionLost?.addEventListener('abort', onSessionLost, { once: true });
  let quota: StoredQuota | null = null;
  try {
    if (lease.sessionLost?.aborted) lost.abort();
    const built = await providerFor(deps, connection);
    if (!built.ok) return built;
    const loaded = await loadStoredQuota(store, ref, built.value.limiter, deps.clock());
    if (!loaded.ok) return loaded;
    quota = loaded.value;
    return await drive(deps, connection, built.value.provider, mode, lost, check, quota);
  } finally {
    // Before the lease goes, so the next run of the connection, in any process, counts from what this one spent.
    await quota?.save();
    lease.sessionLost?.removeEventListener('abort', onSessionLost);
    clearInterval(heartbeat);
    await store.releaseLease({ ...ref, owner });
  }
}

async function drive(
  deps: RunnerDeps,
  connection: Connection,
  provider: CrmProvider,
  mode: RunMode,
  lease: AbortController,
  check: LeaseCheck | undefined,
  quota: StoredQuota,
): Promise<Result<RunOutcome, RunError>> {
  const { store, clock } = deps;
  const leaseLost = lease.signal;
  const onLeaseLost = () => lease.abort();
  // A snapshot or failure audit the store did not take (down, failing over): the run stops where the machine was
  // last persisted and reports a store failure, which callers retry, rather than going on unrecorded.
  const persistFailed = new AbortController();
  let persistFailure: string | null = null;
  const onPersistFailed = (message: string) => {
    persistFailure ??= message;
    persistFailed.abort();
  };
  const ref = { tenantId: connection.tenantId, connectionId: connection.id };
  const loaded = await loadMachine(store, connection, clock(), deps.owner);
  if (!loaded.ok) return loaded;
  const restored = loaded.value.kind === 'restored' ? loaded.value.restored : null;

  // In `phase` mode only the phase the machine is in when the run starts may run; the next one waits.
  const onePhase = mode === 'phase' || mode === 'retryPhase' || mode === 'credentialsPhase';
  let firstPhase: Phase | null = null;
  const gate: PhaseGate = (phase) => !onePhase || firstPhase === null || firstPhase === phase;
  const machine = connectionMachine.provide({
    actors: createConnectionActors(
      {
        store,
        provider,
        clock,
        ...(deps.fetchMode === undefined ? {} : { fetchMode: deps.fetchMode }),
        ...(deps.onPushProgress === undefined
          ? {}
          : { onPushProgress: (p) => deps.onPushProgress?.({ connectionId: connection.id, ...p }) }),
      },
      gate,
    ),
  });
  const actor = restored
    ? createActor(machine, restored.actorOptions)
    : createActor(machine, { input: committedInput(connection) });

  const restoredAt = actor.getSnapshot();
  const standing: RunOutcome = {
    tenantId: connection.tenantId,
    connectionId: connection.id,
    provider: connection.provider,
    state: restoredAt.value,
    context: restoredAt.context,
  };
  const stop = check?.({ state: restoredAt.value, context: restoredAt.context, connection });
  if (stop?.kind === 'refused') return err({ kind: 'refused', message: stop.reason });
  // Another run moved the machine on: report where it stands, run nothing, leave its schedule as that run set it.
  if (stop?.kind === 'moved_on') return ok(standing);
  const command = commandFor(restoredAt.value, mode, clock().toISOString(), deps.newCycleId);
  // Settled where the command cannot move it (error in `cycle` mode, a backoff not yet due): nothing to run, and
  // re-saving the snapshot and scheduling the next run from now would only push the schedule's own next look on.
  if (settledStates.has(restoredAt.value) && (command === null || !restoredAt.can(command))) {
    return ok(standing);
  }

  const writes = new PersistQueue();
  let previous: ConnectionState = restored?.state ?? 'idle';
  if (restored && restored.state !== 'idle' && restored.state !== 'backoff' && restored.state !== 'error') {
    firstPhase = restored.state as Phase;
  }
  // Each ends the run where it was last persisted: the process stopping, the lease lost, the store failing.
  const halt = anyAborted([leaseLost, persistFailed.signal, ...(deps.stopping ? [deps.stopping] : [])]);
  const subscription = actor.subscribe((snapshot) => {
    // What a phase does once the process is stopping (its calls aborted, its limiter closed) is not the CRM's
    // or the store's answer: the machine stays where it was last persisted.
    if (halt.signal.aborted) return;
    const state = snapshot.value as ConnectionState;
    deps.onTransition?.({ connectionId: connection.id, state, context: snapshot.context });
    const persisted = toPersisted(actor);
    writes.push(async () => {
      // Written only under our lease: once it is lost the snapshot is the new holder's to write.
      const saved = await store.saveSnapshot({
        ...ref,
        machineVersion: String(persisted.machineVersion),
        snapshot: persisted.snapshot,
        stateValue: state,
        now: clock(),
        leaseOwner: deps.owner,
      });
      if (!saved.ok && saved.error.kind === 'lease_lost') onLeaseLost();
      else if (!saved.ok) onPersistFailed(`saving the machine snapshot failed: ${saved.error.message}`);
      // A transition ends a phase: its calls join the day's count.
      await quota.save();
    });
    if (state === 'error' && previous !== 'error') {
      const context = snapshot.context;
      writes.push(async () => {
        if (leaseLost.aborted) return;
        const audited = await failedCycleAudit(store, context, clock());
        if (!audited.ok) onPersistFailed(`writing the failure audit failed: ${audited.error.message}`);
      });
    }
    previous = state;
  });

  actor.start();
  if (command !== null) actor.send(command);
  const entered = actor.getSnapshot().value as ConnectionState;
  if (firstPhase === null && !settledStates.has(entered)) firstPhase = entered as Phase;

  // Stopped in the same turn the lease is found lost, before a pending CRM answer lets the phase send more.
  const stopOnLoss = () => actor.stop();
  leaseLost.addEventListener('abort', stopOnLoss, { once: true });
  persistFailed.signal.addEventListener('abort', stopOnLoss, { once: true });
  let stopped = false;
  try {
    await waitFor(
      actor,
      (s) => {
        const state = s.value as ConnectionState;
        return settledStates.has(state) || (onePhase && state !== firstPhase);
      },
      { signal: halt.signal },
    );
  } catch (error) {
    if (!halt.signal.aborted) throw error;
    stopped = true;
  } finally {
    subscription.unsubscribe();
    halt.release();
    leaseLost.removeEventListener('abort', stopOnLoss);
    persistFailed.signal.removeEventListener('abort', stopOnLoss);
  }
  const unpersisted = (): RunError => ({
    kind: 'store',
    message: `${persistFailure}; the run resumes from the last persisted state`,
  });
  if (stopped) {
    // The transitions before the stop are real; stopping the actor aborts the phase it is in.
    await writes.flush();
    actor.stop();
    if (leaseLost.aborted) return err(leaseLostError(connection.id));
    return err(persistFailure === null ? stoppingError() : unpersisted());
  }
  const final = actor.getSnapshot();
  // Persist the final snapshot before stopping: a stopped actor's snapshot is not restorable.
  await writes.flush();
  actor.stop();
  // The last save found the lease gone: where the machine settled is not ours to report or schedule.
  if (leaseLost.aborted) return err(leaseLostError(connection.id));
  // Nor is it where the machine stands if the store did not take it.
  if (persistFailure !== null) return err(unpersisted());
  const outcome: RunOutcome = {
    tenantId: connection.tenantId,
    connectionId: connection.id,
    provider: connection.provider,
    state: final.value as ConnectionState,
    context: final.context,
  };
  // The interval as it is now: one changed while the run went (`tenant set-interval`) counts from this run.
  const current = await store.getConnection(ref);
  if (!current.ok) return err({ kind: 'store', message: current.error.message });
  const next = nextRunAt(outcome, current.value, clock());
  const scheduled = await store.setNextRun({ ...ref, nextRunAt: next });
  if (!scheduled.ok) return err({ kind: 'store', message: scheduled.error.message });
  return ok(outcome);
}

/**
 * A signal that aborts when any of `signals` does, until `release`. Not `AbortSignal.any`: on Node 20 every
 * signal composed from the process's `stopping` left an entry in it that nothing removed while the process ran,
 * one per run.
 */
function anyAborted(signals: AbortSignal[]): { signal: AbortSignal; release: () => void } {
  const any = new AbortController();
  const abort = () => any.abort();
  for (const signal of signals) {
    if (signal.aborted) any.abort();
    else signal.addEventListener('abort', abort, { once: true });
  }
  return {
    signal: any.signal,
    release: () => {
      for (const signal of signals) signal.removeEventListener('abort', abort);
    },
  };
}

/** What the mode sends the machine in `state` to move it on; `null` when nothing is sent (a phase resumes as restored). */
function commandFor(
  state: ConnectionState,
  mode: RunMode,
  now: string,
  newCycleId: () => string,
): ConnectionCommand | null {
  if (state === 'idle') return { type: 'sync.requested', now, cycleId: newCycleId(), windowTo: now };
  if (state === 'backoff') return { type: 'sync.resume', now };
  if (state === 'error' && (mode === 'retry' || mode === 'retryPhase')) return { type: 'retry.requested' };
  if (state === 'error' && (mode === 'credentials' || mode === 'credentialsPhase'))
    return { type: 'credentials.updated' };
  return null;
}

/** Idle and error wait one interval; backoff comes back when it may resume; a cycle in progress at once. */
function nextRunAt(outcome: RunOutcome, connection: Connection, now: Date): Date {
  if (outcome.state === 'backoff' && outcome.context.resumeAt !== null)
    return new Date(outcome.context.resumeAt);
  if (outcome.state === 'idle' || outcome.state === 'error') {
    return new Date(now.getTime() + connection.effectiveIntervalSeconds * 1000);
  }
  return now;
}
