import { NonRetriableError, RetryAfterError } from 'inngest';
import type {
  ConnectionContext,
  ConnectionState,
  ErrorReason,
  LastAudit,
  LastError,
} from '../machines/connectionContext.ts';
import type { Phase } from '../machines/phases.ts';
import type { ConnectionRef, Store } from '../persistence/store.ts';
import { abandonRun, failedRunAudit } from '../runner/abandonRun.ts';
import { type RunError, type RunnerDeps, runConnection } from '../runner/connectionRunner.ts';
import { credentialsReplaced } from '../runner/credentialsReplaced.ts';
import { readStoredMachine, restartsOnItsOwn, unrestorableWords } from '../runner/restartMachine.ts';
import { isDueInSlot, SLOT_MS } from './dueSelection.ts';

/**
 * One run of one connection, as durable steps: the code path of the Inngest per-connection function and of
 * the embedded worker. Each step restores the machine from its persisted snapshot, does one phase and
 * returns where the machine stands as plain JSON, so a step re-run after a crash or a lost checkpoint
 * resumes from the snapshot instead of from memory. See docs/scheduling.md.
 */

/** Why a run stops before its cycle ends; `null` while it goes on. */
export type StopReason =
  /** The connection was removed after it was selected. */
  | 'not_found'
  | 'disabled'
  /** Idle and its next run is still ahead (another run already did this slot's cycle). */
  | 'not_due'
  /**
   * Already stopped in `error` when the run began, for a reason retrying cannot mend (`auth_failed` with no
   * credentials stored since; `fatal`: an operator's `retry`), or out of attempts and not yet due again.
   */
  | 'in_error'
  /** Another live worker holds the lease and drives the machine; it was still held on the last attempt. */
  | 'lease_held'
  /**
   * The store was still out of reach on the last attempt: the machine stays where it was last persisted and
   * the next tick resumes it. Only when the steps ask for it (`SyncSteps.interruptedOnFinalAttempt`).
   */
  | 'store_unavailable'
  /** The process was stopping (a deploy's SIGTERM) on the last attempt: as `store_unavailable`. */
  | 'process_stopping'
  /** The run took `MAX_PHASE_STEPS` steps; the next tick goes on from the snapshot. */
  | 'step_limit';

/** Where a connection's machine stands: what every step returns, plain JSON. */
export interface ConnectionProgress {
  state: ConnectionState;
  /** The cycle in progress; `null` in idle. */
  cycleId: string | null;
  attempt: number;
  /** Set exactly in backoff: when the machine may resume. */
  resumeAt: string | null;
  /** The phase backoff or error returns to. */
  resumePhase: Phase | null;
  errorReason: ErrorReason | null;
  lastError: LastError | null;
  lastAudit: LastAudit | null;
  stopped: StopReason | null;
}

/** The step tools a run needs: Inngest's `step`, or the embedded worker's in-process version. */
export interface SyncSteps {
  /** Runs `fn` as the step `id` once; Inngest memoizes its result and re-runs it only if it failed. */
  run(id: string, fn: () => Promise<ConnectionProgress>): Promise<ConnectionProgress>;
  /** Waits until the ISO instant `until` (Inngest `step.sleepUntil`). */
  sleepUntil(id: string, until: string): Promise<void>;
  /** `true` when a failing step will not be retried again: a lease still held then ends the run quietly. */
  readonly finalAttempt: boolean;
  /**
   * What a step does when, on the final attempt, the store is out of reach or the process is stopping. `stop`
   * ends the run quietly (`stopped: 'store_unavailable'` or `'process_stopping'`), the machine left where it was
   * persisted for the next tick to resume; under Inngest a failed run goes to onFailure, which would stop a
   * mid-cycle machine in `error` and wait for an operator after a database failover or a deploy. `throw` (the
   * default) fails the step.
   */
  readonly interruptedOnFinalAttempt?: 'throw' | 'stop';
  /**
   * How long one phase step may run before it hands over to the next step of the same phase (`RunBounds`): a host
   * that bounds a step's time (Inngest: two hours) sets it well inside that bound. None: a step runs its phase to
   * the end.
   */
  readonly stepBudgetMs?: number;
  /**
   * How far ahead the selection that started this run counted a connection due (`selectDue`'s horizon): the
   * embedded worker's next tick. None: the end of the minute the run loads in, as the cron's selection counts.
   */
  readonly dueBefore?: Date;
}

