import { jaroWinkler } from '@skyra/jaro-winkler';
import { distance } from 'fastest-levenshtein';
import { isKnownGivenName } from '../normalise/givenNames.ts';
import { areNicknames } from '../normalise/nicknames.ts';
import type { MatchRecord } from './matchRecord.ts';
import type { ComparisonLevel, MatchField } from './weights.ts';

/** Jaro-Winkler similarity at or above which two names or places count as a typo of each other. */
const similarNames = 0.9;

/** The comparison level of every field of a pair. Pure; symmetric in a and b. */
export function compareRecords(a: MatchRecord, b: MatchRecord): Record<MatchField, ComparisonLevel> {
  let firstName = compareGivenName(a.firstName, b.firstName);
  let lastName = compareSurname(a, b);
  // Given name and surname entered the wrong way round are one person, not a conflict.
  if (firstName === 'different' && isSwapped(a, b)) {
    firstName = 'close';
    lastName = 'close';
  }
  return {
    firstName,
    lastName,
    dateOfBirth: compareDate(a.dateOfBirth, b.dateOfBirth),
    email: compareEmail(a.email, b.email),
    personalPhone: compareSets(a.personalPhones, b.personalPhones),
    householdPhone: compareSets(a.householdPhones, b.householdPhones),
    postcode: comparePostcode(a, b),
    addressLine1: compareAddressLine(a, b),
    addressLine2: compareText(a.addressLine2, b.addressLine2),
    town: compareText(a.town, b.town),
  };
}

/**
 * Given names: nicknames (Bob/Robert), a shortened form (Kath/Katherine) and typos are close. Two different
 * names that are both known names (Jack/Jake, John/Joan) are different, however alike they look; a typo is only
 * assumed when one side is not a known name. A bare initial neither agrees nor conflicts when it fits, so it
 * counts as missing; one that does not fit is a conflict.
 */
export function compareGivenName(a: string | null, b: string | null): ComparisonLevel {
  if (a === null || b === null) return 'missing';
  if (a === b) return 'exact';
  if (a.length === 1 || b.length === 1) return a[0] === b[0] ? 'missing' : 'different';
  if (areNicknames(a, b)) return 'close';
  const [shorter, longer] = a.length < b.length ? [a, b] : [b, a];
  if (shorter.length >= 3 && longer.startsWith(shorter)) return 'close';
  const bothKnown = isKnownGivenName(a) && isKnownGivenName(b);
  return !bothKnown && isLooseTypo(a, b) ? 'close' : 'different';
}

/** A looser typo test for given names, used only when one of them is not a real name. */
function isLooseTypo(a: string, b: string): boolean {
  return jaroWinkler(a, b) >= 0.85 || (Math.min(a.length, b.length) >= 4 && distance(a, b) <= 1);
}

function compareSurname(a: MatchRecord, b: MatchRecord): ComparisonLevel {
  if (a.lastName === null || b.lastName === null) return 'missing';
  if (a.lastName === b.lastName) return 'exact';
  return a.lastNamePhonetic === b.lastNamePhonetic || isTypo(a.lastName, b.lastName) ? 'close' : 'different';
}

function isSwapped(a: MatchRecord, b: MatchRecord): boolean {
  const near = (x: string | null, y: string | null) => x !== null && y !== null && (x === y || isTypo(x, y));
  return near(a.firstName, b.lastName) && near(a.lastName, b.firstName);
}

/** One slip of the keyboard: high Jaro-Winkler, or a single edit in a name long enough for one edit to be noise. */
function isTypo(a: string, b: string): boolean {
  return jaroWinkler(a, b) >= similarNames || (Math.min(a.length, b.length) >= 5 && distance(a, b) <= 1);
}

/** Whether two ISO dates lie more than two years apart: a parent and child, not a typo. */
export function datesFarApart(a: string, b: string): boolean {
  return Math.abs(Date.parse(a) - Date.parse(b)) > twoYearsMs;
}
const twoYearsMs = 2 * 365.25 * 24 * 3600 * 1000;

/** Dates: one mistyped digit, or day and month swapped, is close; anything else is a different date. */
export function compareDate(a: string | null, b: string | null): ComparisonLevel {
  if (a === null || b === null) return 'missing';
  if (a === b) return 'exact';
  const [ay, am, ad] = a.split('-');
  const [by, bm, bd] = b.split('-');
  const swapped = ay === by && am === bd && ad === bm;
  return swapped || distance(a, b) <= 1 ? 'close' : 'different';
}

/** E-mails: the same local part at another domain, or a near-identical local part at the same domain, is close. */
function compareEmail(a: string | null, b: string | null): ComparisonLevel {
  if (a === null || b === null) return 'missing';
  if (a === b) return 'exact';
  const [aLocal = '', aDomain] = splitEmail(a);
  const [bLocal = '', bDomain] = splitEmail(b);
  if (aLocal === bLocal && aLocal.length >= 4) return 'close';
  return aDomain === bDomain && jaroWinkler(aLocal, bLocal) >= 0.92 ? 'close' : 'different';
}

const splitEmail = (email: string): [string, string] => {
  const at = email.lastIndexOf('@');
  return [email.slice(0, at), email.slice(at + 1)];
};

function compareSets(a: readonly string[], b: readonly string[]): ComparisonLevel {
  if (a.length === 0 || b.length === 0) return 'missing';
  return a.some((value) => b.includes(value)) ? 'exact' : 'different';
}

/** Postcodes: same sector (neighbouring streets) or one character wrong is close. */
function comparePostcode(a: MatchRecord, b: MatchRecord): ComparisonLevel {
  if (a.postcode === null || b.postcode === null) return 'missing';
  if (a.postcode === b.postcode) return 'exact';
  const sameSector = a.postcodeSector !== null && a.postcodeSector === b.postcodeSector;
  return sameSector || distance(a.postcode, b.postcode) <= 1 ? 'close' : 'different';
}

/**
 * Address line 1: a different house number is a different address however alike the street is; the same street
 * with the number missing on one side, or mistyped, is close.
 */
function compareAddressLine(a: MatchRecord, b: MatchRecord): ComparisonLevel {
  if (a.addressLine1 === null || b.addressLine1 === null) return 'missing';
  if (a.addressLine1 === b.addressLine1) return 'exact';
  if (a.houseNumber !== null && b.houseNumber !== null && a.houseNumber !== b.houseNumber) return 'different';
  const street = (r: MatchRecord, line: string) =>
    r.houseNumber ? line.slice(r.houseNumber.length).trim() : line;
  const aStreet = street(a, a.addressLine1);
  const bStreet = street(b, b.addressLine1);
  return aStreet === bStreet || jaroWinkler(aStreet, bStreet) >= similarNames ? 'close' : 'different';
}

function compareText(a: string | null, b: string | null): ComparisonLevel {
  if (a === null || b === null) return 'missing';
  if (a === b) return 'exact';
  return jaroWinkler(a, b) >= similarNames ? 'close' : 'different';
}
