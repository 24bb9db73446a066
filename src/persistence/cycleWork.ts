import { z } from 'zod';
import { canonicalContactSchema } from '../core/schemas.ts';
import { auditConflictSchema, auditDuplicateSchema, auditErrorSchema } from './audit.ts';
import type { ConnectionRef, StoreResult } from './store.ts';

/** Schemas and the store interface for a cycle's work in progress (tables `cycle_staging`, `cycle_notes`). */

export const stagedRecordInputSchema = z.strictObject({
  externalId: z.string().min(1),
  /** The provider's modified value, as sent. */
  modified: z.string().min(1),
  version: z.string().nullable(),
  removed: z.boolean(),
  contact: canonicalContactSchema,
  /** Content hash of the remote record (snapshot-diff providers compare it with the link's). */
  contentHash: z.string().min(1),
});
export type StagedRecordInput = z.input<typeof stagedRecordInputSchema>;

export const stagedRecordSchema = z.object({
  externalId: z.string(),
  modified: z.string(),
  version: z.string().nullable(),
  removed: z.boolean(),
  contact: canonicalContactSchema,
  contentHash: z.string(),
});
export type StagedRecord = z.infer<typeof stagedRecordSchema>;

/**
 * Key prefix of the meta note each reconciled batch of CRM records leaves, its body `{ unchanged, upserts,
 * plannedWrites }` (see `cycleNoteTotals`).
 */
export const INBOUND_NOTE_PREFIX = 'inbound:';
/** Key prefix of the error note a write the CRM refused leaves, `push:<idempotency key>` (see `cycleNoteTotals`). */
export const REFUSED_WRITE_NOTE_PREFIX = 'push:';
/**
 * Key prefix of the error note of a field left out of a write, `refusedField:<idempotency key>#<field>`: the write
 * itself is counted sent or deferred by its own note, so these count as no refused write of their own.
 */
export const REFUSED_FIELD_NOTE_PREFIX = 'refusedField:';
/** Key of the one error note of writes held because the credentials may not write; not a refusal of its own. */
export const HELD_WRITES_NOTE_KEY = 'push:write_forbidden';
/** Key of the meta note fixing the local change sequence a cycle reads up to. */
export const LOCAL_HIGH_WATER_KEY = 'localHighWater';
/** The kinds of note whose bodies the cycle's audit entry lists, checked as its items when noted. */
export const auditedNoteKinds = ['conflict', 'duplicate', 'error'] as const;
export type AuditedNoteKind = (typeof auditedNoteKinds)[number];
/** Unique per (cycle, kind): a re-run phase writing the same note again changes nothing. */
const noteKey = z.string().min(1);
export const cycleNoteSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('conflict'), key: noteKey, body: auditConflictSchema }),
  z.strictObject({ kind: z.literal('duplicate'), key: noteKey, body: auditDuplicateSchema }),
  z.strictObject({ kind: z.literal('error'), key: noteKey, body: auditErrorSchema }),
  /** One write the provider acknowledged. */
  z.strictObject({
    kind: z.literal('written'),
    key: noteKey,
    body: z.strictObject({ op: z.enum(['create', 'update']), externalId: z.string() }),
  }),
  z.strictObject({ kind: z.literal('meta'), key: noteKey, body: z.json() }),
]);
export type CycleNote = z.infer<typeof cycleNoteSchema>;
export type CycleNoteKind = CycleNote['kind'];

/** What a cycle's notes add up to (`CycleWorkStore.cycleNoteTotals`). */
export interface CycleNoteTotals {
  created: number;
  updated: number;
  unchanged: number;
  refused: number;
  conflicts: number;
  upserts: number;
  plannedWrites: number;
}

/** A cycle's staged inbound records and its notes for the audit. */
export interface CycleWorkStore {
  /**
   * Stage records of one fetched page; a record staged again (same cycle) is replaced. Answers how many of them the
   * cycle had not staged before.
   */
  stageRecords(ref: ConnectionRef & { cycleId: string; records: StagedRecordInput[] }): StoreResult<number>;
  /**
   * Unstage records of the cycle: a later page listed them as their links hold them, so the change staged earlier in
   * the cycle is one the CRM no longer holds. Answers how many were staged.
   */
  unstageRecords(ref: ConnectionRef & { cycleId: string; externalIds: string[] }): StoreResult<number>;
  /**
   * Staged records in external id order (the database's), after `afterExternalId` when given, at most `limit`.
   * Reconcile goes through them in this order and notes how far each committed batch reached.
   */
  listStaged(
    ref: ConnectionRef & { cycleId: string; afterExternalId: string | null; limit: number },
  ): StoreResult<StagedRecord[]>;
  /**
   * Of `externalIds`, those staged in the cycle, each with whether the CRM listed it as removed: one listed live the
   * CRM holds; one listed as removed (archived, Street's trash) may be gone.
   */
  stagedAmong(
    ref: ConnectionRef & { cycleId: string; externalIds: string[] },
  ): StoreResult<Array<{ externalId: string; removed: boolean }>>;
  /** The largest (modified, externalId) staged in the cycle; `null` when nothing was staged. */
  stagedHighWater(
    ref: ConnectionRef & { cycleId: string },
  ): StoreResult<{ modified: string; externalId: string } | null>;
  /** Record notes; a (kind, key) already noted keeps its first body. Answers how many were not noted before. */
  addCycleNotes(ref: ConnectionRef & { cycleId: string; notes: CycleNote[] }): StoreResult<number>;
  /** The cycle's most recent note of `kind` whose key starts with `keyPrefix`; `null` when none. */
  latestCycleNote(
    ref: ConnectionRef & { cycleId: string; kind: CycleNoteKind; keyPrefix: string },
  ): StoreResult<CycleNote | null>;
  /**
   * Counted in the database, however many notes the cycle has: the writes acknowledged by op, the inbound
   * records left unchanged (the `unchanged` of its `inbound:` meta notes), the writes the CRM refused (its
   * `push:` error notes), in every run of the cycle's push, and the conflicts noted, the contacts written
   * (`upserts`) and the CRM writes planned (`plannedWrites`) by the merge of CRM records (its `inbound:` meta
   * notes), in every run of its reconcile.
   */
  cycleNoteTotals(ref: ConnectionRef & { cycleId: string }): StoreResult<CycleNoteTotals>;
  /**
   * Of `contactIds`, those that began in NurtureHub (no origin connection) and have no link to this
   * connection yet: the contacts this connection's CRM should receive.
   */
  creationCandidates(ref: ConnectionRef & { contactIds: string[] }): StoreResult<string[]>;
  /** Drop the cycle's staging and notes; part of the audit transaction. */
  clearCycleWork(ref: ConnectionRef & { cycleId: string }): StoreResult<void>;
}