/** Steps one run may take before it yields to the next tick (Inngest allows 1,000 per run). */
export const MAX_PHASE_STEPS = 100;
/** Wait before retrying a step whose lease another worker holds; a dead holder's lease expires within 60 s. */
export const LEASE_RETRY_MS = 15_000;
/** Wait before retrying a step that could not reach the store. */
export const STORE_RETRY_MS = 10_000;
/** A wake before `resumeAt` by the runner's clock sleeps on this long, doubling each time, at most `SLOT_MS`. */
export const EARLY_WAKE_MS = 1_000;

const stepNames: Record<Phase, string> = {
  fetching: 'fetch',
  reconciling: 'reconcile',
  pushing: 'push',
  auditing: 'audit',
};

/**
 * Drives one connection through the rest of its cycle, one step per machine phase: `load`, then
 * `fetch-1`, `reconcile-2`, `push-3`, `audit-4` for a whole cycle; a retryable failure puts the machine in
 * backoff, which becomes `backoff-<n>` (a sleep until `resumeAt`) followed by the phase it resumes. Step ids
 * depend only on earlier step results, so they are the same on every replay. Ends when the machine is idle
 * again, stops in `error`, or the run has a `stopped` reason.
 */
export async function driveConnection(
  deps: RunnerDeps,
  ref: ConnectionRef,
  steps: SyncSteps,
): Promise<ConnectionProgress> {
  const stopQuietly = steps.finalAttempt && steps.interruptedOnFinalAttempt === 'stop';
  /**
   * Runs a step's work; a store out of reach, or the process stopping, on the final attempt becomes a quiet stop
   * where asked.
   */
  const settle = async (planned: ConnectionProgress, work: () => Promise<ConnectionProgress>) => {
    try {
      return await work();
    } catch (error) {
      if (stopQuietly && error instanceof StoreUnavailableError) {
        return { ...planned, stopped: 'store_unavailable' as const };
      }
      if (stopQuietly && error instanceof ProcessStoppingError) {
        return { ...planned, stopped: 'process_stopping' as const };
      }
      throw error;
    }
  };
  let progress = await steps.run('load', () =>
    settle(idleProgress, () => loadStep(deps, ref, steps.dueBefore)),
  );
  /** Wakes in a row that found the backoff not yet due by the runner's clock. */
  let early = 0;
  // From `error` only as the first step: the schedule's retry of a cycle whose attempts ran out (`loadStep`).
  for (let n = 1; progress.stopped === null && (n === 1 || progress.state !== 'error'); n++) {
    if (progress.state === 'idle' && n > 1) break;
    if (n > MAX_PHASE_STEPS) return { ...progress, stopped: 'step_limit' };
    if (progress.state === 'backoff' && progress.resumeAt !== null) {
      await steps.sleepUntil(`backoff-${n}`, wakeAt(progress.resumeAt, early));
    }
    const planned = progress;
    progress = await steps.run(`${stepName(planned)}-${n}`, () =>
      settle(planned, () => phaseStep(deps, ref, planned, steps)),
    );
    early = planned.state === 'backoff' && samePosition(progress, planned) ? early + 1 : 0;
  }
  return progress;
}

/**
 * When to wake for a backoff after `early` wakes that found it not yet due. `resumeAt` is by the runner's clock (the
 * database's), Inngest wakes by its own: when Inngest's runs ahead, `resumeAt` has passed for it, and sleeping until
 * it again returns at once, two steps a time. A doubling wait past it bounds a minute's skew to about seven wakes.
 */
