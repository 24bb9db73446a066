import { doubleMetaphone } from 'double-metaphone';
import { z } from 'zod';
import { type NormalisedAddressLine, normaliseAddressLine, normaliseTown } from '../normalise/address.ts';
import { impossibleDateText, normaliseDate } from '../normalise/date.ts';
import { normaliseEmail } from '../normalise/email.ts';
import { normaliseGivenName, normaliseSurname, titleToGender } from '../normalise/name.ts';
import { nicknameGroups } from '../normalise/nicknames.ts';
import { normalisePhone } from '../normalise/phone.ts';
import { normalisePostcode } from '../normalise/postcode.ts';

/** The contact fields matching reads, by their canonical names (`address.town` has no canonical slot). */
export const matchFieldNameSchema = z.enum([
  'title',
  'firstName',
  'lastName',
  'email',
  'mobilePhone',
  'homePhone',
  'workPhone',
  'address.line1',
  'address.line2',
  'address.postcode',
  'address.town',
  'dateOfBirth',
]);
export type MatchFieldName = z.infer<typeof matchFieldNameSchema>;

type Text = string | null | undefined;

/**
 * The raw fields of one contact as matching takes them: a `CanonicalContact` fits, and so does a CSV row
 * mapped by field name. Absent, null and blank all mean "no value".
 */
export interface MatchFields {
  readonly title?: Text;
  readonly firstName?: Text;
  readonly lastName?: Text;
  readonly email?: Text;
  readonly mobilePhone?: Text;
  readonly homePhone?: Text;
  readonly workPhone?: Text;
  readonly dateOfBirth?: Text;
  readonly address?: {
    readonly line1?: Text;
    readonly line2?: Text;
    readonly postcode?: Text;
    /** Not part of the canonical address; CSV exports carry it. */
    readonly town?: Text;
  } | null;
}

/** One contact normalised for matching: plain, JSON-safe data, computed once per record. */
export interface MatchRecord {
  /** The caller's id for the contact (local contact id, CRM id or CSV id column). */
  readonly id: string;
  /** Folded first given name (`José` → `jose`). */
  readonly firstName: string | null;
  /** Initials of further given names (`John A B` → `ab`); empty when none. */
  readonly middleInitials: string;
  /** Keys of the nickname rows the first name is in (`bob` → `robert`). */
  readonly firstNameGroups: readonly string[];
  /** Folded surname without spaces or hyphens. */
  readonly lastName: string | null;
  /** Primary Double Metaphone code of the surname. */
  readonly lastNamePhonetic: string | null;
  /** Gender implied by the title, if any. */
  readonly gender: 'male' | 'female' | null;
  /** The mailbox the address reaches (see `normaliseEmail`). */
  readonly email: string | null;
  /** E.164 UK mobile numbers (+447…), whichever field they came in: personal to one person. */
  readonly personalPhones: readonly string[];
  /** Every other number (landlines, switchboards): often shared by a household or office. */
  readonly householdPhones: readonly string[];
  /** ISO `yyyy-mm-dd`. */
  readonly dateOfBirth: string | null;
  /**
   * A date of birth typed as an impossible date (`1859-05-73`), ISO-shaped, when `dateOfBirth` is null: compared
   * only as a possible typo of a real date, never as a different one.
   */
  readonly impossibleDateOfBirth: string | null;
  /** Upper case, one space (`SW1A 1AA`). */
  readonly postcode: string | null;
  /** UK sector of the postcode (`SW1A 1`). */
  readonly postcodeSector: string | null;
  /** Address line 1 folded, street types spelt out, the flat first (see `normaliseAddressLine`). */
  readonly addressLine1: string | null;
  /** House number of line 1, after any flat. */
  readonly houseNumber: string | null;
  /** Flat, apartment or unit number of line 1. */
  readonly subPremise: string | null;
  readonly addressLine2: string | null;
  readonly town: string | null;
}

