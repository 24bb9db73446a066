import { z } from 'zod';
import { contentHash } from './canonicalJson.ts';
import { equivalent, same } from './equivalentValue.ts';
import { err, ok, type Result } from './result.ts';
import {
  type CanonicalContact,
  type ContactField,
  type ContactPatch,
  canonicalContactSchema,
  contactFields,
  type FieldOwner,
  fieldOwner,
} from './schemas.ts';

/**
 * Three-way, field-level merge of one linked contact: base (both sides' values at the last successful
 * sync of the link), the CRM record and the NurtureHub (local) record. Rules and examples:
 * docs/sync-semantics.md.
 */

/** Any value a canonical contact field can hold. */
export type FieldValue = CanonicalContact[ContactField];

export const mergeReasons = [
  'only-crm-changed',
  'only-local-changed',
  'both-changed-resolved-by-authority',
  'both-changed-resolved-by-recency',
  'both-changed-resolved-by-withdrawal',
  'both-changed-to-same',
  'unchanged',
] as const;
export type MergeReason = (typeof mergeReasons)[number];

/** The reasons of a real conflict: both sides changed a field to different values. */
export const conflictReasons = [
  'both-changed-resolved-by-authority',
  'both-changed-resolved-by-recency',
  'both-changed-resolved-by-withdrawal',
] as const;
export type ConflictReason = (typeof conflictReasons)[number];

/**
 * Why the CRM's value did not count as a change: the provider cannot hold the field, it is our own
 * earlier push coming back, or it is an empty engagement value that must not erase the local one.
 */
export type CrmIgnoredReason = 'not-stored' | 'echo' | 'empty';

/** How the merge decided one field; one per field of the contact, in `contactFields` order. */
export interface FieldDecision {
  /** The field decided. */
  field: ContactField;
  /** The value at the last successful sync; `null` on a first link (see `MergeOutcome.firstLink`). */
  base: FieldValue | null;
  /** The value the CRM record holds, as read. */
  crm: FieldValue;
  /** The value the NurtureHub record holds, as read. */
  local: FieldValue;
  /** The value both sides hold once the patches are applied. */
  merged: FieldValue;
  /** The side whose value was taken where the two differ; `null` when they already agree. */
  winner: FieldOwner | null;
  /** Which sides changed the field since base; see docs/sync-semantics.md. */
  reason: MergeReason;
  /** Set when the CRM's value was set aside; `not-stored` on every field outside `storedFields`. */
  crmIgnored?: CrmIgnoredReason;
}

/**
 * Both sides changed a field to different values: the field's owner won, or the local value the tenant's other
 * CRMs hold where it is the newer (`MergeOptions.newerElsewhere`), or, over consent, the side that withdrew it.
 * Kept for the audit log.
 */
export interface FieldConflict {
  /** The conflicting field. */
  field: ContactField;
  /** The value at the last successful sync; `null` on a first link. */
  base: FieldValue | null;
  /** The CRM's new value. */
  crm: FieldValue;
  /** NurtureHub's new value. */
  local: FieldValue;
  /** The side whose value was kept: the field's owner, except where the newer value elsewhere or a withdrawal won. */
  winner: FieldOwner;
  /**
   * Why it won: it owns the field (authority), the tenant's other CRMs hold its later edit (recency), or it holds
   * `deny` of marketing consent (withdrawal).
   */
  reason: ConflictReason;
}

export interface MergeOutcome {
  /** The contact both sides converge to. */
  merged: CanonicalContact;
  /**
   * What the store records as this link's base once both patches are acknowledged: `merged`, except
   * that skipped fields keep the CRM's value, since the CRM never received ours. If a patch fails,
   * keep the previous base; the next merge then re-plans the same writes.
   */
  nextBase: CanonicalContact;
  /** True when no base was given. */
  firstLink: boolean;
  /** One per field, in `contactFields` order. */
  decisions: FieldDecision[];
  /** The decisions where both sides changed a field to different values, for the audit log. */
  conflicts: FieldConflict[];
  /** Fields to write to the CRM: stored and writable fields whose CRM value differs from `merged`. */
  crmPatch: ContactPatch;
  /** Fields to write to the local record: those whose local value differs from `merged`. */
  localPatch: ContactPatch;
  /** Fields `crmPatch` would have carried but the provider cannot write. */
  skippedFields: ContactField[];
}

