import { z } from 'zod';
import { sameValue } from './canonicalJson.ts';
import {
  type FieldConflict,
  type LastPushed,
  lastPushedSchema,
  type MergeReason,
  mergeValidated,
} from './merge.ts';
import {
  type CanonicalContact,
  type ContactField,
  type ContactPatch,
  contactFields,
  fieldOwner,
  isoInstantSchema,
} from './schemas.ts';

/** What the engine knows about one inbound CRM record once link look-up and dedup have run. */
export interface InboundDecisionInput {
  externalId: string;
  /** The provider's concurrency token read with the record. */
  version: string | null;
  /** The record in canonical form (archived when the provider removed it). */
  crm: CanonicalContact;
  contentHash: string;
  /** The local contact it belongs to: linked, matched by dedup, or new. */
  contactId: string;
  /** The local contact, `null` when this record creates it. */
  local: CanonicalContact | null;
  /**
   * The record's modified instant as the CRM sent it, where it dates an edit; `null` where it does not (a snapshot
   * listing stamps every record with the time of listing). Recorded per field the CRM changes (`fieldModified`).
   */
  modified: string | null;
  /** The link's base, echo state and per-field evidence; `null` on a first link. */
  link: {
    base: CanonicalContact;
    pushedHashes: Record<string, string>;
    fieldModified?: FieldModified;
  } | null;
  /**
   * Where the local value is newer than this record: on a first link `fieldsNewerElsewhere`, on a linked record
   * `fieldsEditedLaterElsewhere`.
   */
  newerElsewhere?: ReadonlySet<ContactField>;
}

/** Per field, the ISO instant (UTC) of the CRM record's modified value when it last sent a new value of the field. */
export type FieldModified = Partial<Record<ContactField, string>>;

export interface ProviderFields {
  storedFields: readonly ContactField[];
  writableFields: readonly ContactField[];
}

/** What to write for one inbound record: the local contact, the link, and a CRM patch if any. */
export interface InboundDecision {
  contact: CanonicalContact;
  /** Whether the local contact is new or differs from what is stored. */
  localWrite: 'created' | 'updated' | 'unchanged';
  /** The link to record now. Fields in `crmPatch` keep the CRM's current value until the push is acknowledged. */
  link: {
    externalId: string;
    contactId: string;
    base: CanonicalContact;
    pushedHashes: Record<string, string>;
    remoteVersion: string | null;
    remoteHash: string;
    fieldModified: FieldModified;
  };
  crmPatch: ContactPatch;
  conflicts: FieldConflict[];
}

/**
 * Decides one inbound record (pure): a record without a local contact becomes one as it is; otherwise the
 * three-way merge of link base, CRM record and local contact gives the local contact, the CRM patch and the
 * conflicts. The new base takes the merged values except for the fields still to be pushed: if the push
 * never lands, the next merge sees them as local-only changes and plans them again.
 */
