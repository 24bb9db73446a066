import { failureNoteKey } from '../actors/failures.ts';
import { ok, type Result } from '../core/result.ts';
import type { ConnectionContext } from '../machines/connectionContext.ts';
import { auditBodySchema } from '../persistence/audit.ts';
import type { Store, StoreError } from '../persistence/store.ts';

/**
 * The audit entry for a cycle that stopped in `error`: its window, the errors its phases noted and the one
 * that stopped it. Its cycle id is suffixed with the failure time, so the cycle, once retried and completed,
 * still gets its own entry. The cursors do not move.
 */
export async function failedCycleAudit(
  store: Store,
  context: ConnectionContext,
  now: Date,
): Promise<Result<void, StoreError>> {
  const { cycle, lastError } = context;
  if (cycle === null || lastError === null) return ok(undefined);
  const ref = { tenantId: context.tenantId, connectionId: context.connectionId };
  const stopping = {
    status: lastError.status,
    message: `stopped in error (${context.errorReason ?? lastError.kind}) during ${lastError.phase}: ${lastError.message}`,
    // Out of attempts, the schedule retries it when next due; the other reasons wait for an operator.
    retry: context.errorReason === 'attempts_exhausted',
  };
  // The cycle's counts so far, fetched and written alike: a cycle stopped for good (a fatal failure, refused
  // credentials never replaced) has no other entry, and the writes the CRM acknowledged before it stopped are
  // applied. One that completes on retry counts them again, as its whole cycle's.
  const totals = await store.cycleNoteTotals({ ...ref, cycleId: cycle.cycleId });
  if (!totals.ok) return totals;
  const { created, updated, unchanged } = totals.value;
  const audit = auditBodySchema.parse({
    cycleId: `${cycle.cycleId}/error@${lastError.at}`,
    window: cycle.window,
    fetched: cycle.fetch.records,
    written: { created, updated, unchanged },
    conflicts: [],
    duplicatesSuppressed: [],
    errors: [stopping],
    startedAt: cycle.startedAt,
    finishedAt: now.toISOString(),
    outcome: 'failed',
  });
  // The errors its phases noted since the cycle's last failure entry come first (the store puts them there), then
  // the one that stopped it, which stands for its phase's own note of the same failure: a retry that fails again
  // lists its own errors, not every earlier one again. Its conflicts and duplicates are left to the entry of the
  // cycle completed on retry, which lists them, and every error since the cycle began.
  const committed = await store.transaction(async (tx) => {
    const entry = await tx.commitCycle({
      ...ref,
      audit,
      notesOf: {
        cycleId: cycle.cycleId,
        kinds: ['error'],
        exceptKeys: [failureNoteKey(lastError.phase, lastError.at)],
        afterMark: FAILURE_AUDITED,
      },
    });
    if (!entry.ok) return entry;
    // The error that stopped it, for the entry of the cycle completed on retry: a phase's failure noted it already
    // (this key; the note kept), a cycle abandoned (the step's retries spent, a run given up) did not, and the
    // completed entry listed no error. Before the mark, so a later failure's entry does not list it again.
    return tx.addCycleNotes({
      ...ref,
      cycleId: cycle.cycleId,
      notes: [
        { kind: 'error', key: failureNoteKey(lastError.phase, lastError.at), body: stopping },
        { kind: 'meta', key: `${FAILURE_AUDITED}${lastError.at}`, body: audit.cycleId },
      ],
    });
  });
  return committed.ok ? ok(undefined) : committed;
}

/** Key prefix of the meta note marking the notes a failure entry of the cycle has listed. */
const FAILURE_AUDITED = 'failure-audited:';
