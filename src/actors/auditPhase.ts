import { z } from 'zod';
import { maxCursor } from '../core/cursor.ts';
import type { AuditPhaseInput, AuditPhaseOutput } from '../machines/phases.ts';
import { type AuditBody, auditBodySchema } from '../persistence/audit.ts';
import type { CycleNote } from '../persistence/cycleWork.ts';
import type { PhaseCall, PhaseDeps } from './context.ts';
import { must } from './storeCall.ts';

const writtenSchema = z.object({ op: z.enum(['create', 'update']) });
const inboundMetaSchema = z.object({ unchanged: z.number().int() });

/**
 * Writes the cycle's audit entry and advances both cursors in one transaction, then drops the cycle's
 * staging. The provider cursor moves to the largest (modified, id) staged — every staged record is committed
 * by now — and never backwards. Re-running after the commit returns the committed cursors unchanged.
 */
export function createAuditPhase(deps: PhaseDeps) {
  return async ({ input }: PhaseCall<AuditPhaseInput>): Promise<AuditPhaseOutput> => {
    const { store, clock } = deps;
    const ref = { tenantId: input.connection.tenantId, connectionId: input.connection.connectionId };
    const cycleRef = { ...ref, cycleId: input.cycleId };
    const notes = await must(store.listCycleNotes(cycleRef), clock);
    const highWater = await must(store.stagedHighWater(cycleRef), clock);
    const cursor = maxCursor(input.cursor, highWater);
    const notedLocal = notes.find((n) => n.kind === 'meta' && n.key === 'localHighWater')?.body;
    const localCursor = Math.max(input.localCursor, typeof notedLocal === 'number' ? notedLocal : 0);
    const finishedAt = clock().toISOString();
    const audit = auditBody({ input, notes, finishedAt });

    const committed = await must(
      store.transaction(async (tx) => {
        const entry = await tx.commitCycle({
          ...ref,
          ...(cursor === null ? {} : { cursor }),
          localCursor,
          audit,
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

/** The audit entry of a completed cycle, from its counts and the notes its phases left. */
export function auditBody(params: {
  input: AuditPhaseInput;
  notes: CycleNote[];
  finishedAt: string;
}): AuditBody {
  const { input, notes, finishedAt } = params;
  const bodies = (kind: CycleNote['kind']) => notes.filter((n) => n.kind === kind).map((n) => n.body);
  const written = { created: 0, updated: 0, unchanged: 0 };
  for (const body of bodies('written')) {
    const parsed = writtenSchema.safeParse(body);
    if (parsed.success) written[parsed.data.op === 'create' ? 'created' : 'updated'] += 1;
  }
  for (const note of notes) {
    if (note.kind !== 'meta' || !note.key.startsWith('inbound:')) continue;
    const parsed = inboundMetaSchema.safeParse(note.body);
    if (parsed.success) written.unchanged += parsed.data.unchanged;
  }
  return auditBodySchema.parse({
    cycleId: input.cycleId,
    window: input.window,
    fetched: input.counts.fetched,
    written,
    conflicts: bodies('conflict'),
    duplicatesSuppressed: bodies('duplicate'),
    errors: bodies('error'),
    startedAt: input.startedAt,
    finishedAt,
    outcome: 'completed',
  });
}
