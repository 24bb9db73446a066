import { z } from 'zod';
import {
  canonicalContactSchema,
  contactFields,
  isoInstantSchema,
  storable,
  uuidSchema,
} from '../core/schemas.ts';
import { isStorableText, UNSTORABLE_TEXT } from '../core/storableText.ts';
import { baseUrlSchema } from '../providers/credentialEndpoint.ts';
import { cursorPositionSchema, providerNameSchema } from '../providers/provider.ts';

/** Zod schemas for what goes into the store (strict) and for what comes back out (rows, JSONB). */

const id = z.uuid();
const instant = z.coerce.date();
/** int8 arrives as a number from PGlite and as a string from pg. */
const bigint = z.coerce.number().int();
const jsonObject = z.record(z.string(), z.json());

export const tenantInputSchema = z.strictObject({
  // One line: a name is printed in tables and one-line messages.
  name: z
    .string()
    .trim()
    .refine(isStorableText, UNSTORABLE_TEXT)
    // One spelling of each name: `é` typed as one character or as `e` and an accent is the same name. Its
    // length is the stored one's: NFC writes a few characters as two.
    .transform((name) => name.normalize('NFC'))
    .pipe(
      z
        .string()
        .min(1)
        .max(200)
        // U+2028 and U+2029 are line breaks too, though not control characters.
        .regex(
          /^[^\p{Cc}\p{Zl}\p{Zp}]*$/u,
          'expected no control characters or line separators (line breaks, tabs, U+2028, U+2029)',
        )
        // Invisible: "Lookalike" and "Lookalike" with a zero-width space were two tenants no listing told apart, and
        // a direction override reordered the rest of a terminal's line. Joiners (U+200C, U+200D) stay: scripts
        // such as Persian spell names with them.
        .regex(
          /^[^\u00AD\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]*$/u,
          'expected no invisible characters (zero-width spaces, soft hyphens, direction marks and overrides)',
        ),
    ),
  /** Default interval between cycles of the tenant's connections. */
  syncIntervalSeconds: z.number().int().min(1).max(86_400),
  settings: jsonObject.default({}),
});
export type TenantInput = z.input<typeof tenantInputSchema>;

export const tenantSchema = z.object({
  id,
  name: z.string(),
  syncIntervalSeconds: z.number().int(),
  settings: jsonObject,
  createdAt: instant,
  updatedAt: instant,
});
export type Tenant = z.infer<typeof tenantSchema>;

export const connectionInputSchema = z.strictObject({
  tenantId: id,
  provider: providerNameSchema,
  /** Every call carries the connection's credentials to it: https, or plain http to this machine only. */
  baseUrl: baseUrlSchema,
  /** Stored encrypted; read back only through `getConnectionCredentials`. */
  credentials: jsonObject,
  enabled: z.boolean().default(true),
  /** Overrides the tenant's interval when set. */
  syncIntervalSeconds: z.number().int().min(1).max(86_400).nullable().default(null),
  /** First run; usually "now". */
  nextRunAt: z.date(),
});
export type ConnectionInput = z.input<typeof connectionInputSchema>;

export const leaseSchema = z.object({
  owner: z.string(),
  expiresAt: instant,
  heartbeatAt: instant,
});
export type Lease = z.infer<typeof leaseSchema>;

export const connectionSchema = z.object({
  id,
  tenantId: id,
  provider: providerNameSchema,
  baseUrl: z.string(),
  enabled: z.boolean(),
  /** The connection's own override, `null` when it follows the tenant. */
  syncIntervalSeconds: z.number().int().nullable(),
  /** The interval in force: override, else the tenant's. */
  effectiveIntervalSeconds: z.number().int(),
  nextRunAt: instant,
  lease: leaseSchema.nullable(),
  /** Provider cursor: moved only by `commitCycle`. `null` before the first committed cycle. */
  cursor: cursorPositionSchema.nullable(),
  /** Local change sequence already pushed to this connection. */
  localCursor: bigint,
  cursorCommittedAt: instant.nullable(),
  /**
   * When `setConnectionCredentials` last replaced the credentials (the database's clock); `null` while they are
   * the ones the connection was added with. A machine stopped in `error` for `auth_failed` before then resumes.
   */
  credentialsSetAt: instant.nullable(),
  createdAt: instant,
  updatedAt: instant,
});
export type Connection = z.infer<typeof connectionSchema>;

