import { createActor, fromPromise, waitFor } from 'xstate';
import { createAuditPhase } from '../actors/auditPhase.ts';
import { err, ok, type Result } from '../core/result.ts';
import type { ConnectionContext, ConnectionInput, ConnectionState } from '../machines/connectionContext.ts';
import { connectionMachine } from '../machines/connectionMachine.ts';
import { toPersisted } from '../machines/persistence.ts';
import type {
  AuditPhaseInput,
  AuditPhaseOutput,
  FetchPhaseInput,
  FetchPhaseOutput,
  PushPhaseInput,
  PushPhaseOutput,
  ReconcilePhaseInput,
  ReconcilePhaseOutput,
} from '../machines/phases.ts';
import { auditBodySchema } from '../persistence/audit.ts';
import type { Connection } from '../persistence/records.ts';
import type { ConnectionRef, Store, StoreError } from '../persistence/store.ts';
import { leaseConnection, type RunError, type RunnerDeps, type RunOutcome } from './connectionRunner.ts';
import { credentialsReplaced } from './credentialsReplaced.ts';
import { failedCycleAudit } from './failedCycleAudit.ts';
import { committedInput, completedEntry, loadMachine } from './restartMachine.ts';

/** A phase actor that never runs: a restored phase state waits, doing nothing, until it is left. */
function parked<TOutput, TInput>() {
  return fromPromise<TOutput, TInput>(
    ({ signal }) =>
      new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
  );
}
const parkedMachine = connectionMachine.provide({
  actors: {
    fetchPhase: parked<FetchPhaseOutput, FetchPhaseInput>(),
    reconcilePhase: parked<ReconcilePhaseOutput, ReconcilePhaseInput>(),
    pushPhase: parked<PushPhaseOutput, PushPhaseInput>(),
    auditPhase: parked<AuditPhaseOutput, AuditPhaseInput>(),
  },
});

/**
 * The scheduler gave up on a run (Inngest ran out of retries, or a step failed for good): a machine in the
 * middle of a cycle (a phase or backoff) takes `sync.abandoned` and stops in `error`, with the failure audit
 * entry every error gets, unless it is in auditing after its audit entry committed: that cycle completed, and the
 * audit phase (store only) ends it idle; or unless its cycle began after `failedAt` (a newer run's): left alone. No other phase runs and no provider is built. Idle and error machines are
 * left as they are. Whatever the machine, its next run is set one interval on, unless it stopped on refused
 * credentials that were replaced since (due at once, for them). Under the connection's lease, like every run.
 *
 * Idempotent: the failure audit entry is keyed by the cycle and the failure instant, so running this again
 * (a retried `onFailure` step) writes it only if an earlier attempt stopped before it did.
 */
export async function abandonRun(
  deps: RunnerDeps,
  ref: ConnectionRef,
  reason: string,
  failedAt?: Date,
): Promise<Result<AbandonOutcome, RunError>> {
  const leased = await leaseConnection(deps, ref);
  if (!leased.ok) return leased;
  const { store, clock, owner } = leased.value.run;
  try {
    const { connection } = leased.value;
    const outcome = await abandon(store, connection, { reason, failedAt }, clock(), owner);
    if (!outcome.ok && outcome.error.kind !== 'snapshot') return outcome;
    // A newer run drives the machine: it sets the next run when its cycle ends.
    if (outcome.ok && outcome.value.superseded) return outcome;
    // Looked at again one interval on, whatever the run left: found due at the next tick, a run failing before it
    // drives the machine (credentials that cannot be decrypted, a snapshot that cannot be read) failed every minute.
    // Unless it stopped on refused credentials that were replaced since: the run that stopped it made it due at once
    // for the new ones, as storing them does (pushed out, it stayed in error up to an interval).
    if (
      outcome.ok &&
      credentialsReplaced({ ...outcome.value.context, state: outcome.value.state }, connection)
    )
      return outcome;
    const next = new Date(clock().getTime() + connection.effectiveIntervalSeconds * 1000);
    const scheduled = await store.setNextRun({ ...ref, nextRunAt: next });
    if (!scheduled.ok) return err({ kind: 'store', message: scheduled.error.message });
    return outcome;
  } finally {
    await store.releaseLease({ ...ref, owner });
  }
}

/**
 * What the abandonment found: `inCycle` when a cycle was in progress (abandoned, or completed by its audit);
 * `superseded` when that cycle began after the run failed, so a newer run drives it and it was left alone.
 */
export type AbandonOutcome = RunOutcome & { inCycle: boolean; superseded: boolean };

