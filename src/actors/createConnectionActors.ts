import { fromPromise } from 'xstate';
import type { Phase } from '../machines/phases.ts';
import { createAuditPhase } from './auditPhase.ts';
import type { PhaseCall, PhaseDeps } from './context.ts';
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

/** The four phase actors of one connection, for `connectionMachine.provide({ actors })`. */
export function createConnectionActors(deps: PhaseDeps, gate: PhaseGate = openGate) {
  const gated =
    <TInput, TOutput>(phase: Phase, run: (call: PhaseCall<TInput>) => Promise<TOutput>) =>
    async ({ input, signal }: PhaseCall<TInput>): Promise<TOutput> => {
      if (!gate(phase)) await untilAborted(signal);
      return run({ input, signal });
    };
  return {
    fetchPhase: fromPromise(gated('fetching', createFetchPhase(deps))),
    reconcilePhase: fromPromise(gated('reconciling', createReconcilePhase(deps))),
    pushPhase: fromPromise(gated('pushing', createPushPhase(deps))),
    auditPhase: fromPromise(gated('auditing', createAuditPhase(deps))),
  };
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