function wakeAt(resumeAt: string, early: number): string {
  if (early === 0) return resumeAt;
  let laterMs = 0;
  for (let k = 0; k < early; k++) laterMs += Math.min(EARLY_WAKE_MS * 2 ** k, SLOT_MS);
  return new Date(Date.parse(resumeAt) + laterMs).toISOString();
}

/** The step that runs next from `progress`: the phase in progress, the one backoff or error resumes, or fetch. */
function stepName(progress: ConnectionProgress): string {
  const { state, resumePhase } = progress;
  if ((state === 'backoff' || state === 'error') && resumePhase !== null) return stepNames[resumePhase];
  if (state === 'fetching' || state === 'reconciling' || state === 'pushing' || state === 'auditing') {
    return stepNames[state];
  }
  return stepNames.fetching;
}

/** Reads the connection and its machine, and decides whether this run has anything to do. */
async function loadStep(deps: RunnerDeps, ref: ConnectionRef, dueBefore?: Date): Promise<ConnectionProgress> {
  const { store, clock } = deps;
  const connection = await store.getConnection(ref);
  if (!connection.ok) {
    if (connection.error.kind === 'not_found') return { ...idleProgress, stopped: 'not_found' };
    throw stepError({ kind: 'store', message: connection.error.message });
  }
  const progress = await readProgress(store, ref);
  const now = clock();
  if (!connection.value.enabled) return { ...progress, stopped: 'disabled' };
  // Due by the selection's own measure, else a run it started for a next run before its horizon stops here: a
  // worker ticking late in the minute ran a 1m interval every 2 minutes.
  const isDue = (at: Date) => isDueInSlot(at, now) || (dueBefore !== undefined && at < dueBefore);
  if (progress.state === 'idle' && !isDue(connection.value.nextRunAt))
    return { ...progress, stopped: 'not_due' };
  if (progress.state === 'backoff' && progress.resumeAt !== null) {
    // A backoff's next run is its resumeAt. One brought in since (an interval shortened) would have every tick
    // until then select it again, only to find it waiting.
    const resumeAt = new Date(progress.resumeAt);
    if (connection.value.nextRunAt < resumeAt && !isDue(resumeAt)) {
      const scheduled = await store.setNextRun({ ...ref, nextRunAt: resumeAt });
      if (!scheduled.ok) throw stepError({ kind: 'store', message: scheduled.error.message });
    }
  }
  if (progress.state === 'error') {
    // The CRM refused the credentials and new ones were stored since: resumed as `credentials.updated` does.
    if (credentialsReplaced(progress, connection.value)) return progress;
    // Out of attempts (a provider down for longer than the backoffs last): the schedule retries the cycle at
    // the connection's interval, as `crm-sync retry` would, so an outage heals without an operator.
    if (progress.errorReason === 'attempts_exhausted')
      return isDue(connection.value.nextRunAt) ? progress : { ...progress, stopped: 'in_error' };
    // Anything else waits for an operator; look again one interval from now, as the runner does.
    const next = new Date(now.getTime() + connection.value.effectiveIntervalSeconds * 1000);
    const scheduled = await store.setNextRun({ ...ref, nextRunAt: next });
    if (!scheduled.ok) throw stepError({ kind: 'store', message: scheduled.error.message });
    // Taken without the lease: credentials stored since the read made it due at once, which the write undid.
    const after = await store.getConnection(ref);
    if (after.ok && credentialsReplaced(progress, after.value)) return progress;
    return { ...progress, stopped: 'in_error' };
  }
  return progress;
}

/**
 * Runs the phase the machine is in, if it is still where the step was planned from. When it is not, an
 * earlier attempt of this very step already ran the phase (Inngest re-runs a step whose checkpoint was
 * lost), so the step only reports where the machine is now: the next step goes on from there.
 */
