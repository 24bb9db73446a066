import { maxCursor } from '../core/cursor.ts';
import type { AuditPhaseInput, AuditPhaseOutput } from '../machines/phases.ts';
import { type AuditBody, auditBodySchema } from '../persistence/audit.ts';
import { auditedNoteKinds, LOCAL_HIGH_WATER_KEY } from '../persistence/cycleWork.ts';
import type { PhaseCall, PhaseDeps } from './context.ts';
import { must } from './storeCall.ts';

/**
 * Writes the cycle's audit entry and advances both cursors in one transaction, then drops the cycle's
 * staging. The provider cursor moves to the largest (modified, id) staged — every staged record is committed
 * by now — and never backwards. Re-running after the commit returns the committed cursors unchanged.
 */
export function createAuditPhase(deps: Pick<PhaseDeps, 'store' | 'clock'>) {
  return async ({ input }: PhaseCall<AuditPhaseInput>): Promise<AuditPhaseOutput> => {
    const { store, clock } = deps;
    const ref = { tenantId: input.connection.tenantId, connectionId: input.connection.connectionId };
    const cycleRef = { ...ref, cycleId: input.cycleId };
    const { created, updated, unchanged } = await must(store.cycleNoteTotals(cycleRef), clock);
    const highWater = await must(store.stagedHighWater(cycleRef), clock);
    const cursor = maxCursor(input.cursor, highWater);
    const notedLocal = await must(
      store.latestCycleNote({ ...cycleRef, kind: 'meta', keyPrefix: LOCAL_HIGH_WATER_KEY }),
      clock,
    );
    const localCursor = Math.max(
      input.localCursor,
      typeof notedLocal?.body === 'number' ? notedLocal.body : 0,
    );
    const finishedAt = clock().toISOString();
    const audit = auditBody({ input, totals: { created, updated, unchanged }, finishedAt });

    const committed = await must(
      store.transaction(async (tx) => {
        const entry = await tx.commitCycle({
          ...ref,
          ...(cursor === null ? {} : { cursor }),
          localCursor,
          audit,
          notesOf: { cycleId: input.cycleId, kinds: auditedNoteKinds },
        });
        if (!entry.ok || entry.value.alreadyCommitted) return entry;
        const cleared = await tx.clearCycleWork(cycleRef);
        return cleared.ok ? entry : cleared;
      }),
      clock,
    );
    if (committed.alreadyCommitted) {
      const connection = await must(store.getConnection(ref), clock);
      return { cursor: connection.cursor, localCursor: connection.localCursor, finishedAt };
    }
    return { cursor, localCursor, finishedAt };
  };
}

/**
 * The audit entry of a completed cycle, from its counts; the store fills in the conflicts, duplicates and
 * errors its phases noted when it commits the entry.
 */
export function auditBody(params: {
  input: AuditPhaseInput;
  totals: AuditBody['written'];
  finishedAt: string;
}): AuditBody {
  const { input, totals, finishedAt } = params;
  return auditBodySchema.parse({
    cycleId: input.cycleId,
    window: input.window,
    fetched: input.counts.fetched,
    written: totals,
    conflicts: [],
    duplicatesSuppressed: [],
    errors: [],
    startedAt: input.startedAt,
    finishedAt,
    outcome: 'completed',
  });
}