/** Normalise one contact's fields into the record every matching function works on. Pure. */
export function toMatchRecord(id: string, fields: MatchFields): MatchRecord {
  const given = normaliseGivenName(fields.firstName);
  const lastName = normaliseSurname(fields.lastName);
  const phones = [fields.mobilePhone, fields.homePhone, fields.workPhone]
    .map(normalisePhone)
    .filter((p): p is string => p !== null && !isPlaceholderPhone(p));
  const postcode = normalisePostcode(fields.address?.postcode);
  const [line1, line2] = flatWithItsBuilding(
    normaliseAddressLine(fields.address?.line1),
    normaliseAddressLine(fields.address?.line2),
  );
  return {
    id,
    firstName: given?.first ?? null,
    middleInitials: given?.middleInitials ?? '',
    firstNameGroups: given ? nicknameGroups(given.first) : [],
    lastName,
    lastNamePhonetic: lastName ? doubleMetaphone(lastName)[0] || lastName : null,
    gender: titleToGender(fields.title),
    email: normaliseEmail(fields.email),
    personalPhones: unique(phones.filter(isUkMobile)),
    householdPhones: unique(phones.filter((p) => !isUkMobile(p))),
    dateOfBirth: dateOfBirth(fields.dateOfBirth),
    impossibleDateOfBirth: impossibleDateText(fields.dateOfBirth),
    postcode: postcode?.postcode ?? null,
    postcodeSector: postcode?.sector ?? null,
    addressLine1: line1?.line ?? null,
    houseNumber: line1?.number ?? null,
    subPremise: line1?.subPremise ?? null,
    addressLine2: line2?.line ?? null,
    town: normaliseTown(fields.address?.town),
  };
}

/**
 * A flat on an address line of its own (`12 High Street` / `Flat 2`, or the other way round) joined to the
 * building's line, as `Flat 2, 12 High Street` on one line reads: left on its own line it was compared as text,
 * `flat 2` and `flat 5` close, and two people in two flats of one building matched on the building's line.
 */
function flatWithItsBuilding(line1: AddressLine, line2: AddressLine): [AddressLine, AddressLine] {
  const flatOnly = (line: AddressLine) =>
    line !== null && line.subPremise !== null && line.line === `flat ${line.subPremise}`;
  const joined = (flat: NonNullable<AddressLine>, building: NonNullable<AddressLine>) => ({
    line: `${flat.line} ${building.line}`,
    number: building.number,
    subPremise: flat.subPremise,
  });
  if (line1 !== null && line1.subPremise === null && line2 !== null && flatOnly(line2))
    return [joined(line2, line1), null];
  if (line2 !== null && line2.subPremise === null && line1 !== null && flatOnly(line1))
    return [joined(line1, line2), null];
  return [line1, line2];
}

type AddressLine = NormalisedAddressLine | null;

/**
 * Dates a system writes when it has none (1 January 1900, Excel's and SQL Server's first days), none a living
 * person's: read as missing, not as a date two people share. Two John Smiths with two e-mails and 01/01/1900 matched.
 * Not the Unix epoch: 1 January 1970 is a real birthday, and as missing it no longer kept a father from his son.
 */
const placeholderDates = new Set(['1900-01-01', '1901-01-01', '1899-12-30', '1899-12-31', '1753-01-01']);

function dateOfBirth(raw: string | null | undefined): string | null {
  const date = normaliseDate(raw);
  return date === null || placeholderDates.has(date) ? null : date;
}

/**
 * A UK number typed to fill a required field: one digit repeated after the first (`07000 000000`, `01111 111111`)
 * or the counting digits (`01234 567890`, `07123 456789`, `07987 654321`). Ofcom's drama numbers (`07700 900123`) are
 * not, nor a number with such a run inside it (`01234 567891`).
 */
function isPlaceholderPhone(e164: string): boolean {
  if (!e164.startsWith('+44')) return false;
  const national = e164.slice(3);
  return /^\d(\d)\1+$/.test(national) || /^(?:1234567890|\d123456789|\d987654321)$/.test(national);
}

const isUkMobile = (e164: string): boolean => e164.startsWith('+447');
const unique = (values: string[]): string[] => [...new Set(values)];