async function phaseStep(
  deps: RunnerDeps,
  ref: ConnectionRef,
  planned: ConnectionProgress,
  steps: Pick<SyncSteps, 'finalAttempt' | 'stepBudgetMs'>,
): Promise<ConnectionProgress> {
  const current = await readProgress(deps.store, ref);
  if (!samePosition(current, planned)) return current;
  // Disabled while the cycle went: it stops between phases, where enabling it again resumes it.
  const connection = await deps.store.getConnection(ref);
  if (!connection.ok) {
    if (connection.error.kind === 'not_found') return { ...current, stopped: 'not_found' };
    throw stepError({ kind: 'store', message: connection.error.message });
  }
  if (!connection.value.enabled) return { ...current, stopped: 'disabled' };
  const fromError = planned.state === 'error';
  const byCredentials = fromError && credentialsReplaced(planned, connection.value);
  const mode = fromError ? (byCredentials ? 'credentialsPhase' : 'retryPhase') : 'phase';
  // Decided again under the lease, on the machine and the connection as the run reads them there.
  // A phase that hands over leaves the machine in the same phase, cycle and attempt: the next step goes on with it.
  const run = await runConnection(
    deps,
    ref,
    mode,
    (machine) =>
      samePosition(progressOf(machine.state, machine.context), planned) &&
      (!byCredentials || credentialsReplaced(planned, machine.connection))
        ? null
        : { kind: 'moved_on' },
    steps.stepBudgetMs === undefined ? {} : { stepBudgetMs: steps.stepBudgetMs },
  );
  if (run.ok) return progressOf(run.value.state, run.value.context);
  if (run.error.kind === 'lease_held' && steps.finalAttempt) return { ...current, stopped: 'lease_held' };
  throw stepError(run.error);
}

/** Whether two readings show the machine at the same point: same state, cycle, attempt and failure. */
function samePosition(a: ConnectionProgress, b: ConnectionProgress): boolean {
  return (
    a.state === b.state &&
    a.cycleId === b.cycleId &&
    a.attempt === b.attempt &&
    a.resumeAt === b.resumeAt &&
    a.lastError?.at === b.lastError?.at &&
    a.lastAudit?.cycleId === b.lastAudit?.cycleId
  );
}

const idleProgress: ConnectionProgress = {
  state: 'idle',
  cycleId: null,
  attempt: 0,
  resumeAt: null,
  resumePhase: null,
  errorReason: null,
  lastError: null,
  lastAudit: null,
  stopped: null,
};

/** The machine as persisted; a connection that never ran, or that its next run restarts, is idle. */
export async function readProgress(
  store: Pick<Store, 'loadSnapshot'>,
  ref: ConnectionRef,
): Promise<ConnectionProgress> {
  const stored = await store.loadSnapshot(ref);
  if (!stored.ok) throw stepError({ kind: 'store', message: stored.error.message });
  const machine = readStoredMachine(stored.value);
  if (machine.kind === 'none') return idleProgress;
  if (machine.kind === 'unrestorable') {
    // The run restarts it idle at its committed cursor, as a machine that never ran.
    if (restartsOnItsOwn(machine.error)) return idleProgress;
    throw stepError({
      kind: 'snapshot',
      message: unrestorableWords(machine.error),
      unrestorable: machine.error,
    });
  }
  return progressOf(machine.restored.state, machine.restored.context);
}

function progressOf(state: ConnectionState, context: ConnectionContext): ConnectionProgress {
  return {
    state,
    cycleId: context.cycle?.cycleId ?? null,
    attempt: context.attempt,
    resumeAt: context.resumeAt,
    resumePhase: context.resumePhase,
    errorReason: context.errorReason,
    lastError: context.lastError,
    lastAudit: context.lastAudit,
    stopped: null,
  };
}

