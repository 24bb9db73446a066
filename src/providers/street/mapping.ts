import { normalisePhone } from '../../core/normalise/phone.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { type Address, type ContactPatch, canonicalContactSchema } from '../../core/schemas.ts';
import { UK_COUNTRY_NAMES } from '../countryCode.ts';
import type { InboundRecord, InboundRecordError } from '../provider.ts';
import { recordError, textOrNull } from '../records.ts';
import { type StreetPerson, type StreetPersonUpdate, streetPersonSchema } from './schemas.ts';

type ContactPoint = {
  value?: string | null | undefined;
  notes?: string | null | undefined;
  primary?: boolean | null | undefined;
};

/** The points with the primary one first [S3], those with a value. */
const primaryFirst = (points: readonly ContactPoint[] | null | undefined) =>
  [...(points ?? [])]
    .sort((a, b) => Number(b.primary === true) - Number(a.primary === true))
    .flatMap((p) => {
      const value = textOrNull(p.value);
      return value === null ? [] : [{ value, notes: p.notes ?? null }];
    });

/** A number's notes naming it a work one (`Work`, `Office`, `Business line`). */
const workNote = /\b(work|office|business)\b/i;

/**
 * Street numbers carry no type, only free-text `notes` [S3]. ASSUMPTION: the first UK mobile number (+447…) is the
 * mobile phone and the first other number not noted as a work one the home phone; further numbers (and so any work
 * phone) are not mapped. An office number taken for the home phone went on to the tenant's other CRMs as one.
 */
function phones(points: readonly ContactPoint[] | null | undefined) {
  const numbers = primaryFirst(points);
  const isMobile = (v: string) => normalisePhone(v)?.startsWith('+447') === true;
  return {
    mobilePhone: numbers.find((n) => isMobile(n.value))?.value ?? null,
    homePhone: numbers.find((n) => !isMobile(n.value) && !workNote.test(n.notes ?? ''))?.value ?? null,
  };
}

function toAddress(a: StreetPerson['attributes']['address']): Address | null {
  if (!a) return null;
  const country = textOrNull(a.country)?.toLowerCase();
  const result: Address = {
    line1: textOrNull(a.line_1),
    line2: textOrNull(a.line_2),
    line3: textOrNull(a.line_3) ?? textOrNull(a.town),
    line4: textOrNull(a.line_4),
    postcode: textOrNull(a.postcode),
    // Street sends a country name ("United Kingdom" [S3]); only the UK ones are mapped to a code.
    countryCode: country && UK_COUNTRY_NAMES.has(country) ? 'GB' : null,
  };
  return Object.values(result).every((v) => v === null) ? null : result;
}

/**
 * A raw Street person → an inbound record, or a per-record error. `trashed`: listed with `filter[trashed]=only`,
 * which alone tells a trashed person (the Person carries no deletion attribute [S3]).
 */
export function toInboundRecord(raw: unknown, trashed: boolean): Result<InboundRecord, InboundRecordError> {
  const wire = streetPersonSchema.safeParse(raw);
  if (!wire.success) return err(recordError(raw, wire.error));
  const a = wire.data.attributes;
  const contact = canonicalContactSchema.safeParse({
    title: textOrNull(a.title),
    firstName: textOrNull(a.first_name),
    lastName: textOrNull(a.last_name),
    email: primaryFirst(a.email_addresses)[0]?.value ?? null,
    ...phones(a.telephone_numbers),
    address: toAddress(a.address),
    status: trashed ? 'archived' : 'active',
    marketingConsent:
      a.marketing_consent === true ? 'grant' : a.marketing_consent === false ? 'deny' : 'notAsked',
  });
  if (!contact.success) return err(recordError(raw, contact.error));
  return ok({
    externalId: wire.data.id,
    modified: a.updated_at,
    // No ETag or version attribute [S3].
    version: null,
    contact: contact.data,
    removed: trashed,
  });
}

/**
 * The name a patch clears where Street's PATCH takes none, as the refusal to give instead of sending it; `null`
 * when it clears neither. [S3]'s request types `first_name` and `last_name` as strings, where `title` may be null
 * (ASSUMPTION: an empty string is refused too, as a surname is).
 */
export function clearedName(
  patch: ContactPatch,
): { field: 'firstName' | 'lastName'; message: string } | null {
  if ('firstName' in patch && !patch.firstName)
    return { field: 'firstName', message: 'Street requires a first name; it cannot be cleared' };
  if ('lastName' in patch && !patch.lastName)
    return { field: 'lastName', message: 'Street requires a surname; it cannot be cleared' };
  return null;
}

/**
 * PATCH attributes with both names, which Street's request body requires whatever else changes [S3]
 * (`PersonRequestBody.required: [first_name, last_name]`): those the patch does not change are sent as the person
 * holds them (`listed`, read just before). A person without one of them in Street cannot be updated.
 */
export function withBothNames(
  attributes: StreetPersonUpdate,
  listed: { first_name?: string | null | undefined; last_name?: string | null | undefined },
): Result<StreetPersonUpdate, { field: 'firstName' | 'lastName'; message: string }> {
  const first_name = attributes.first_name ?? listed.first_name;
  const last_name = attributes.last_name ?? listed.last_name;
  if (!first_name?.trim())
    return err({
      field: 'firstName',
      message: 'Street requires both names on an update; this person has no first name there',
    });
  if (!last_name?.trim())
    return err({
      field: 'lastName',
      message: 'Street requires both names on an update; this person has no surname there',
    });
  return ok({ ...attributes, first_name, last_name });
}

/**
 * The writable part of a patch → PATCH attributes [S3]; everything else is skipped. `marketing_consent` is a
 * boolean (ASSUMPTION: Street would refuse a null): `notAsked`, like a name clear (`clearedName`), is refused by
 * `update` before this.
 */
export function toStreetUpdate(patch: ContactPatch): StreetPersonUpdate {
  const body: StreetPersonUpdate = {};
  if ('title' in patch) body.title = patch.title ?? null;
  if (patch.firstName) body.first_name = patch.firstName;
  if (patch.lastName) body.last_name = patch.lastName;
  if (patch.marketingConsent === 'grant' || patch.marketingConsent === 'deny')
    body.marketing_consent = patch.marketingConsent === 'grant';
  return body;
}