export const contactFieldSchema = z.enum(contactFields);

/**
 * Echo suppression state, per link: the `contentHash` of each field value the CRM acknowledged since
 * the current base was recorded. The store adds `hashPushedFields(patch)` when a push is acknowledged
 * and clears the map when it records a new base; a stale entry would hide a CRM user re-entering a
 * value we once pushed. Hashes rather than values, so the ledger keeps no second copy of personal data.
 */
export const lastPushedSchema = z.partialRecord(
  contactFieldSchema,
  z.string().regex(/^[0-9a-f]{64}$/, 'expected a contentHash (SHA-256 hex)'),
);
export type LastPushed = z.infer<typeof lastPushedSchema>;

/** The `lastPushed` entries for a patch the CRM has acknowledged. */
export function hashPushedFields(patch: ContactPatch): LastPushed {
  const hashes: LastPushed = {};
  for (const field of contactFields) {
    if (field in patch) hashes[field] = contentHash(patch[field]);
  }
  return hashes;
}

export interface MergeOptions {
  /** Echo suppression state for this link; none by default. */
  lastPushed?: LastPushed;
  /**
   * Fields the provider stores (`ProviderCapabilities.storedFields`); the CRM's values of other
   * fields are ignored and never patched. Default: every field.
   */
  storedFields?: readonly ContactField[];
  /**
   * Fields the provider can update (`ProviderCapabilities.writableFields`); CRM writes to other
   * fields are returned in `skippedFields` instead of `crmPatch`. Default: every field.
   */
  writableFields?: readonly ContactField[];
  /**
   * Fields whose local value the tenant's other CRMs hold and which changed after this CRM's record was last
   * modified (on a first link `fieldsNewerElsewhere`, on a linked record `fieldsEditedLaterElsewhere`). Where both
   * sides changed the field to different values, the CRM's value is the older edit: the local value wins
   * (`both-changed-resolved-by-recency`) instead of the owner's.
   */
  newerElsewhere?: ReadonlySet<ContactField>;
}

/** Already-validated contacts, for the sync engine's hot path. */
export interface MergeValidatedParams extends MergeOptions {
  /** `null` for a first link. */
  base: CanonicalContact | null;
  /** The CRM record as read this cycle. */
  crm: CanonicalContact;
  /** The NurtureHub record as it stands. */
  local: CanonicalContact;
}

/** Untrusted input: each record is validated with `canonicalContactSchema`, missing fields default. */
export interface MergeContactParams extends Omit<MergeOptions, 'lastPushed'> {
  /** `null` for a first link. */
  base: unknown;
  /** The CRM record as read this cycle. */
  crm: unknown;
  /** The NurtureHub record as it stands. */
  local: unknown;
  /** Validated with `lastPushedSchema`; none by default. */
  lastPushed?: unknown;
}

export type MergeInputSide = 'base' | 'crm' | 'local' | 'lastPushed';

export interface MergeInputIssue {
  /** Dotted path of the failing field, e.g. `address.postcode`; `''` when the record itself is wrong. */
  path: string;
  /** What is wrong with it, from the schema. */
  message: string;
}

export interface MergeInputError {
  /** The only kind: an input failed its schema. */
  kind: 'invalid_input';
  /** The first input, in order base, crm, local, lastPushed, that failed. */
  side: MergeInputSide;
  /** Every failing field of that input. */
  fields: MergeInputIssue[];
}