export const credentialsSchema = jsonObject;
export type Credentials = z.infer<typeof credentialsSchema>;

export const leaseRequestSchema = z.strictObject({
  tenantId: id,
  connectionId: id,
  /** `host:pid:uuid` of the worker; see `leaseOwner.ts`. */
  owner: z.string().min(1).max(300),
  /** A dead holder blocks the next run for at most this long. */
  ttlMs: z.number().int().min(1).max(60_000),
  now: z.date(),
});
export type LeaseRequest = z.input<typeof leaseRequestSchema>;

export const snapshotRecordSchema = z.object({
  machineVersion: z.string(),
  snapshot: z.json(),
  stateValue: z.json(),
  updatedAt: instant,
});
export type SnapshotRecord = z.infer<typeof snapshotRecordSchema>;

const fieldStampsSchema = z.partialRecord(z.enum(contactFields as [string, ...string[]]), z.iso.datetime());

export const storedContactSchema = z.object({
  id,
  contact: canonicalContactSchema,
  /** Per field: ISO instant of the last local change of its value. */
  fieldStamps: fieldStampsSchema,
  /** Local change sequence of the last change; the local cursor compares against it. */
  changeSeq: bigint,
  createdAt: instant,
  updatedAt: instant,
});
export type StoredContact = z.infer<typeof storedContactSchema>;

export const contactUpsertSchema = z.strictObject({
  id,
  contact: canonicalContactSchema,
  /**
   * The connection whose inbound record creates this contact. Recorded when the row is inserted, or on a row
   * that has none yet (first origin wins); absent for contacts that begin in NurtureHub.
   */
  originConnectionId: id.optional(),
  /**
   * The change number the contact had when the writer read it: if another write has given it a new one since, the
   * call writes nothing and fails `conflict` (the writer read it again). Absent: written whatever came between.
   */
  expectedChangeSeq: z.number().int().optional(),
});
export type ContactUpsert = z.input<typeof contactUpsertSchema>;

export const matchKeysInputSchema = z.strictObject({ contactId: id, keys: z.array(z.string().min(1)) });
export type MatchKeysInput = z.infer<typeof matchKeysInputSchema>;

export const linkInputSchema = z.strictObject({
  externalId: z.string().min(1),
  contactId: id,
  /** The contact as both sides last agreed: the base of the three-way merge. */
  base: canonicalContactSchema,
  /** Field → content hash of the value we last pushed, for echo suppression. */
  pushedHashes: z.record(z.string(), z.string()),
  /** Provider concurrency token (ETag, version) last seen. */
  remoteVersion: z.string().nullable(),
  /** Content hash of the last remote record seen (snapshot-diff providers compare it). */
  remoteHash: z.string().nullable(),
  /**
   * The contact's change sequence number when this link's record was reconciled into it; the connection's
   * next cycle does not read the contact back as a local change while it stays at that number. Absent: unknown.
   */
  syncedSeq: z.number().int().nullable().optional(),
  /**
   * Per field: when the CRM last sent a new value of it, as the record's modified instant (`fieldsEditedLaterElsewhere`).
   * A field missing has no such evidence: a value we pushed, or a CRM whose listings carry no modified instant.
   * Absent on input: none.
   */
  fieldModified: fieldStampsSchema.optional(),
});
export type LinkInput = z.input<typeof linkInputSchema>;

export const linkSchema = linkInputSchema.extend({
  connectionId: id,
  updatedAt: instant,
  fieldModified: fieldStampsSchema,
});

/** A CRM record suppressed as a duplicate, as it was when suppressed: read again unchanged, it is skipped. */
export const suppressedRecordSchema = z.strictObject({
  externalId: z.string().min(1),
  contentHash: z.string().min(1),
  remoteVersion: z.string().nullable(),
});
export type SuppressedRecord = z.infer<typeof suppressedRecordSchema>;
/** As stored: `suppressedAt` is when it was last suppressed (the engine reads its twin again an hour after). */
export const storedSuppressedRecordSchema = suppressedRecordSchema.extend({ suppressedAt: instant });
export type StoredSuppressedRecord = z.infer<typeof storedSuppressedRecordSchema>;
export type Link = z.infer<typeof linkSchema>;
/**
 * A link dropped because the CRM answered a write to its record 404 (deleted, or merged into the person's other
 * record): the base of the record the CRM keeps for the person when that record links to the contact.
 */
