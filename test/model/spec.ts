import type { AnyEventObject } from 'xstate';
import { DEFAULT_BACKOFF } from '../../src/core/backoff.ts';
import type { ConnectionState, ErrorReason } from '../../src/machines/connectionContext.ts';
import type { Phase, PhaseFailure } from '../../src/machines/phases.ts';
import { MODEL_TIMES, modelEvents, transitionKey } from './paths.ts';

/**
 * A reference model of the connection lifecycle, written from ARCHITECTURE.md and NOT derived from the
 * machine. The generated paths take their expectations from the machine itself, so a machine that drops a
 * transition or takes a wrong one simply yields different paths; this spec is the independent oracle the
 * machine's abstract transition graph must equal (see `specTransitions`).
 */

/** The same fields as `abstractState` in paths.ts, as data. */
export interface SpecState {
  value: ConnectionState;
  attempt: number;
  resumePhase: Phase | null;
  errorReason: ErrorReason | null;
  midWindow: boolean;
}

const initial: SpecState = {
  value: 'idle',
  attempt: 0,
  resumePhase: null,
  errorReason: null,
  midWindow: false,
};

/** Written out here rather than read from `phaseActorIds`, so the spec stands on its own. */
const actorPhase: Record<string, Phase> = {
  fetchPhase: 'fetching',
  reconcilePhase: 'reconciling',
  pushPhase: 'pushing',
  auditPhase: 'auditing',
};

const next: Record<Phase, ConnectionState> = {
  fetching: 'reconciling',
  reconciling: 'pushing',
  pushing: 'auditing',
  auditing: 'idle',
};

const isPhase = (value: ConnectionState): value is Phase =>
  value === 'fetching' || value === 'reconciling' || value === 'pushing' || value === 'auditing';

const halt = (s: SpecState, phase: Phase, errorReason: ErrorReason): SpecState => ({
  ...s,
  value: 'error',
  resumePhase: phase,
  errorReason,
});

/**
 * What the spec does with `event` in `s`: the next state, or `null` when the state does not accept the
 * event type at all (a state that accepts it but whose guard refuses stays put and returns `s`).
 */
export function specStep(s: SpecState, event: AnyEventObject): SpecState | null {
  const { value } = s;
  if (value === 'idle') {
    if (event.type !== 'sync.requested') return null;
    return { ...initial, value: 'fetching' };
  }
  if (isPhase(value)) {
    if (event.type === 'sync.abandoned') return halt(s, value, 'fatal');
    const done = /^xstate\.done\.actor\.(\w+)$/.exec(event.type);
    const failed = /^xstate\.error\.actor\.(\w+)$/.exec(event.type);
    const actorId = done?.[1] ?? failed?.[1];
    if (actorId === undefined || actorPhase[actorId] !== value) return null;
    if (done) {
      // Any success resets the attempt budget; fetch re-enters itself while pages remain.
      if (value === 'fetching' && (event.output as { nextPageToken: string | null }).nextPageToken !== null)
        return { ...s, attempt: 0, midWindow: true };
      return { ...s, value: next[value], attempt: 0, midWindow: false };
    }
    const failure = event.error as PhaseFailure;
    switch (failure.kind) {
      case 'quota_exhausted':
        // Waiting for the quota to reset spends no attempt.
        return { ...s, value: 'backoff', resumePhase: value };
      case 'transient':
      case 'rate_limited':
        // The fifth failure in a row stops: four retries, then error.
        return s.attempt + 1 < DEFAULT_BACKOFF.maxAttempts
          ? { ...s, value: 'backoff', attempt: s.attempt + 1, resumePhase: value }
          : halt(s, value, 'attempts_exhausted');
      case 'auth_failed':
        return halt(s, value, 'auth_failed');
      case 'fatal':
        return halt(s, value, 'fatal');
    }
  }
  if (value === 'backoff') {
    const phase = s.resumePhase;
    if (phase === null) throw new Error('spec: backoff without resumePhase');
    if (event.type === 'sync.abandoned') return halt(s, phase, 'fatal');
    if (event.type !== 'sync.resume') return null;
    // Every backoff the model schedules ends before `longAfter` and after `failedAt`.
    const due = event.now === MODEL_TIMES.longAfter;
    // The attempt count survives the resume: only a success resets it.
    return due ? { ...s, value: phase, resumePhase: null } : s;
  }
  // error
  const phase = s.resumePhase;
  if (phase === null) throw new Error('spec: error without resumePhase');
  const leave = { ...s, value: phase, attempt: 0, resumePhase: null, errorReason: null };
  if (event.type === 'retry.requested') return leave;
  if (event.type === 'credentials.updated') return s.errorReason === 'auth_failed' ? leave : s;
  return null;
}

export const specKey = (s: SpecState): string =>
  JSON.stringify({
    value: s.value,
    attempt: s.attempt,
    resumePhase: s.resumePhase,
    errorReason: s.errorReason,
    midWindow: s.midWindow,
  });

/** Every transition of the spec reachable with the model's events, keyed like `reachableTransitions(_, 'abstract')`. */
export function specTransitions(): Set<string> {
  const events = modelEvents();
  const seen = new Set<string>([specKey(initial)]);
  const queue: SpecState[] = [initial];
  const transitions = new Set<string>();
  for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
    for (const { label, event } of events) {
      const to = specStep(s, event);
      if (to === null) continue;
      transitions.add(transitionKey(specKey(s), label, specKey(to)));
      const key = specKey(to);
      if (!seen.has(key)) {
        seen.add(key);
        queue.push(to);
      }
    }
  }
  return transitions;
}
