import { z } from 'zod';
import { contactFields } from '../core/schemas.ts';
import { cursorPositionSchema, providerNameSchema } from '../providers/provider.ts';

export const auditConflictSchema = z.strictObject({
  contactId: z.string(),
  field: z.enum(contactFields as [string, ...string[]]),
  crm: z.json(),
  local: z.json(),
  winner: z.enum(['crm', 'nurturehub']),
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

export const auditEntrySchema = z.object({
  id: z.coerce.number().int(),
  tenantId: z.uuid(),
  connectionId: z.uuid(),
  provider: providerNameSchema,
  body: auditBodySchema,
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
});
export type AuditQuery = z.input<typeof auditQuerySchema>;