/** Validates the inputs, then merges. Bad input is an `invalid_input` error naming the fields. */
export function mergeContact(params: MergeContactParams): Result<MergeOutcome, MergeInputError> {
  let base: CanonicalContact | null = null;
  if (params.base !== null) {
    const parsed = parseInput('base', canonicalContactSchema, params.base);
    if (!parsed.ok) return parsed;
    base = parsed.value;
  }
  const crm = parseInput('crm', canonicalContactSchema, params.crm);
  if (!crm.ok) return crm;
  const local = parseInput('local', canonicalContactSchema, params.local);
  if (!local.ok) return local;
  const lastPushed = parseInput('lastPushed', lastPushedSchema, params.lastPushed ?? {});
  if (!lastPushed.ok) return lastPushed;

  return ok(
    mergeValidated({
      base,
      crm: crm.value,
      local: local.value,
      lastPushed: lastPushed.value,
      ...(params.storedFields ? { storedFields: params.storedFields } : {}),
      ...(params.writableFields ? { writableFields: params.writableFields } : {}),
      ...(params.newerElsewhere ? { newerElsewhere: params.newerElsewhere } : {}),
    }),
  );
}

function parseInput<T>(
  side: MergeInputSide,
  schema: z.ZodType<T>,
  value: unknown,
): Result<T, MergeInputError> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  return err({ kind: 'invalid_input', side, fields: parsed.error.issues.flatMap(toInputIssues) });
}

function toInputIssues(issue: z.core.$ZodIssue): MergeInputIssue[] {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: [...path, key].join('.'), message: 'unknown field' }));
  }
  return [{ path: path.join('.'), message: issue.message }];
}

interface Context {
  base: CanonicalContact | null;
  crm: CanonicalContact;
  local: CanonicalContact;
  lastPushed: LastPushed;
  stored: ReadonlySet<ContactField>;
  writable: ReadonlySet<ContactField>;
  newerElsewhere: ReadonlySet<ContactField>;
}

/** The merge over validated contacts; total and deterministic. */
export function mergeValidated(params: MergeValidatedParams): MergeOutcome {
  const ctx: Context = {
    base: params.base,
    crm: params.crm,
    local: params.local,
    lastPushed: params.lastPushed ?? {},
    stored: new Set(params.storedFields ?? contactFields),
    writable: new Set(params.writableFields ?? contactFields),
    newerElsewhere: params.newerElsewhere ?? new Set(),
  };
  const merged: Partial<Record<ContactField, FieldValue>> = {};
  const nextBase: Partial<Record<ContactField, FieldValue>> = {};
  const crmPatch: Partial<Record<ContactField, FieldValue>> = {};
  const localPatch: Partial<Record<ContactField, FieldValue>> = {};
  const skippedFields: ContactField[] = [];
  const decisions: FieldDecision[] = [];
  const conflicts: FieldConflict[] = [];

  for (const field of contactFields) {
    const decision = decideField(field, ctx);
    decisions.push(decision);
    const { base, crm, local, winner, reason } = decision;
    if (winner !== null && isConflictReason(reason))
      conflicts.push({ field, base, crm, local, winner, reason });
    merged[field] = decision.merged;
    nextBase[field] = decision.merged;
    if (!same(decision.merged, decision.local)) localPatch[field] = decision.merged;
    if (ctx.stored.has(field) && !equivalent(field, decision.merged, decision.crm)) {
      if (ctx.writable.has(field)) {
        crmPatch[field] = decision.merged;
      } else {
        skippedFields.push(field);
        nextBase[field] = decision.crm;
      }
    }
  }

  return {
    // Every field was assigned its own field's value in the loop above.
    merged: merged as CanonicalContact,
    nextBase: nextBase as CanonicalContact,
    firstLink: ctx.base === null,
    decisions,
    conflicts,
    crmPatch: crmPatch as ContactPatch,
    localPatch: localPatch as ContactPatch,
    skippedFields,
  };
}

const isConflictReason = (reason: MergeReason): reason is ConflictReason =>
  (conflictReasons as readonly MergeReason[]).includes(reason);