async function abandon(
  store: Store,
  connection: Connection,
  failure: { reason: string; failedAt: Date | undefined },
  now: Date,
  owner: string,
): Promise<Result<AbandonOutcome, RunError>> {
  const { reason, failedAt } = failure;
  const ref = { tenantId: connection.tenantId, connectionId: connection.id };
  const storeError = (error: StoreError) => err({ kind: 'store' as const, message: error.message });
  // What the next run would do first: an older machine's cycle is abandoned with its own audit entry.
  const loaded = await loadMachine(store, connection, now, owner);
  if (!loaded.ok) return loaded;
  // Never ran: nothing is in progress to abandon (nor in a machine just restarted, idle).
  if (loaded.value.kind === 'fresh') {
    const context = initialContext(committedInput(connection));
    return ok({
      ...ref,
      provider: connection.provider,
      state: 'idle',
      context,
      inCycle: false,
      superseded: false,
    });
  }
  const { restored } = loaded.value;
  const before = restored.state;
  // Inngest's onFailure comes after the run ended, and the next tick may have started a run that began a cycle of its
  // own meanwhile (one that failed outside a cycle left the machine idle): not the failed run's to abandon. Clocks
  // apart by more than the gap read a cycle of the failed run as newer: left in progress, the next run resumes it.
  const startedAt = restored.context.cycle?.startedAt;
  if (failedAt !== undefined && startedAt !== undefined && Date.parse(startedAt) > failedAt.getTime())
    return ok({
      ...ref,
      provider: connection.provider,
      state: before,
      context: restored.context,
      inCycle: false,
      superseded: true,
    });
  // Stopped in auditing after its audit transaction, before the snapshot saying idle, or waiting in backoff to run
  // the audit again (its re-run failed on a store blip): the cycle completed and its cursors are committed.
  // Abandoned, it stopped in error under a second, failed entry, its window to fetch again; the audit phase run
  // again finds the entry and ends the cycle as it would have.
  const cycleId = restored.context.cycle?.cycleId;
  const auditNext =
    before === 'auditing' || (before === 'backoff' && restored.context.resumePhase === 'auditing');
  const audited = auditNext && cycleId !== undefined ? await completedEntry(store, ref, cycleId) : ok(null);
  if (!audited.ok) return storeError(audited.error);
  const completed = audited.value !== null;
  const machine = completed
    ? parkedMachine.provide({
        actors: { auditPhase: fromPromise(createAuditPhase({ store, clock: () => now })) },
      })
    : parkedMachine;
  const actor = createActor(machine, restored.actorOptions);
  actor.start();
  if (completed) {
    const { resumeAt } = restored.context;
    const due = resumeAt !== null && Date.parse(resumeAt) > now.getTime() ? resumeAt : now.toISOString();
    if (before === 'backoff') actor.send({ type: 'sync.resume', now: due });
    await waitFor(actor, (s) => s.value !== 'auditing');
  } else if (before !== 'idle' && before !== 'error') {
    actor.send({ type: 'sync.abandoned', message: reason, at: now.toISOString() });
  }
  const after = actor.getSnapshot();
  const state = after.value as ConnectionState;
  // Persist before stopping: a stopped actor's snapshot is not restorable.
  const persisted = toPersisted(actor);
  actor.stop();
  if (state !== before) {
    const saved = await store.saveSnapshot({
      ...ref,
      machineVersion: String(persisted.machineVersion),
      snapshot: persisted.snapshot,
      stateValue: state,
      now,
      // Fenced like every run's save: a worker that took the lease over meanwhile is not stopped behind its back.
      leaseOwner: owner,
    });
    if (!saved.ok) return storeError(saved.error);
  }
  if (state === 'error') {
    const audited = await failedCycleAudit(store, after.context, now);
    if (!audited.ok) return storeError(audited.error);
  }
  const inCycle = before !== 'idle';
  return ok({
    ...ref,
    provider: connection.provider,
    state,
    context: after.context,
    inCycle,
    superseded: false,
  });
}

function initialContext(input: ConnectionInput): ConnectionContext {
  return createActor(parkedMachine, { input }).getSnapshot().context;
}

/**
 * The audit entry of a run that failed outside any cycle (before one started, or with a snapshot that
 * cannot be read): no window was fetched and the cursors do not move. Keyed by `runId`, so writing it
 * again is a no-op.
 */
export async function failedRunAudit(
  store: Store,
  params: { connection: Connection; runId: string; message: string; startedAt: Date; now: Date },
): Promise<Result<void, StoreError>> {
  const { connection, runId, message, startedAt, now } = params;
  const audit = auditBodySchema.safeParse({
    cycleId: `run:${runId}`,
    window: { from: connection.cursor, to: now.toISOString() },
    fetched: 0,
    written: { created: 0, updated: 0, unchanged: 0 },
    conflicts: [],
    duplicatesSuppressed: [],
    errors: [{ status: null, message: `run failed outside a cycle: ${message}`, retry: false }],
    startedAt: startedAt.toISOString(),
    finishedAt: now.toISOString(),
    outcome: 'failed',
  });
  if (!audit.success) return err({ kind: 'invalid_input', message: audit.error.message });
  const committed = await store.commitCycle({
    tenantId: connection.tenantId,
    connectionId: connection.id,
    audit: audit.data,
  });
  return committed.ok ? ok(undefined) : committed;
}
