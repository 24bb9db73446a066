import { performance } from 'node:perf_hooks';
import { createActor, waitFor } from 'xstate';
import type { StepBudget } from '../actors/context.ts';
import { createConnectionActors, type PhaseGate, RunningPhases } from '../actors/createConnectionActors.ts';
import { err, ok, type Result } from '../core/result.ts';
import type { ConnectionCommand, ConnectionContext, ConnectionState } from '../machines/connectionContext.ts';
import { connectionMachine } from '../machines/connectionMachine.ts';
import { toPersisted } from '../machines/persistence.ts';
import type { Phase } from '../machines/phases.ts';
import type { Connection } from '../persistence/records.ts';
import type { CrmProvider } from '../providers/provider.ts';
import type { LeaseCheck, RunBounds, RunError, RunMode, RunnerDeps, RunOutcome } from './connectionRunner.ts';
import { failedCycleAudit } from './failedCycleAudit.ts';
import { leaseLostError } from './keepLease.ts';
import { nextRunAt } from './nextRun.ts';
import { PersistQueue } from './persistQueue.ts';
import { committedInput, loadMachine } from './restartMachine.ts';
import type { StoredQuota } from './storedQuota.ts';

const settledStates: ReadonlySet<ConnectionState> = new Set(['idle', 'backoff', 'error']);

export const stoppingError = (): RunError => ({
  kind: 'stopping',
  message: 'the process is stopping; the run resumes from its last persisted state',
});

/**
 * The run under its lease: restores the machine, sends the command `mode` implies, persists every transition until
 * the machine settles (in a phase mode, until it leaves its first phase), then schedules the next run.
 */
export async function drive(
  deps: RunnerDeps,
  connection: Connection,
  provider: CrmProvider,
  mode: RunMode,
  lease: AbortController,
  options: { check: LeaseCheck | undefined; quota: StoredQuota; writesLandBy: Date | null } & RunBounds,
): Promise<Result<RunOutcome, RunError>> {
  const { store, clock } = deps;
  const { check, quota } = options;
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
  // The phase's budget, from here: where it hands over, the machine as it was last persisted, which the run reports.
  const handedOver = new AbortController();
  const handOff: { at: { state: ConnectionState; context: ConnectionContext } | null } = { at: null };
  const handOver = () => {
    if (handOff.at !== null) return;
    const at = actor.getSnapshot();
    handOff.at = { state: at.value as ConnectionState, context: at.context };
    handedOver.abort();
  };
  const stepBudget =
    onePhase && options.stepBudgetMs !== undefined ? budgetOf(options.stepBudgetMs, handOver) : null;
  const phases = new RunningPhases();
  const machine = connectionMachine.provide({
    actors: createConnectionActors(
      {
        store,
        provider,
        clock,
        leaseOwner: deps.owner,
        writesLandBy: options.writesLandBy,
        ...(deps.fetchMode === undefined ? {} : { fetchMode: deps.fetchMode }),
        ...(deps.onPushProgress === undefined
          ? {}
          : { onPushProgress: (p) => deps.onPushProgress?.({ connectionId: connection.id, ...p }) }),
        ...(stepBudget === null ? {} : { stepBudget }),
      },
      gate,
      phases,
    ),
  });
  const actor = restored
    ? createActor(machine, restored.actorOptions)
    : createActor(machine, { input: committedInput(connection) });

  const restoredAt = actor.getSnapshot();
  const pagesAtStart = pagesFetched(restoredAt.context);
  const standing: RunOutcome = {
    tenantId: connection.tenantId,
    connectionId: connection.id,
    provider: connection.provider,
    state: restoredAt.value,
    context: restoredAt.context,
  };
  // The snapshot stopping the machine in error and the failure's audit entry are two writes: a process that died,
  // or a store that failed, between them left the failure in no entry, and no later run wrote it. Written now,
  // dated when it failed; keyed by the failure, so an entry already written stays one.
  if (restoredAt.value === 'error') {
    const failedAt = restoredAt.context.lastError?.at;
    const audited = await failedCycleAudit(
      store,
      restoredAt.context,
      failedAt ? new Date(failedAt) : clock(),
    );
    if (!audited.ok)
      return err({ kind: 'store', message: `writing the failure audit failed: ${audited.error.message}` });
  }
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

  // A cycle run ahead of its schedule (a sync or retry asked for) is due from now: one cut short (the process
  // stopping or killed, the store failing, the lease lost) is resumed at the next look, not an interval on.
  const startedAt = clock();
  if (connection.nextRunAt > startedAt) {
    const due = await store.setNextRun({ ...ref, nextRunAt: startedAt });
    if (!due.ok) return err({ kind: 'store', message: due.error.message });
  }

  const writes = new PersistQueue();
  let previous: ConnectionState = restored?.state ?? 'idle';
  if (restored && restored.state !== 'idle' && restored.state !== 'backoff' && restored.state !== 'error') {
    firstPhase = restored.state as Phase;
  }
  // Each ends the run where it was last persisted: the process stopping, the lease lost, the store failing.
  const halt = anyAborted([
    leaseLost,
    persistFailed.signal,
    handedOver.signal,
    ...(deps.stopping ? [deps.stopping] : []),
  ]);
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
    // A fetch moves on one page a transition, each persisted with its page token: a page is its unit of work, and
    // the run hands over once it has fetched one.
    if (state === 'fetching' && stepBudget?.spent() && pagesFetched(snapshot.context) > pagesAtStart)
      handOver();
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
    // Stopping the actor aborts the phase it is in, which takes no more work but settles what it has in flight (a
    // write's answer, its acknowledgement) before the lease goes. First, so that no write goes out while the
    // transitions before the stop, which are real, are saved (each save holds its snapshot already).
    actor.stop();
    await writes.flush();
    // A lost lease is the holder's now, and the run may be stalled in the store: it returns at once. What its phase
    // still does is fenced (a reconcile batch by `holdLease`) or finds the holder's link (a create's answer).
    if (!leaseLost.aborted) await phases.settled();
    if (leaseLost.aborted) return err(leaseLostError(connection.id));
    if (persistFailure !== null) return err(unpersisted());
    if (handOff.at === null || deps.stopping?.aborted) return err(stoppingError());
    // Handed over within the phase: nothing scheduled, the caller's next step goes on with it.
    return ok({ ...standing, ...handOff.at });
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

const pagesFetched = (context: ConnectionContext): number => context.cycle?.fetch.pages ?? 0;

/** A phase's budget of `ms` from now, on the monotonic clock; `handOver` ends the run (see `StepBudget`). */
function budgetOf(ms: number, handOver: () => void): StepBudget {
  const startedAt = performance.now();
  return {
    spent: () => performance.now() - startedAt >= ms,
    handOver: (signal) => {
      handOver();
      return new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    },
  };
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