function decideField(field: ContactField, ctx: Context): FieldDecision {
  const base = ctx.base === null ? null : ctx.base[field];
  const crm = ctx.crm[field];
  const local = ctx.local[field];
  const crmSide = crmChange(field, ctx);
  const localSide = localChange(field, ctx);

  let reason: MergeReason;
  let taken: FieldOwner;
  if (crmSide.changed && localSide.changed) {
    ({ reason, taken } = bothChanged(field, crm, local, ctx.newerElsewhere.has(field)));
  } else if (crmSide.changed) {
    reason = 'only-crm-changed';
    taken = 'crm';
  } else if (localSide.changed) {
    reason = 'only-local-changed';
    taken = 'nurturehub';
  } else {
    reason = 'unchanged';
    // Neither side changed, yet they may differ (an ignored CRM value, an empty local one): keep local,
    // unless that would erase engagement the CRM holds.
    const keepCrm = ctx.stored.has(field) && erasesEngagement(field, local, crm);
    taken = keepCrm ? 'crm' : 'nurturehub';
  }

  return {
    field,
    base,
    crm,
    local,
    merged: taken === 'crm' ? crm : local,
    winner: equivalent(field, crm, local) ? null : taken,
    reason,
    ...(crmSide.ignored ? { crmIgnored: crmSide.ignored } : {}),
  };
}

/** Who wins a field both sides changed since base, and why. */
function bothChanged(
  field: ContactField,
  crm: FieldValue,
  local: FieldValue,
  newerElsewhere: boolean,
): { reason: MergeReason; taken: FieldOwner } {
  if (equivalent(field, crm, local)) return { reason: 'both-changed-to-same', taken: 'nurturehub' };
  // A withdrawal of marketing consent wins a conflict over consent, on whichever side, over the owner and over
  // recency: a person who unsubscribed is not marketed to again because an agency's record, keyed in or edited
  // without knowing it, says grant, nor because another CRM's record dates an old grant by a later edit of another
  // field. A grant can be given again; a message sent cannot be unsent.
  if (field === 'marketingConsent' && (crm === 'deny' || local === 'deny'))
    return { reason: 'both-changed-resolved-by-withdrawal', taken: local === 'deny' ? 'nurturehub' : 'crm' };
  if (newerElsewhere) return { reason: 'both-changed-resolved-by-recency', taken: 'nurturehub' };
  return { reason: 'both-changed-resolved-by-authority', taken: fieldOwner(field) };
}

interface SideChange<TIgnored> {
  changed: boolean;
  ignored?: TIgnored;
}

function crmChange(field: ContactField, ctx: Context): SideChange<CrmIgnoredReason> {
  const crm = ctx.crm[field];
  if (!ctx.stored.has(field)) return { changed: false, ignored: 'not-stored' };
  if (!changedFromBase(field, crm, ctx.base)) return { changed: false };
  if (ctx.lastPushed[field] === contentHash(crm)) return { changed: false, ignored: 'echo' };
  if (erasesEngagement(field, crm, ctx.local[field])) return { changed: false, ignored: 'empty' };
  return { changed: true };
}

/**
 * NurtureHub's change of the field since base. Emptying engagement is one: NurtureHub owns it, and an agent taking a
 * contact out of its sequence or erasing its score means it (set aside, the CRM's old values came back at its next
 * read: a phantom enrolment). With no base an empty value is no change, so a new contact erases nothing.
 */
function localChange(field: ContactField, ctx: Context): SideChange<never> {
  return { changed: changedFromBase(field, ctx.local[field], ctx.base) };
}

/** With no base there is nothing to compare with: a value is a change when it is not empty. */
function changedFromBase(field: ContactField, value: FieldValue, base: CanonicalContact | null): boolean {
  return base === null ? !isEmpty(field, value) : !equivalent(field, value, base[field]);
}

/** An empty engagement value facing a real one on the other side: taking it would erase data. */
function erasesEngagement(field: ContactField, value: FieldValue, other: FieldValue): boolean {
  return fieldOwner(field) === 'nurturehub' && isEmpty(field, value) && !isEmpty(field, other);
}

const emptyContact: CanonicalContact = canonicalContactSchema.parse({});

/**
 * Empty: `null`, an object whose members are all `null` (a blank address), or the field's schema
 * default (`0` opens, `notAsked` consent). `status` has no empty value: `active` is a real state.
 */
export function isEmpty(field: ContactField, value: FieldValue): boolean {
  if (value === null) return true;
  if (typeof value === 'object') return Object.values(value).every((member) => member === null);
  return field !== 'status' && value === emptyContact[field];
}