/**
 * A step that could not reach the store: retried after `STORE_RETRY_MS`. Its name stays `RetryAfterError`,
 * what Inngest shows and matches on; the class only lets the last attempt tell it from a held lease.
 */
export class StoreUnavailableError extends RetryAfterError {
  constructor(message: string) {
    super(message, STORE_RETRY_MS);
  }
}

/**
 * A step cut short because this process is stopping (`RunnerDeps.stopping`: a deploy's SIGTERM): retried after
 * `STORE_RETRY_MS`, by a process that is not. Named `RetryAfterError`, as `StoreUnavailableError` is.
 */
export class ProcessStoppingError extends RetryAfterError {
  constructor(message: string) {
    super(message, STORE_RETRY_MS);
  }
}

/**
 * A failed step, in Inngest's retry terms: a held lease, an unreachable store or a process that was stopping are
 * worth another attempt after a short wait; a snapshot that cannot be restored or a provider that cannot be built are not.
 */
export function stepError(error: RunError): Error {
  switch (error.kind) {
    case 'lease_held':
      return new RetryAfterError(error.message, LEASE_RETRY_MS);
    case 'store':
      return new StoreUnavailableError(error.message);
    case 'stopping':
      return new ProcessStoppingError(error.message);
    case 'snapshot':
    case 'provider':
    case 'refused':
      return new NonRetriableError(error.message);
  }
}

/** The error a run that left the machine in `error` ends with: retrying the run cannot help. */
export function machineStoppedError(progress: ConnectionProgress): NonRetriableError {
  const reason = progress.errorReason ?? 'fatal';
  const during = progress.lastError === null ? '' : ` during ${progress.lastError.phase}`;
  const message = progress.lastError?.message ?? 'no error recorded';
  return new NonRetriableError(`connection stopped in error (${reason})${during}: ${message}`);
}

/**
 * After a run failed for good (retries exhausted, or a non-retriable error): a machine left mid-cycle is
 * put in `error` through `sync.abandoned`, with the failure audit entry every error gets; a machine already
 * in `error` keeps its entry; a run that failed outside any cycle gets an entry of its own, and so does one whose
 * connection another run holds the lease of (`leased`: the machine is that run's to drive, and to abandon if it
 * fails for good). Idempotent, so it can run as a retried step.
 */
export async function abandonConnectionRun(
  deps: RunnerDeps,
  ref: ConnectionRef,
  failure: { runId: string; message: string; startedAt: Date; failedAt?: Date },
): Promise<{ state: ConnectionState | 'unreadable' | 'leased' }> {
  const reason = `run ${failure.runId} failed: ${failure.message}`;
  const abandoned = await abandonRun(deps, ref, reason, failure.failedAt);
  // Retried until the lease was free, the step met a newer run's step (up to ten minutes) at each of onFailure's
  // attempts, failed, and the failed run had no audit entry.
  const leased = !abandoned.ok && abandoned.error.kind === 'lease_held';
  // Idle after a cycle in progress: its audit had committed, and the cycle completed (no run failed outside it). A
  // cycle a newer run began is not the failed run's: that run failed outside any cycle still in progress.
  if (
    abandoned.ok &&
    !abandoned.value.superseded &&
    (abandoned.value.state !== 'idle' || abandoned.value.inCycle)
  )
    return { state: abandoned.value.state };
  if (!abandoned.ok && abandoned.error.kind !== 'snapshot' && !leased) throw stepError(abandoned.error);
  const connection = await deps.store.getConnection(ref);
  if (!connection.ok) throw stepError({ kind: 'store', message: connection.error.message });
  const audited = await failedRunAudit(deps.store, {
    connection: connection.value,
    runId: failure.runId,
    message: failure.message,
    startedAt: failure.startedAt,
    now: deps.clock(),
  });
  if (!audited.ok) throw stepError({ kind: 'store', message: audited.error.message });
  return { state: abandoned.ok ? abandoned.value.state : leased ? 'leased' : 'unreadable' };
}
