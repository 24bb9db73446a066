import { type ConnectionState, type ErrorReason, stateInWords } from '../machines/connectionContext.ts';
import type { LeaseCheck } from './connectionRunner.ts';

/** What `syncRefusal` reads of a connection: its machine's state and why it waits. */
export interface WaitingMachine {
  /** `null` when the stored machine cannot be read. */
  state: ConnectionState | null;
  errorReason: ErrorReason | null;
  /** ISO instants. */
  nextRunAt: string;
  resumeAt: string | null;
  lastError: { kind: string; phase: string } | null;
}

/**
 * Why a sync asked for now (the API's Sync now, `crm-sync sync`) leaves the connection alone, or `null` when it
 * runs it. A backoff not yet due stays put (running it early would spend an attempt against a CRM that asked for
 * the wait, such as a Retry-After), and only a retry leads a machine out of error (`retryHow`: how to ask for one):
 * a run in either would change nothing but re-save the snapshot and move the next run, in error an interval on,
 * past the schedule's own retry of a cycle out of attempts.
 */
export function syncRefusal(machine: WaitingMachine, now: Date, retryHow: string): string | null {
  if (machine.state === 'error') {
    // Out of attempts, the schedule retries it when next due (docs/scheduling.md); other reasons wait for a person.
    const when =
      machine.errorReason === 'attempts_exhausted'
        ? `now, and the schedule does at ${machine.nextRunAt}`
        : 'once the cause is fixed';
    return `connection is in error (${machine.errorReason ?? 'unknown reason'}): a sync does not lead it out; retry does (${retryHow}) ${when}`;
  }
  if (
    machine.state === 'backoff' &&
    machine.resumeAt !== null &&
    Date.parse(machine.resumeAt) > now.getTime()
  ) {
    const after =
      machine.lastError === null
        ? ''
        : ` after a ${machine.lastError.kind} failure in ${machine.lastError.phase}`;
    return `connection is in backoff until ${machine.resumeAt}${after}; it resumes by itself then, and a sync from then on resumes it at once`;
  }
  return null;
}

/** Why a sync or retry asked for of a disabled connection runs nothing. */
export const DISABLED_REFUSAL = 'connection is disabled; enable it first';

/**
 * `syncRefusal` as the run's `LeaseCheck`, on the machine as restored under the lease: the decision that counts. A
 * caller's own check before the run answers without taking the lease, but a scheduled run may settle the machine
 * in error or a backoff between that reading and the lease.
 */
export function syncRefusalUnderLease(clock: () => Date, retryHow: string): LeaseCheck {
  return ({ state, context, connection }) => {
    // Disabled after the caller read it (the page's switch, `connection disable`): it runs nothing until enabled.
    if (!connection.enabled) return { kind: 'refused', reason: DISABLED_REFUSAL };
    const machine = {
      state,
      errorReason: context.errorReason,
      nextRunAt: connection.nextRunAt.toISOString(),
      resumeAt: context.resumeAt,
      lastError: context.lastError,
    };
    const reason = syncRefusal(machine, clock(), retryHow);
    return reason === null ? null : { kind: 'refused', reason };
  };
}

/** Why a retry asked for (the API's Retry, `crm-sync retry`) has nothing to do, or `null` when it runs. */
export function retryRefusal(state: ConnectionState | null): string | null {
  if (state === 'error') return null;
  return `connection is ${state === null ? 'unreadable' : stateInWords(state)}, not in error: nothing to retry`;
}

/**
 * `retryRefusal` as the run's `LeaseCheck`: a scheduled run may have retried the machine out of error between the
 * caller's reading and the lease, and the retry then has nothing left to do; the connection may have been disabled.
 */
export const retryRefusalUnderLease: LeaseCheck = ({ state, connection }) => {
  if (!connection.enabled) return { kind: 'refused', reason: DISABLED_REFUSAL };
  const reason = retryRefusal(state);
  return reason === null ? null : { kind: 'refused', reason };
};
