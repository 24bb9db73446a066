import type { Platform } from '@reapit/foundations-ts-definitions';
import { err, ok, type Result } from '../../core/result.ts';
import {
  type Address,
  type CanonicalContact,
  type ContactPatch,
  canonicalContactSchema,
  engagementFields,
} from '../../core/schemas.ts';
import type { InboundRecord, InboundRecordError } from '../provider.ts';
import { recordError, textOrNull } from '../records.ts';
import { type NurtureHubMetadata, type ReapitContact, reapitContactSchema } from './schemas.ts';

type ReapitAddress = NonNullable<ReapitContact['primaryAddress']>;

/** A raw Reapit contact → an inbound record, or a per-record error when it fails either schema. */
export function toInboundRecord(raw: unknown): Result<InboundRecord, InboundRecordError> {
  const wire = reapitContactSchema.safeParse(raw);
  if (!wire.success) return err(recordError(raw, wire.error));
  const r = wire.data;
  const contact = canonicalContactSchema.safeParse({
    title: textOrNull(r.title),
    firstName: textOrNull(r.forename),
    lastName: textOrNull(r.surname),
    email: textOrNull(r.email),
    mobilePhone: textOrNull(r.mobilePhone),
    homePhone: textOrNull(r.homePhone),
    workPhone: textOrNull(r.workPhone),
    address: toAddress(r.primaryAddress),
    // Reapit dates may arrive as date-times; the canonical field is a calendar date.
    dateOfBirth: textOrNull(r.dateOfBirth)?.slice(0, 10) ?? null,
    status: r.fromArchive ? 'archived' : 'active',
    marketingConsent: r.marketingConsent,
    ...engagementAsOf(r.metadata?.nurturehub ?? {}, r.modified),
  });
  if (!contact.success) return err(recordError(raw, contact.error));
  return ok({
    externalId: r.id,
    modified: r.modified,
    version: r._eTag ?? null,
    contact: contact.data,
    removed: r.fromArchive === true,
    ...(r.metadata?.nurturehubId ? { reference: r.metadata.nurturehubId } : {}),
  });
}

/** The leeway NurtureHub gives a last open or click ahead of its clock (`isFutureEvent`). */
const A_DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The engagement block as read, a last open or click dated more than a day after the record's own `modified` read as
 * none: written when the record was saved, it cannot be later, and NurtureHub refuses such a date from its own inputs
 * (it would stay the contact's latest for good). Read as none, the merge sets it aside and writes NurtureHub's back.
 */
function engagementAsOf<T extends { lastOpenedAt?: string | null; lastClickedAt?: string | null }>(
  block: T,
  modified: string,
): T {
  const latest = Date.parse(modified) + A_DAY_MS;
  const asOf = (at: string | null | undefined) =>
    typeof at === 'string' && Date.parse(at) > latest ? null : at;
  return { ...block, lastOpenedAt: asOf(block.lastOpenedAt), lastClickedAt: asOf(block.lastClickedAt) };
}

/** Building name/number and line1 fold into canonical `line1` (and back out into Reapit `line1` alone). */
function toAddress(address: ReapitAddress | null | undefined): Address | null {
  if (!address) return null;
  const line1 = textOrNull(
    [address.buildingName, address.buildingNumber, address.line1].map(textOrNull).filter(Boolean).join(' '),
  );
  const country = textOrNull(address.countryId)?.toUpperCase() ?? null;
  const result: Address = {
    line1,
    line2: textOrNull(address.line2),
    line3: textOrNull(address.line3),
    line4: textOrNull(address.line4),
    postcode: textOrNull(address.postcode),
    countryCode: country && /^[A-Z]{2}$/.test(country) ? country : null,
  };
  return Object.values(result).every((v) => v === null) ? null : result;
}

function fromAddress(address: Address | null): Platform.ContactAddressModel {
  return {
    buildingName: '',
    buildingNumber: '',
    line1: address?.line1 ?? '',
    line2: address?.line2 ?? '',
    line3: address?.line3 ?? '',
    line4: address?.line4 ?? '',
    postcode: address?.postcode ?? '',
    countryId: address?.countryCode ?? '',
  };
}

/** Canonical contact fields in a patch → Reapit's PATCH body. Engagement is handled by `engagementOf`. */
export function toReapitUpdate(patch: ContactPatch): Platform.UpdateContactModel {
  const body: Platform.UpdateContactModel = {};
  // ASSUMPTION: Reapit clears a text field when sent an empty string.
  const clear = (v: string | null | undefined) => v ?? '';
  if ('title' in patch) body.title = clear(patch.title);
  if ('firstName' in patch) body.forename = clear(patch.firstName);
  if ('lastName' in patch) body.surname = clear(patch.lastName);
  if ('email' in patch) body.email = clear(patch.email);
  if ('mobilePhone' in patch) body.mobilePhone = clear(patch.mobilePhone);
  if ('homePhone' in patch) body.homePhone = clear(patch.homePhone);
  if ('workPhone' in patch) body.workPhone = clear(patch.workPhone);
  if ('dateOfBirth' in patch) body.dateOfBirth = clear(patch.dateOfBirth);
  if (patch.marketingConsent !== undefined) body.marketingConsent = patch.marketingConsent;
  if (patch.status !== undefined) body.fromArchive = patch.status === 'archived';
  if ('address' in patch) body.primaryAddress = fromAddress(patch.address ?? null);
  return body;
}

/** The engagement block from a contact or patch; fields it lacks take their canonical defaults. */
export function engagementOf(contact: ContactPatch): NurtureHubMetadata {
  return {
    emailOpens: contact.emailOpens ?? 0,
    emailClicks: contact.emailClicks ?? 0,
    lastOpenedAt: contact.lastOpenedAt ?? null,
    lastClickedAt: contact.lastClickedAt ?? null,
    intentScore: contact.intentScore ?? null,
    nurtureSequence: contact.nurtureSequence ?? null,
  };
}

/** Which engagement fields a patch touches. */
export function engagementKeys(patch: ContactPatch): string[] {
  return engagementFields.filter((f) => f in patch);
}

/** A full canonical contact → Reapit's POST body, with our reference in `metadata`. */
export function toReapitCreate(params: {
  contact: CanonicalContact;
  reference: string;
  officeId: string;
  negotiatorId: string;
}): Platform.CreateContactModel {
  // Only the fields the contact holds: an update sends '' to clear one, which a create has no need of, and
  // `dateOfBirth: ''` is no date (`CreateContactModel` types it `date` [R3]), nor an all-empty `primaryAddress`
  // an address. A new contact is never created archived; `fromArchive` is not part of Reapit's create model.
  const { fromArchive: _, ...fields } = toReapitUpdate(params.contact);
  const held = Object.fromEntries(
    Object.entries(fields).filter(([field, value]) =>
      field === 'primaryAddress' ? params.contact.address !== null : value !== '',
    ),
  );
  return {
    ...held,
    surname: params.contact.lastName ?? '',
    marketingConsent: params.contact.marketingConsent,
    officeIds: [params.officeId],
    negotiatorIds: [params.negotiatorId],
    metadata: { nurturehubId: params.reference, nurturehub: engagementOf(params.contact) },
  };
}