export function decideInbound(input: InboundDecisionInput, fields: ProviderFields): InboundDecision {
  const linkBase = (
    base: CanonicalContact,
    pushedHashes: Record<string, string>,
    fieldModified: FieldModified,
  ) => ({
    externalId: input.externalId,
    contactId: input.contactId,
    base,
    pushedHashes,
    remoteVersion: input.version,
    remoteHash: input.contentHash,
    fieldModified,
  });
  if (input.local === null) {
    // A CRM that holds no status gives none, on a create either: agentOS lists a person without consent as removed
    // (archived), and nothing it listed later could undo that archive, even once they had consented.
    const contact: CanonicalContact = fields.storedFields.includes('status')
      ? input.crm
      : { ...input.crm, status: 'active' };
    // Dated by the record's modified, each value the CRM owns: another CRM's first link may meet them with an older
    // copy of the person (two CRMs loaded together, or one added later that holds an address since changed here),
    // and only the dates tell the later edit. Undated, the older copy won by ownership and was sent back here.
    const at = instantOf(input.modified);
    const created: FieldModified = {};
    for (const field of fields.storedFields)
      if (at !== null && fieldOwner(field) === 'crm' && input.crm[field] !== null) created[field] = at;
    return {
      contact,
      localWrite: 'created',
      link: linkBase(input.crm, {}, created),
      crmPatch: {},
      conflicts: [],
    };
  }
  const outcome = mergeValidated({
    base: input.link?.base ?? null,
    crm: input.crm,
    local: input.local,
    lastPushed: readLastPushed(input.link?.pushedHashes),
    storedFields: fields.storedFields,
    writableFields: fields.writableFields,
    ...(input.newerElsewhere ? { newerElsewhere: input.newerElsewhere } : {}),
  });
  const pending = Object.fromEntries(
    Object.keys(outcome.crmPatch).map((field) => [field, input.crm[field as ContactField]]),
  );
  const at = instantOf(input.modified);
  const previous = input.link?.fieldModified ?? {};
  const fieldModified: FieldModified = {};
  for (const { field, reason } of outcome.decisions) {
    if (!fields.storedFields.includes(field)) continue;
    // The base keeps the CRM's value of every stored field (merged, still to be pushed, or not writable).
    const dated = crmChangedReasons.has(reason) ? at : (previous[field] ?? null);
    if (dated !== null) fieldModified[field] = dated;
  }
  return {
    contact: outcome.merged,
    localWrite: sameValue(outcome.merged, input.local) ? 'unchanged' : 'updated',
    link: linkBase({ ...outcome.nextBase, ...pending }, {}, fieldModified),
    crmPatch: outcome.crmPatch,
    conflicts: outcome.conflicts,
  };
}

/**
 * A local contact whose link saw no CRM change this cycle: the CRM still holds the base, so whatever the
 * local contact changed since is a local-only change to push (pure).
 */
export function decideLocalChange(
  local: CanonicalContact,
  link: { base: CanonicalContact },
  fields: ProviderFields,
): ContactPatch {
  return mergeValidated({
    base: link.base,
    crm: link.base,
    local,
    storedFields: fields.storedFields,
    writableFields: fields.writableFields,
  }).crmPatch;
}

/** A local contact as stored, with when each field last changed; see `fieldsNewerElsewhere`. */
export interface StampedContact {
  contact: CanonicalContact;
  /** Per field, the ISO instant its local value last changed. */
  fieldStamps: Partial<Record<ContactField, string>>;
  createdAt: Date;
}

/**
 * The fields where a CRM record met on its first link is the older copy (pure): the local value is one another
 * CRM of the tenant holds as synced (a link's base), and it is later than this record's last modification
 * (`modified` as the CRM sent it, `null` where it dates no edit, as agentOS's listing stamp; one that is null or
 * does not parse as an instant proves nothing) by either date: its local stamp, where it changed after the contact
 * came in (a stamp from the day the contact came in dates no edit), or the `modified` of the record another CRM
 * sent it with (the record that created the contact dates its values too: two CRMs loaded together, or an address
 * changed in one CRM before NurtureHub was connected). Without this, a CRM added to a tenant with an old copy of a
 * person overrode what the tenant's other CRMs had since changed, and the old values were sent on to them.
 */
export function fieldsNewerElsewhere(
  local: StampedContact,
  crmModified: string | null,
  elsewhere: readonly HeldElsewhere[],
): Set<ContactField> {
  const modifiedMs =
    crmModified !== null && isoInstant.safeParse(crmModified).success ? Date.parse(crmModified) : Number.NaN;
  const newer = new Set<ContactField>();
  if (Number.isNaN(modifiedMs) || elsewhere.length === 0) return newer;
  const createdMs = local.createdAt.getTime();
  // NurtureHub's own fields win a first link anyway.
  for (const field of contactFields.filter((f) => fieldOwner(f) === 'crm')) {
    const stamp = local.fieldStamps[field];
    const changedMs = stamp === undefined ? Number.NaN : Date.parse(stamp);
    const heldElsewhere = elsewhere.filter(
      ({ base }) => field in base && sameValue(base[field], local.contact[field]),
    );
    if (heldElsewhere.length === 0) continue;
    // The local value is the later edit: changed here since the contact came in, or sent by another CRM with a
    // modified instant later than this record's (a value it held before either CRM's first sync).
    const stampedLater = changedMs > createdMs && changedMs > modifiedMs;
    const datedLater = heldElsewhere.some(
      ({ fieldModified }) => Date.parse(fieldModified[field] ?? '') > modifiedMs,
    );
    if (stampedLater || datedLater) newer.add(field);
  }
  return newer;
}