export const goneLinkSchema = z.strictObject({
  contactId: id,
  externalId: z.string().min(1),
  base: canonicalContactSchema,
  goneAt: instant,
});
export type GoneLink = z.infer<typeof goneLinkSchema>;

export const engagementEventSchema = z.strictObject({
  /** Unique per tenant: the same event ingested twice changes nothing. Trimmed: a sender padding an id (a line's
   * newline, a space) redelivers the same event. */
  eventId: storable(z.string().trim().min(1).max(200)),
  /** Lower case: a repeat naming the contact in other letters is the same event (`conflictingRepeats`). */
  contactId: uuidSchema,
  kind: z.enum(['email_open', 'email_click']),
  occurredAt: isoInstantSchema,
});
export type EngagementEvent = z.infer<typeof engagementEventSchema>;

/**
 * How far ahead of now an open or click may be dated: NurtureHub's clock may run a little ahead, but an event
 * dated later is bad data, and as the latest open it would stay the contact's last-open instant for good.
 */
const FUTURE_EVENT_LEEWAY_MS = 24 * 60 * 60 * 1000;
export const FUTURE_EVENT = 'is more than a day in the future';
export const isFutureEvent = (occurredAt: string, now: Date): boolean =>
  Date.parse(occurredAt) > now.getTime() + FUTURE_EVENT_LEEWAY_MS;

/**
 * Events whose id an earlier event of the same list holds with another contact, kind or time, each with the
 * earlier one's index. An event id names one open or click: a repeat that differs is bad data, and counting it a
 * duplicate would drop whichever of the two was the real one without a word.
 */
export function conflictingRepeats(
  events: readonly { eventId: string; contactId: string; kind: string; occurredAt: string }[],
): { index: number; firstIndex: number }[] {
  const firstIndexOf = new Map<string, number>();
  const conflicts: { index: number; firstIndex: number }[] = [];
  events.forEach((event, index) => {
    const firstIndex = firstIndexOf.get(event.eventId);
    if (firstIndex === undefined) {
      firstIndexOf.set(event.eventId, index);
      return;
    }
    const first = events[firstIndex];
    const same =
      first !== undefined &&
      first.contactId === event.contactId &&
      first.kind === event.kind &&
      Date.parse(first.occurredAt) === Date.parse(event.occurredAt);
    if (!same) conflicts.push({ index, firstIndex });
  });
  return conflicts;
}
export const CONFLICTING_REPEAT = 'repeats an earlier event id with another contact, type or time';
/** An event id already recorded with another contact, type or time: a different event, refused, never a duplicate. */
export const RECORDED_DIFFERENTLY = 'was recorded earlier with another contact, type or time';

export const pushKindSchema = z.enum(['create', 'update']);
export const pushStatusSchema = z.enum(['planned', 'sent', 'acknowledged', 'deferred']);
export type PushStatus = z.infer<typeof pushStatusSchema>;

export const pushPlanSchema = z.strictObject({
  idempotencyKey: z.string().min(1).max(200),
  cycleId: z.string().min(1),
  kind: pushKindSchema,
  contactId: id,
  /** Target record for updates; `null` for creates. */
  externalId: z.string().min(1).nullable(),
  payload: z.json(),
});
export type PushPlan = z.infer<typeof pushPlanSchema>;

export const pushEntrySchema = pushPlanSchema.extend({
  status: pushStatusSchema,
  /** Times the write was sent (retries count). */
  attempts: z.number().int(),
  /** The provider's id for what it stored (the new record's id for creates). */
  responseId: z.string().nullable(),
  responseVersion: z.string().nullable(),
  plannedAt: instant,
  sentAt: instant.nullable(),
  acknowledgedAt: instant.nullable(),
});
export type PushEntry = z.infer<typeof pushEntrySchema>;

export const quarantineInputSchema = z.strictObject({
  /** `null` when no id could be read; the payload hash keys the row then. */
  externalId: z.string().min(1).nullable(),
  payload: z.json(),
  error: z.string(),
  fields: z.array(z.string()),
});
export type QuarantineInput = z.infer<typeof quarantineInputSchema>;

export const quarantineEntrySchema = quarantineInputSchema.extend({
  connectionId: id,
  seenCount: z.number().int(),
  firstSeenAt: instant,
  lastSeenAt: instant,
});
export type QuarantineEntry = z.infer<typeof quarantineEntrySchema>;
