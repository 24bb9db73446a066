import { z } from 'zod';
import { cursorPositionSchema, fetchWindowSchema } from '../core/cursor.ts';
import { providerNameSchema } from '../core/providerName.ts';
import { type CycleCounts, cycleCountsSchema, phaseFailureKindSchema, phaseSchema } from './phases.ts';

/**
 * The connection machine's data: input, context and the commands it accepts, as zod schemas (the
 * context is read back from the database inside persisted snapshots, so it is validated there).
 */

/** Every state the machine can be in (flat; the state value is one of these strings). */
export const connectionStates = [
  'idle',
  'fetching',
  'reconciling',
  'pushing',
  'auditing',
  'backoff',
  'error',
] as const;
export const connectionStateSchema = z.enum(connectionStates);
export type ConnectionState = z.infer<typeof connectionStateSchema>;

/** A state as the words after "is": `is idle`, `is fetching`, `is in backoff`. */
export const stateInWords = (state: ConnectionState): string =>
  state === 'backoff' || state === 'error' ? `in ${state}` : state;

const isoInstant = z.iso.datetime({ offset: true });
const count = z.number().int().min(0);

/** What creating a connection actor needs: who it is and the cursors already committed. */
export const connectionInputSchema = z.strictObject({
  connectionId: z.string().min(1),
  tenantId: z.string().min(1),
  provider: providerNameSchema,
  /** Committed provider cursor; `null` before the first completed cycle. */
  cursor: cursorPositionSchema.nullable(),
  /** Committed position in our own change log. */
  localCursor: count,
});
export type ConnectionInput = z.infer<typeof connectionInputSchema>;

/** The cycle in progress: its fixed window and what each finished phase reported. */
export const cycleSchema = z.strictObject({
  cycleId: z.string().min(1),
  startedAt: isoInstant,
  /** Fixed at cycle start: `from` is the committed cursor (inclusive), `to` the caller's upper bound. */
  window: fetchWindowSchema,
  /** Page checkpoint: a restore re-fetches from `pageToken`, never from the window start. */
  fetch: z.strictObject({
    pageToken: z.string().min(1).nullable(),
    pages: count,
    records: count,
    quarantined: count,
  }),
  reconcile: z
    .strictObject({ upserts: count, plannedWrites: count, conflicts: count, complete: z.boolean() })
    .nullable(),
  push: z.strictObject({ sent: count, deferred: count }).nullable(),
});
export type Cycle = z.infer<typeof cycleSchema>;

/** The last failure of the current cycle (cleared when a cycle completes). */
export const lastErrorSchema = z.strictObject({
  kind: phaseFailureKindSchema,
  message: z.string(),
  status: z.number().int().nullable(),
  phase: phaseSchema,
  at: isoInstant,
});
export type LastError = z.infer<typeof lastErrorSchema>;

/** Why the machine stopped in `error`; `auth_failed` also accepts `credentials.updated`. */
export const errorReasonSchema = z.enum(['auth_failed', 'fatal', 'attempts_exhausted']);
export type ErrorReason = z.infer<typeof errorReasonSchema>;

/** Summary of the last completed cycle. */
export const lastAuditSchema = z.strictObject({
  cycleId: z.string().min(1),
  startedAt: isoInstant,
  finishedAt: isoInstant,
  counts: cycleCountsSchema,
});
export type LastAudit = z.infer<typeof lastAuditSchema>;

/** The machine's context: JSON-plain, validated with this schema whenever a snapshot is read back. */
export const connectionContextSchema = z.strictObject({
  ...connectionInputSchema.shape,
  /** `null` exactly when idle. */
  cycle: cycleSchema.nullable(),
  /** Consecutive retryable failures of the current phase; reset when a phase succeeds. */
  attempt: count,
  /** Earliest instant `sync.resume` may leave `backoff`; set only in `backoff`. */
  resumeAt: isoInstant.nullable(),
  /** The phase `backoff` or `error` returns to; set only in those states. */
  resumePhase: phaseSchema.nullable(),
  lastError: lastErrorSchema.nullable(),
  /** Set only in `error`. */
  errorReason: errorReasonSchema.nullable(),
  lastAudit: lastAuditSchema.nullable(),
});
export type ConnectionContext = z.infer<typeof connectionContextSchema>;

/** Commands from outside (scheduler, operator). Times and ids are data: the machine never reads a clock. */
export const connectionCommandSchema = z.discriminatedUnion('type', [
  /** Start a cycle from `idle`; `windowTo` fixes the window's upper bound. */
  z.strictObject({
    type: z.literal('sync.requested'),
    now: isoInstant,
    cycleId: z.string().min(1),
    windowTo: isoInstant,
  }),
  /** Leave `backoff` if `resumeAt <= now`; otherwise nothing happens. */
  z.strictObject({ type: z.literal('sync.resume'), now: isoInstant }),
  /** Leave `error` into the phase that failed, with a fresh attempt budget. */
  z.strictObject({ type: z.literal('retry.requested') }),
  /** New credentials were stored: leave `error` if it was caused by `auth_failed`. */
  z.strictObject({ type: z.literal('credentials.updated') }),
  /**
   * The scheduler gave up on the cycle (its own retries ran out, e.g. the store stayed unreachable): stop in
   * `error` as a `fatal` failure of the phase in progress, so the connection waits for `retry.requested`.
   */
  z.strictObject({ type: z.literal('sync.abandoned'), message: z.string().min(1), at: isoInstant }),
]);
export type ConnectionCommand = z.infer<typeof connectionCommandSchema>;

/** Totals of a cycle from what its phases reported. */
export function cycleCounts(cycle: Cycle): CycleCounts {
  return {
    pages: cycle.fetch.pages,
    fetched: cycle.fetch.records,
    quarantined: cycle.fetch.quarantined,
    upserts: cycle.reconcile?.upserts ?? 0,
    plannedWrites: cycle.reconcile?.plannedWrites ?? 0,
    conflicts: cycle.reconcile?.conflicts ?? 0,
    sent: cycle.push?.sent ?? 0,
    deferred: cycle.push?.deferred ?? 0,
  };
}

/**
 * Failed attempts of the current phase in a row, the one that stopped the machine in `error` included. The
 * context's `attempt` counts only the failures that led to `backoff` (the next one's budget), so it alone read 4
 * after the fifth failure in a row.
 */
export function failedAttempts(state: ConnectionState, context: Pick<ConnectionContext, 'attempt'>): number {
  return state === 'error' ? context.attempt + 1 : context.attempt;
}