/**
 * Whether both sides changed a CRM-owned field this CRM stores, to different values (pure): a cheap test of which
 * linked records need what the tenant's other CRMs hold (`fieldsEditedLaterElsewhere`). Values are compared as
 * stored, so a number written another way also counts; the merge decides.
 */
export function bothChanged(
  base: CanonicalContact,
  crm: CanonicalContact,
  local: CanonicalContact,
  fields: ProviderFields,
): boolean {
  return fields.storedFields.some(
    (field) =>
      fieldOwner(field) === 'crm' &&
      !sameValue(crm[field], base[field]) &&
      !sameValue(local[field], base[field]) &&
      !sameValue(crm[field], local[field]),
  );
}

/** What another CRM of the tenant holds of a contact: its link's base and evidence, cut to the fields it stores. */
export interface HeldElsewhere {
  base: Partial<CanonicalContact>;
  fieldModified: FieldModified;
}

/**
 * The CRM-owned fields where a linked record's change is older than the local value (pure): another CRM of the
 * tenant holds the local value as synced (its link's base) and sent it with a modified instant later than this
 * record's. Between two CRMs that both changed a field, the later edit wins; otherwise the field's owner decided,
 * and the CRM whose cycle ran last won whichever edit was newer, its older value sent on to the other CRMs. A
 * `modified` that dates no edit (`null`, or not an instant) proves nothing, and a value only NurtureHub holds still
 * yields to the CRM.
 */
export function fieldsEditedLaterElsewhere(
  local: CanonicalContact,
  crmModified: string | null,
  elsewhere: readonly HeldElsewhere[],
): Set<ContactField> {
  const later = new Set<ContactField>();
  const at = instantOf(crmModified);
  if (at === null) return later;
  const modifiedMs = Date.parse(at);
  for (const field of contactFields.filter((f) => fieldOwner(f) === 'crm')) {
    const held = elsewhere.some(
      ({ base, fieldModified }) =>
        field in base &&
        sameValue(base[field], local[field]) &&
        Date.parse(fieldModified[field] ?? '') > modifiedMs,
    );
    if (held) later.add(field);
  }
  return later;
}

/**
 * `modified` as an ISO instant in UTC, or `null` where it is none. An instant UTC would put before year 1 (year 1
 * with an offset east of it) is none either: the store keeps instants as `isoInstantSchema` reads them.
 */
function instantOf(modified: string | null): string | null {
  if (modified === null || !isoInstant.safeParse(modified).success) return null;
  const ms = Date.parse(modified);
  const utc = Number.isNaN(ms) ? null : new Date(ms).toISOString();
  return utc !== null && isoInstantSchema.safeParse(utc).success ? utc : null;
}

/** The merge reasons for which the CRM changed the field since the link's base. */
const crmChangedReasons: ReadonlySet<MergeReason> = new Set([
  'only-crm-changed',
  'both-changed-to-same',
  'both-changed-resolved-by-authority',
  'both-changed-resolved-by-recency',
  'both-changed-resolved-by-withdrawal',
]);

/** An ISO-8601 instant with its offset (`Date.parse` also reads looser strings, e.g. `snapshot-7`, as dates). */
const isoInstant = z.iso.datetime({ offset: true });

/** Stored echo state that no longer parses is dropped: at worst one echo is treated as a CRM edit. */
function readLastPushed(hashes: Record<string, string> | undefined): LastPushed {
  const parsed = lastPushedSchema.safeParse(hashes ?? {});
  return parsed.success ? parsed.data : {};
}
