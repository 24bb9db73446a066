import { fromPromise } from 'xstate';
import { type Phase, toPhaseFailure } from '../machines/phases.ts';
import { createAuditPhase } from './auditPhase.ts';
import type { PhaseCall, PhaseDeps } from './context.ts';
import { withCurrentMatchKeys } from './currentMatchKeys.ts';
import { addFailureNotes, failureNote } from './failures.ts';
import { createFetchPhase } from './fetchPhase.ts';
import { createPushPhase } from './pushPhase.ts';
import { createReconcilePhase } from './reconcilePhase.ts';

/**
 * Decides whether a phase may run now. A phase that may not waits, without doing anything, until its
 * state is left (the actor is stopped): the snapshot then shows the phase pending, and a restore runs it.
 * The Inngest function uses this to run exactly one phase per step.
 */
export type PhaseGate = (phase: Phase) => boolean;

const openGate: PhaseGate = () => true;

/**
 * The four phase actors of one connection, for `connectionMachine.provide({ actors })`. Every failure a phase
 * rejects with is noted for the cycle's audit entry (once: a phase that noted it already keeps its note), so a
 * reconcile's failed CRM search or a store outage is listed as a failed fetch is.
 */
export function createConnectionActors(
  deps: PhaseDeps,
  gate: PhaseGate = openGate,
  phases: RunningPhases = new RunningPhases(),
) {
  const runGated = async <
    TInput extends { cycleId: string; connection: { tenantId: string; connectionId: string } },
    TOutput,
  >(
    phase: Phase,
    run: (call: PhaseCall<TInput>) => Promise<TOutput>,
    { input, signal }: PhaseCall<TInput>,
  ): Promise<TOutput> => {
    if (!gate(phase)) await untilAborted(signal);
    try {
      return await run({ input, signal });
    } catch (error) {
      // Stopped (its state left, or the run halted: a step handing over, a lease lost, the process stopping):
      // what it threw is that abort, not the CRM's or the store's answer, and no failure of the cycle.
      if (signal.aborted) throw error;
      // A throw that is no PhaseFailure (a bug, a ledger row that no longer parses) is fatal, dated now. The
      // machine, which has no clock, dated it the cycle's start: the same again after a retry, so the second
      // failure's audit entry took the first one's id and was lost.
      const failure = toPhaseFailure(error, deps.clock().toISOString());
      const { tenantId, connectionId } = input.connection;
      // The machine records the failure either way.
      await addFailureNotes(deps, { tenantId, connectionId, cycleId: input.cycleId }, [
        failureNote(phase, failure),
      ]);
      throw failure;
    }
  };
  // Tracked, so that a run stopping waits for what the phase has in flight.
  const gated =
    <TInput extends { cycleId: string; connection: { tenantId: string; connectionId: string } }, TOutput>(
      phase: Phase,
      run: (call: PhaseCall<TInput>) => Promise<TOutput>,
    ) =>
    (call: PhaseCall<TInput>): Promise<TOutput> =>
      phases.track(runGated(phase, run, call));
  return {
    fetchPhase: fromPromise(gated('fetching', createFetchPhase(deps))),
    // Reconcile looks candidates up by the tenant's stored match keys, which must be of the current normalisation.
    reconcilePhase: fromPromise(gated('reconciling', withCurrentMatchKeys(deps, createReconcilePhase(deps)))),
    pushPhase: fromPromise(gated('pushing', createPushPhase(deps))),
    auditPhase: fromPromise(gated('auditing', createAuditPhase(deps))),
  };
}

/**
 * The phases of a run started and not yet ended. A stopped actor drops its phase's promise while the phase goes on
 * until it sees the abort: a run returning then let go of its lease with writes in flight, and the next run, looking
 * for a create not yet acknowledged, raced the stopped one acknowledging it and sent it again.
 */
export class RunningPhases {
  private readonly running = new Set<Promise<unknown>>();

  track<T>(work: Promise<T>): Promise<T> {
    this.running.add(work);
    const forget = () => this.running.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Once every phase started so far has ended, whatever its outcome. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.running);
  }
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
