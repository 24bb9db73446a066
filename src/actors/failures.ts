import type { Phase, PhaseFailure } from '../machines/phases.ts';
import type { CycleNote } from '../persistence/cycleWork.ts';
import type { StoreError } from '../persistence/store.ts';
import type { ProviderError } from '../providers/provider.ts';
import type { PhaseDeps } from './context.ts';

/**
 * Adds a phase's failure notes to its cycle, under the run's lease (`holdLease`, in one transaction) where it has
 * one; best effort, as the store may be what failed. A run that had lost its lease without knowing (its lock
 * session's end unheard) noted that loss as a fatal error of the cycle the run taking over was running, whose
 * audit listed it.
 */
export async function addFailureNotes(
  deps: PhaseDeps,
  ref: { tenantId: string; connectionId: string; cycleId: string },
  notes: CycleNote[],
): Promise<void> {
  const { store, leaseOwner } = deps;
  if (leaseOwner === undefined) {
    await store.addCycleNotes({ ...ref, notes });
    return;
  }
  await store.transaction(async (tx) => {
    const held = await tx.holdLease({
      tenantId: ref.tenantId,
      connectionId: ref.connectionId,
      owner: leaseOwner,
    });
    return held.ok ? tx.addCycleNotes({ ...ref, notes }) : held;
  });
}

/**
 * Maps the typed failures of providers and the store onto the machine's `PhaseFailure`: what the
 * machine can act on (back off, park, stop). `at` is the actor's clock, the backoff counts from it.
 */
export function providerFailure(error: ProviderError, at: Date): PhaseFailure {
  const base = { message: error.message, status: error.status, at: at.toISOString() };
  switch (error.kind) {
    case 'rate_limited':
      return { ...base, kind: 'rate_limited', retryAfterMs: error.retryAfterMs };
    case 'quota_exhausted':
      return { ...base, kind: 'quota_exhausted', resumeAt: error.resumeAt };
    case 'auth_failed':
      return { ...base, kind: 'auth_failed' };
    case 'transient':
      return error.retryAfterMs === undefined
        ? { ...base, kind: 'transient' }
        : { ...base, kind: 'transient', retryAfterMs: error.retryAfterMs };
    default:
      // A whole-page validation error, a 404 on the list endpoint or an unsupported call mean the adapter
      // and the API disagree: retrying the same request cannot help.
      return { ...base, kind: 'fatal', message: `${error.kind}: ${error.message}` };
  }
}

export function storeFailure(error: StoreError, at: Date): PhaseFailure {
  const base = { message: `store: ${error.message}`, status: null, at: at.toISOString() };
  return error.kind === 'unavailable' ? { ...base, kind: 'transient' } : { ...base, kind: 'fatal' };
}

/**
 * Times in a row a batch is reconciled again because contacts it read changed before it wrote them (engagement
 * arriving, an agent's edit, another CRM's cycle): each try reads afresh, so a clash twice running is rare; a
 * contact changing faster than a batch can be merged makes the phase back off and run again, rather than spin.
 */
export const STALE_BATCH_TRIES = 5;

/** Counts a batch's tries against `STALE_BATCH_TRIES`; the one over it throws a retryable failure. */
export function staleBatchTries(clock: () => Date) {
  let tries = 0;
  return {
    /** A try found contacts changed since they were read. */
    again(): void {
      tries += 1;
      if (tries < STALE_BATCH_TRIES) return;
      const failure: PhaseFailure = {
        kind: 'transient',
        message: `contacts of a batch changed in NurtureHub while it was merged, ${tries} times running; the phase runs again after a backoff`,
        status: null,
        at: clock().toISOString(),
      };
      throw failure;
    },
    /** A try was written. */
    done(): void {
      tries = 0;
    },
  };
}

/** Whether the machine will try again after this failure (the audit's `retry` flag). */
export function willRetry(failure: PhaseFailure): boolean {
  return (
    failure.kind === 'transient' || failure.kind === 'rate_limited' || failure.kind === 'quota_exhausted'
  );
}

/** The key of a failed phase's note: one per phase and failure time. */
export const failureNoteKey = (phase: Phase, at: string) => `${phase}:${at}`;

/** The note a failed phase leaves for the cycle's audit entry. */
export function failureNote(phase: Phase, failure: PhaseFailure) {
  return {
    kind: 'error' as const,
    key: failureNoteKey(phase, failure.at),
    body: {
      status: failure.status ?? null,
      message: `${phase}: ${failure.message}`,
      retry: willRetry(failure),
    },
  };
}
