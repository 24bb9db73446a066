import { err, ok, type Result } from '../../core/result.ts';
import {
  type Address,
  type CanonicalContact,
  type ContactPatch,
  canonicalContactSchema,
  type MarketingConsent,
} from '../../core/schemas.ts';
import { countryCodeOf } from '../countryCode.ts';
import type { InboundRecord, InboundRecordError } from '../provider.ts';
import { recordError, textOrNull } from '../records.ts';
import {
  type LoopAddress,
  type LoopContact,
  type LoopContactWrite,
  type LoopPhone,
  type LoopPhoneType,
  loopContactSchema,
} from './schemas.ts';

/** All mapping here follows the ASSUMED Loop shape (see schemas.ts). */

const PHONE_FIELDS = { mobilePhone: 'mobile', homePhone: 'home', workPhone: 'work' } as const;
type PhoneField = keyof typeof PHONE_FIELDS;

/** A raw Loop contact → an inbound record, or a per-record error when it fails either schema. */
export function toInboundRecord(raw: unknown): Result<InboundRecord, InboundRecordError> {
  const wire = loopContactSchema.safeParse(raw);
  if (!wire.success) return err(recordError(raw, wire.error));
  const r = wire.data;
  const contact = canonicalContactSchema.safeParse({
    title: textOrNull(r.title),
    firstName: textOrNull(r.firstName),
    lastName: textOrNull(r.lastName),
    email: textOrNull(r.emails[0]),
    mobilePhone: phoneOf(r.phones, 'mobile'),
    homePhone: phoneOf(r.phones, 'home'),
    workPhone: phoneOf(r.phones, 'work'),
    address: toAddress(r.address),
    marketingConsent: toConsent(r.marketingConsent),
  });
  if (!contact.success) return err(recordError(raw, contact.error));
  // No ETag and no archive flag (ASSUMPTION): version is null and nothing is ever reported removed.
  return ok({
    externalId: r.id,
    modified: r.updatedAt,
    version: null,
    contact: contact.data,
    removed: false,
  });
}

const phoneOf = (phones: LoopPhone[], type: LoopPhoneType) =>
  textOrNull(phones.find((p) => p.type === type)?.number);

const toConsent = (value: boolean | null): MarketingConsent =>
  value === true ? 'grant' : value === false ? 'deny' : 'notAsked';

const fromConsent = (value: MarketingConsent): boolean | null =>
  value === 'grant' ? true : value === 'deny' ? false : null;

function toAddress(address: LoopAddress | null | undefined): Address | null {
  if (!address) return null;
  const result: Address = {
    line1: textOrNull(address.line1),
    line2: textOrNull(address.line2),
    line3: textOrNull(address.town),
    line4: textOrNull(address.county),
    postcode: textOrNull(address.postcode),
    countryCode: countryCodeOf(textOrNull(address.country)),
  };
  return Object.values(result).every((v) => v === null) ? null : result;
}

/**
 * `held`: Loop's country text now. Kept when it names the address's country (`United Kingdom` for `GB`), or when the
 * address has no code and the text is a name we cannot map: written as the code, or as `null`, the agency's text
 * was replaced or erased by a write of, say, the postcode.
 */
function fromAddress(address: Address | null, held: string | null): LoopAddress | null {
  if (address === null) return null;
  const heldCode = countryCodeOf(held);
  const keepHeld =
    held !== null &&
    (heldCode === address.countryCode || (heldCode === null && address.countryCode === null));
  return {
    line1: address.line1,
    line2: address.line2,
    town: address.line3,
    county: address.line4,
    postcode: address.postcode,
    country: keepHeld ? held : address.countryCode,
  };
}

/**
 * Whether writing `patch` needs the current record: e-mails and phones are arrays written whole, and an address
 * keeps the country text Loop holds (`fromAddress`).
 */
export function needsCurrent(patch: ContactPatch): boolean {
  return (
    'email' in patch ||
    Object.keys(PHONE_FIELDS).some((f) => f in patch) ||
    (patch.address !== undefined && patch.address !== null)
  );
}

/**
 * Why clearing a field of `patch` cannot be written: Loop reads the first e-mail, and the first phone of a type,
 * as the contact's, so clearing one the record holds a second of makes that second the field's value. Acknowledged,
 * the next cycle read it as an agency edit and copied it back over NurtureHub's cleared field. `null` when none.
 */
export function clearingPromotes(
  patch: ContactPatch,
  current: LoopContact,
): { field: string; message: string } | null {
  if ('email' in patch && !patch.email && current.emails.filter((e) => textOrNull(e) !== null).length > 1)
    return {
      field: 'email',
      message:
        'Loop lists its first e-mail as the contact’s: clearing it would make its second one the e-mail',
    };
  for (const field of Object.keys(PHONE_FIELDS) as PhoneField[]) {
    const type = PHONE_FIELDS[field];
    if (field in patch && !patch[field] && current.phones.filter((p) => p.type === type).length > 1)
      return {
        field,
        message: `Loop lists its first ${type} number as the contact’s: clearing it would make its second one the ${field}`,
      };
  }
  return null;
}

/**
 * A patch → a PUT body with only the members the patch touches. `current` must be given when
 * `needsCurrent(patch)`: the primary e-mail and the first phone of each type are replaced in place, other
 * entries (secondary e-mails, `other` phones) are kept.
 */
export function toLoopWrite(patch: ContactPatch, current: LoopContact | null): LoopContactWrite {
  const body: LoopContactWrite = {};
  if ('title' in patch) body.title = patch.title ?? null;
  if ('firstName' in patch) body.firstName = patch.firstName ?? null;
  if ('lastName' in patch) body.lastName = patch.lastName ?? null;
  if ('address' in patch)
    body.address = fromAddress(patch.address ?? null, current?.address?.country ?? null);
  if (patch.marketingConsent !== undefined) body.marketingConsent = fromConsent(patch.marketingConsent);
  if ('email' in patch) {
    // A new primary that is already a secondary moves first rather than being held twice (letter case is no
    // difference in an e-mail address, docs/sync-semantics.md).
    const rest = (current?.emails.slice(1) ?? []).filter(
      (e) => e.toLowerCase() !== patch.email?.toLowerCase(),
    );
    body.emails = patch.email ? [patch.email, ...rest] : rest;
  }
  const phoneFields = (Object.keys(PHONE_FIELDS) as PhoneField[]).filter((f) => f in patch);
  if (phoneFields.length > 0) {
    let phones = [...(current?.phones ?? [])];
    for (const field of phoneFields) {
      const type = PHONE_FIELDS[field];
      const value = patch[field] ?? null;
      const at = phones.findIndex((p) => p.type === type);
      if (value === null) phones = phones.filter((_, i) => i !== at);
      else if (at >= 0) phones[at] = { type, number: value };
      else phones.push({ type, number: value });
    }
    body.phones = phones;
  }
  return body;
}

/** A full canonical contact → the POST body. */
export function toLoopCreate(contact: CanonicalContact): LoopContactWrite {
  return toLoopWrite(
    {
      title: contact.title,
      firstName: contact.firstName,
      lastName: contact.lastName,
      email: contact.email,
      mobilePhone: contact.mobilePhone,
      homePhone: contact.homePhone,
      workPhone: contact.workPhone,
      address: contact.address,
      marketingConsent: contact.marketingConsent,
    },
    null,
  );
}
