import { z } from 'zod';
import { cursorPositionSchema, fetchWindowSchema } from '../core/cursor.ts';
import { providerNameSchema } from '../core/providerName.ts';

/**
 * The contracts between the connection machine and the four phase actors it invokes.
 * Inputs and outputs are plain JSON: inputs are persisted inside the snapshot (a restored, unresolved
 * invoke is re-run with the same input), outputs are folded into the machine's context.
 */

const isoInstant = z.iso.datetime({ offset: true });
const count = z.number().int().min(0);

/** The phases of one cycle, in order; each is a machine state that invokes one actor. */
export const phaseNames = ['fetching', 'reconciling', 'pushing', 'auditing'] as const;
export const phaseSchema = z.enum(phaseNames);
export type Phase = z.infer<typeof phaseSchema>;

/** The actor (and invoke id) each phase runs. */
export const phaseActorIds = {
  fetching: 'fetchPhase',
  reconciling: 'reconcilePhase',
  pushing: 'pushPhase',
  auditing: 'auditPhase',
} as const satisfies Record<Phase, string>;
export type PhaseActorId = (typeof phaseActorIds)[Phase];

/** Which connection a phase works for. */
export const connectionRefSchema = z.strictObject({
  connectionId: z.string().min(1),
  tenantId: z.string().min(1),
  provider: providerNameSchema,
});
export type ConnectionRef = z.infer<typeof connectionRefSchema>;

/** Totals of one cycle so far; the audit entry and `lastAudit` carry them. */
export const cycleCountsSchema = z.strictObject({
  pages: count,
  fetched: count,
  quarantined: count,
  upserts: count,
  plannedWrites: count,
  conflicts: count,
  sent: count,
  deferred: count,
});
export type CycleCounts = z.infer<typeof cycleCountsSchema>;

/** Fetch ONE page of provider changes in the window (and local changes since `localCursor` on page 0). */
export const fetchPhaseInputSchema = z.strictObject({
  connection: connectionRefSchema,
  cycleId: z.string().min(1),
  window: fetchWindowSchema,
  /** Token of the page to fetch; `null` for the first page of the window. */
  pageToken: z.string().min(1).nullable(),
  /** 0-based index of the page to fetch, for idempotent staging keys. */
  page: count,
  localCursor: count,
});
export type FetchPhaseInput = z.infer<typeof fetchPhaseInputSchema>;

export interface FetchPhaseOutput {
  /** Token of the next page of the same window; `null` when the window is exhausted. */
  nextPageToken: string | null;
  /**
   * How many more records the cycle holds staged after this page: its changed records not staged before, less those
   * an earlier page staged that this one lists unchanged (so it may be below zero).
   */
  records: number;
  /** Records of this page that failed their schema and were quarantined. */
  quarantined: number;
}

/** Reconcile everything staged for the cycle: local upserts and planned outbound writes. */
export const reconcilePhaseInputSchema = z.strictObject({
  connection: connectionRefSchema,
  cycleId: z.string().min(1),
  window: fetchWindowSchema,
  localCursor: count,
});
export type ReconcilePhaseInput = z.infer<typeof reconcilePhaseInputSchema>;

export interface ReconcilePhaseOutput {
  upserts: number;
  plannedWrites: number;
  conflicts: number;
  /** Whether every staged record was reconciled; deletes may only be inferred from a complete pass. */
  complete: boolean;
}

/** Send the cycle's planned writes; the write ledger makes a re-run skip acknowledged ones. */
export const pushPhaseInputSchema = z.strictObject({
  connection: connectionRefSchema,
  cycleId: z.string().min(1),
});
export type PushPhaseInput = z.infer<typeof pushPhaseInputSchema>;

export interface PushPhaseOutput {
  /** CRM writes the cycle made, over every run of its push phase. */
  sent: number;
  /** Writes left for the next cycle (precondition failed, conflict). */
  deferred: number;
}

/** Write the audit entry and advance the cursors, in one transaction. */
export const auditPhaseInputSchema = z.strictObject({
  connection: connectionRefSchema,
  cycleId: z.string().min(1),
  startedAt: isoInstant,
  window: fetchWindowSchema,
  /** The committed cursors; the audit returns them unchanged when nothing newer was committed. */
  cursor: cursorPositionSchema.nullable(),
  localCursor: count,
  counts: cycleCountsSchema,
});
export type AuditPhaseInput = z.infer<typeof auditPhaseInputSchema>;

export interface AuditPhaseOutput {
  /** The largest (modified, externalId) actually committed, as the provider sent it. */
  cursor: z.infer<typeof cursorPositionSchema> | null;
  localCursor: number;
  finishedAt: string;
}

/** Persisted input of each phase's invoked actor, checked when a snapshot is read back. */
export const phaseInputSchemas = {
  fetching: fetchPhaseInputSchema,
  reconciling: reconcilePhaseInputSchema,
  pushing: pushPhaseInputSchema,
  auditing: auditPhaseInputSchema,
} as const satisfies Record<Phase, z.ZodType>;

/** Every kind of phase failure; the union below has one member per kind. */
export const phaseFailureKindSchema = z.enum([
  'transient',
  'rate_limited',
  'quota_exhausted',
  'auth_failed',
  'fatal',
]);
export type PhaseFailureKind = z.infer<typeof phaseFailureKindSchema>;

const failureBase = {
  message: z.string(),
  /** HTTP status when there was a response. */
  status: z.number().int().nullable().optional(),
  /** When the failure happened (the actor's clock); the backoff is measured from it. */
  at: isoInstant,
};

/**
 * What a phase actor rejects with for an expected failure. Anything else it rejects with is a bug and
 * is treated as `fatal`.
 */
export const phaseFailureSchema = z.discriminatedUnion('kind', [
  /**
   * `retryAfterMs`, when known: the least wait before a retry can succeed (a create the CRM may still be applying),
   * honoured as a minimum so that one backoff covers it rather than several short ones spending attempts.
   */
  z.strictObject({ kind: z.literal('transient'), ...failureBase, retryAfterMs: count.optional() }),
  /** `retryAfterMs`: the provider's requested wait (Retry-After), honoured as a minimum. */
  z.strictObject({ kind: z.literal('rate_limited'), ...failureBase, retryAfterMs: count }),
  /** `resumeAt`: the ISO instant the provider's quota resets. */
  z.strictObject({ kind: z.literal('quota_exhausted'), ...failureBase, resumeAt: isoInstant }),
  z.strictObject({ kind: z.literal('auth_failed'), ...failureBase }),
  z.strictObject({ kind: z.literal('fatal'), ...failureBase }),
]) satisfies z.ZodType<{ kind: PhaseFailureKind }>;
export type PhaseFailure = z.infer<typeof phaseFailureSchema>;

/**
 * Reads whatever an invoked actor rejected with. A value that is not a `PhaseFailure` (a thrown bug,
 * a missing actor) becomes `fatal`, dated `fallbackAt` since it carries no time of its own.
 */
export function toPhaseFailure(error: unknown, fallbackAt: string): PhaseFailure {
  const parsed = phaseFailureSchema.safeParse(error);
  if (parsed.success) return parsed.data;
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'fatal', message, at: fallbackAt };
}
