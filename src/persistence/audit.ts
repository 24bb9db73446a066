import { z } from 'zod';
import { conflictReasons } from '../core/merge.ts';
import { contactFields } from '../core/schemas.ts';
import { cursorPositionSchema, providerNameSchema } from '../providers/provider.ts';

export const auditConflictSchema = z.strictObject({
  contactId: z.string(),
  field: z.enum(contactFields as [string, ...string[]]),
  // base and reason are optional only because entries committed by earlier versions lack them; new ones hold both.
  /** The value both sides changed from: `null` on a first link. */
  base: z.json().optional(),
  crm: z.json(),
  local: z.json(),
  winner: z.enum(['crm', 'nurturehub']),
  reason: z.enum(conflictReasons).optional(),
});
export const auditDuplicateSchema = z.strictObject({
  incoming: z.string(),
  matched: z.string(),
  reason: z.string(),
});
export const auditErrorSchema = z.strictObject({
  status: z.number().int().nullable(),
  message: z.string(),
  retry: z.boolean(),
});

/** The body of one audit entry: what one cycle of one connection did, field by field. */
export const auditBodySchema = z.strictObject({
  cycleId: z.string().min(1),
  window: z.strictObject({ from: cursorPositionSchema.nullable(), to: z.string().min(1) }),
  fetched: z.number().int().min(0),
  written: z.strictObject({
    created: z.number().int().min(0),
    updated: z.number().int().min(0),
    unchanged: z.number().int().min(0),
  }),
  conflicts: z.array(auditConflictSchema),
  duplicatesSuppressed: z.array(auditDuplicateSchema),
  errors: z.array(auditErrorSchema),
  startedAt: z.iso.datetime({ offset: true }),
  finishedAt: z.iso.datetime({ offset: true }),
  outcome: z.enum(['completed', 'failed']),
});
export type AuditBody = z.infer<typeof auditBodySchema>;

/** The lists of an audit body, each with its item schema. */
export const auditItemSchemas = {
  conflicts: auditConflictSchema,
  duplicatesSuppressed: auditDuplicateSchema,
  errors: auditErrorSchema,
} as const;
export const auditListNameSchema = z.object(auditItemSchemas).keyof();
export type AuditListName = z.infer<typeof auditListNameSchema>;
export type AuditItem = z.infer<(typeof auditItemSchemas)[AuditListName]>;

const itemCount = z.number().int().min(0);
/** The full length of each list of an entry's body. */
export const auditItemCountsSchema = z.strictObject({
  conflicts: itemCount,
  duplicatesSuppressed: itemCount,
  errors: itemCount,
});

export const auditEntrySchema = z.object({
  id: z.coerce.number().int(),
  tenantId: z.uuid(),
  connectionId: z.uuid(),
  provider: providerNameSchema,
  /** The cycle's body; each list holds its first items only (`itemsPerList` of the query that read it). */
  body: auditBodySchema,
  /** Each list's full length: `listAuditItems` pages through what the body leaves out. */
  itemCounts: auditItemCountsSchema,
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const auditQuerySchema = z.strictObject({
  tenantId: z.uuid(),
  connectionId: z.uuid().optional(),
  provider: providerNameSchema.optional(),
  /** Entries whose cycle finished at or after this instant. */
  since: z.date().optional(),
  /** Paging: entries older than this id (the previous page's `nextBeforeId`). */
  beforeId: z.number().int().optional(),
  limit: z.number().int().min(1).max(1000).default(50),
  /**
   * Items kept of each list of each entry's body, cut in the database: a first sync's entry lists every
   * duplicate it suppressed (about 200,000 for a 1,000,000-contact CRM).
   */
  itemsPerList: z.number().int().min(0).max(1000).default(100),
});
export type AuditQuery = z.input<typeof auditQuerySchema>;

/** One page of one list of one audit entry. */
export const auditItemsQuerySchema = z.strictObject({
  tenantId: z.uuid(),
  auditId: z.number().int().min(1),
  list: auditListNameSchema,
  /** Items to skip, from the start of the list. */
  offset: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(1000).default(100),
});
export type AuditItemsQuery = z.input<typeof auditItemsQuerySchema>;

export const auditItemsPageSchema = z.strictObject({
  /** In the entry's order. */
  items: z.array(z.union([auditConflictSchema, auditDuplicateSchema, auditErrorSchema])),
  /** The list's full length. */
  total: itemCount,
  /** The next page's `offset`; `null` after the last item. */
  nextOffset: z.number().int().min(1).nullable(),
});
export type AuditItemsPage = z.infer<typeof auditItemsPageSchema>;

/**
 * Which audit entries `pruneAudit` removes: those of cycles that finished before `before` (of one tenant, or of
 * all), never a connection's latest entry. `dryRun` counts them and removes nothing.
 */
export const auditPruneQuerySchema = z.strictObject({
  before: z.date(),
  tenantId: z.uuid().optional(),
  dryRun: z.boolean().default(false),
});
export type AuditPruneQuery = z.input<typeof auditPruneQuerySchema>;

/** What a prune removed (or would remove) of one connection's audit log. */
export const auditPrunedSchema = z.strictObject({
  tenantId: z.uuid(),
  connectionId: z.uuid(),
  provider: providerNameSchema,
  entries: z.number().int().min(1),
  /** Their conflicts, suppressed duplicates and errors (rows of `audit_items`). */
  items: z.number().int().min(0),
  oldestFinishedAt: z.date(),
  newestFinishedAt: z.date(),
});
export type AuditPruned = z.infer<typeof auditPrunedSchema>;
