import { SimGate } from '../../src/providers/simulator/gate.ts';

/**
 * Faults the simulators of this process injected, counted where they are decided: `SimGate.admit`, wrapped
 * once (the gate keeps no such counts; its stats are the provider-visible ones). Only the faulted world's
 * simulators have faults set, so every count is theirs.
 */
export const faultTally = {
  errors: 0,
  timeouts: 0,
  drops: 0,
  /** Writes applied whose answer was cut off (`lostAnswerRate`). */
  lostAnswers: 0,
  rateLimitBursts: 0,
  rateLimited: 0,
};

export function resetFaultTally(): void {
  for (const key of Object.keys(faultTally) as Array<keyof typeof faultTally>) faultTally[key] = 0;
}

const admit = SimGate.prototype.admit;
SimGate.prototype.admit = function (this: SimGate, kind) {
  const admission = admit.call(this, kind);
  if (admission.kind === 'error') faultTally.errors += 1;
  else if (admission.kind === 'timeout') faultTally.timeouts += 1;
  else if (admission.kind === 'drop') faultTally.drops += 1;
  else if (admission.kind === 'ok' && admission.loseAnswer) faultTally.lostAnswers += 1;
  else if (admission.kind === 'rate_limited' && admission.reason === 'burst') faultTally.rateLimited += 1;
  return admission;
};
