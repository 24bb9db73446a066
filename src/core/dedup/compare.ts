import { jaroWinkler } from '@skyra/jaro-winkler';
import { distance } from 'fastest-levenshtein';
import { boundedMemo } from '../memo.ts';
import { isKnownGivenName, knownGivenNames } from '../normalise/givenNames.ts';
import { areNicknames, nicknameForms } from '../normalise/nicknames.ts';
import type { MatchRecord } from './matchRecord.ts';
import type { ComparisonLevel, MatchField } from './weights.ts';

/** Jaro-Winkler similarity at or above which two names or places count as a typo of each other. */
const similarNames = 0.9;

/** The comparison level of every field of a pair. Pure; symmetric in a and b. */
export function compareRecords(a: MatchRecord, b: MatchRecord): Record<MatchField, ComparisonLevel> {
  const names = compareNames(a, b);
  return {
    firstName: names.firstName,
    lastName: names.lastName ?? compareSurname(a, b),
    dateOfBirth: compareDateOfBirth(a, b),
    email: compareEmail(a.email, b.email),
    personalPhone: compareSets(a.personalPhones, b.personalPhones),
    householdPhone: compareSets(a.householdPhones, b.householdPhones),
    postcode: comparePostcode(a, b),
    addressLine1: compareAddressLine(a, b),
    addressLine2: compareText(a.addressLine2, b.addressLine2),
    town: compareTown(a.town, b.town),
  };
}

/**
 * The given-name level, and the surname's where the names are read across the fields (else null: the surnames
 * compare in place). A function of its own so that a look at the given names alone (`cannotMatch`) reads them as
 * `compareRecords` does.
 */
export function compareNames(
  a: MatchRecord,
  b: MatchRecord,
): { firstName: ComparisonLevel; lastName: ComparisonLevel | null } {
  const firstName = compareGivenName(a.firstName, b.firstName);
  if (firstName !== 'different') return { firstName, lastName: null };
  if (hyphenSpaced(a, b) || hyphenSpaced(b, a)) return { firstName: 'close', lastName: null };
  // Given name and surname entered the wrong way round are one person, not a conflict: exact when both agree
  // exactly across fields (as strong as agreeing in place), close when either has a typo.
  if (isSwapped(a, b)) {
    const level = a.firstName === b.lastName && a.lastName === b.firstName ? 'exact' : 'close';
    return { firstName: level, lastName: level };
  }
  // Only a surname, typed into the given-name box (`Toft` against `Albert Toft`): the given name is unknown, not a
  // second person's, and the surname is compared across the fields.
  if (surnameAsGivenName(a, b) || surnameAsGivenName(b, a)) {
    const lastName = a.firstName === b.lastName || a.lastName === b.firstName ? 'exact' : 'close';
    return { firstName: 'missing', lastName };
  }
  return { firstName, lastName: null };
}

/**
 * Given names: nicknames (Bob/Robert), a shortened form (Kath/Katherine) and typos are close. Two different
 * names that are both known names (Jack/Jake, John/Joan) are different, however alike they look; a typo is only
 * assumed when one side is not a known name, and two spellings that are both not names are close only as slips
 * from one name. A bare initial neither agrees nor conflicts when it fits, so it counts as missing; one that does
 * not fit is a conflict. Hyphenated names: see `compareHyphenatedGivenName`.
 */
export function compareGivenName(a: string | null, b: string | null): ComparisonLevel {
  if (a === null || b === null) return 'missing';
  if (a === b) return 'exact';
  if (a.length === 1 || b.length === 1) return a[0] === b[0] ? 'missing' : 'different';
  if (a.includes('-') || b.includes('-')) return compareHyphenatedGivenName(a, b);
  if (areNicknames(a, b)) return 'close';
  const aKnown = isKnownGivenName(a);
  const bKnown = isKnownGivenName(b);
  // Before the shortened form: Paul/Pauline and Louis/Louise are a brother and a sister, not one name cut short.
  if (aKnown && bKnown) return 'different';
  const [shorter, longer] = a.length < b.length ? [a, b] : [b, a];
  if (shorter.length >= 3 && longer.startsWith(shorter)) return 'close';
  if (isLooseTypo(a, b)) return 'close';
  // Two spellings that are not names, each a slip away from one name or from names of one nickname row
  // (Rhomas and Thomzs for Thomas, Thomzs and Tomm for Thomas/Tom): that name mistyped twice.
  if (!aKnown && !bKnown) {
    const bNames = typoOf(b);
    const oneName = typoOf(a).some((x) => bNames.some((y) => x === y || areNicknames(x, y)));
    return oneName ? 'close' : 'different';
  }
  // A slip of the keyboard in a nickname (Rhomas for Thomas, met as Tom): the unknown side is a typo of a name
  // that shares a nickname row with the other side.
  const [unknown, other] = aKnown ? [b, a] : [a, b];
  return nicknameForms(other).some((form) => form !== other && isLooseTypo(unknown, form))
    ? 'close'
    : 'different';
}

/**
 * `Anne Marie` typed with a space against `Anne-Marie`: the same names, the second read as a middle name (its
 * initial leads `middleInitials`). Anne alone is not Anne-Marie; Anne M. is.
 */
function hyphenSpaced(hyphenated: MatchRecord, spaced: MatchRecord): boolean {
  const [first, ...others] = hyphenated.firstName?.split('-') ?? [];
  if (others.length === 0 || spaced.firstName !== first) return false;
  return spaced.middleInitials.startsWith(others.map((part) => part[0]).join(''));
}

/**
 * A hyphenated given name is one name: Anne against Anne-Marie is a mother and her daughter, not a name cut short.
 * It is close to itself written without the hyphen or with one slip (Annemarie, Ann-Marie), and to a name of as
 * many parts each close or equal (Katie-Lynn / Kate-Lynn); anything else, its first part alone too, is different.
 */
function compareHyphenatedGivenName(a: string, b: string): ComparisonLevel {
  const aParts = a.split('-');
  const bParts = b.split('-');
  const aJoined = aParts.join('');
  const bJoined = bParts.join('');
  if (Math.min(aJoined.length, bJoined.length) >= 4 && distance(aJoined, bJoined) <= 1) return 'close';
  if (aParts.length !== bParts.length) return 'different';
  const partsAgree = aParts.every((part, i) => compareGivenName(part, bParts[i] ?? null) !== 'different');
  return partsAgree ? 'close' : 'different';
}

/**
 * The known given names an unknown spelling is a loose typo of. Only names within two letters of its length and
 * sharing its first or its last letter are tried (a slip rarely changes both ends); memoised, since the same
 * spellings recur across a batch. Blocking files a misspelt given name under these names too.
 */
export const typoOf = boundedMemo((name: string): readonly string[] =>
  knownGivenNames.filter(
    (known) =>
      Math.abs(known.length - name.length) <= 2 &&
      (known[0] === name[0] || known.at(-1) === name.at(-1)) &&
      isLooseTypo(name, known),
  ),
);

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
  return isNear(a.firstName, b.lastName) && isNear(a.lastName, b.firstName);
}

/** Whether `lone` has no surname and its given name is `full`'s surname or a typo of it. */
function surnameAsGivenName(lone: MatchRecord, full: MatchRecord): boolean {
  return lone.lastName === null && isNear(lone.firstName, full.lastName);
}

const isNear = (x: string | null, y: string | null): boolean =>
  x !== null && y !== null && (x === y || isTypo(x, y));

/** One slip of the keyboard: high Jaro-Winkler, or a single edit in a name long enough for one edit to be noise. */
function isTypo(a: string, b: string): boolean {
  return jaroWinkler(a, b) >= similarNames || (Math.min(a.length, b.length) >= 5 && distance(a, b) <= 1);
}

/**
 * Whether two dates of birth that are not a typo of each other lie more than two years apart: parent and child
 * (Sr/Jr), or two people of one name in one household. A date a year or two out may be a misremembered year.
 */
export function datesFarApart(a: string, b: string): boolean {
  return Math.abs(Date.parse(a) - Date.parse(b)) > twoYearsMs;
}
const twoYearsMs = 2 * 365.25 * 24 * 3600 * 1000;

/**
 * Dates: a slip of the keyboard is close — one digit mistyped (1976 / 1978), two neighbouring digits swapped
 * (1948 / 1984, 12 / 21) or day and month entered the wrong way round — and so is a date within a month of the
 * other (a misremembered day; Splink's "within one month" level); anything else is a different date.
 */
export function compareDate(a: string | null, b: string | null): ComparisonLevel {
  if (a === null || b === null) return 'missing';
  if (a === b) return 'exact';
  const [ay, am, ad] = a.split('-');
  const [by, bm, bd] = b.split('-');
  const swapped = ay === by && am === bd && ad === bm;
  const withinAMonth = Math.abs(Date.parse(a) - Date.parse(b)) <= oneMonthMs;
  return swapped || withinAMonth || distance(a, b) <= 1 || isTransposition(a, b) ? 'close' : 'different';
}
const oneMonthMs = 31 * 24 * 3600 * 1000;

/**
 * Dates of birth as `compareDate` reads them; an impossible date (`1859-05-73`) that is a typo of the other side's
 * date, or the same impossible text, is close, and otherwise missing: it says nothing about a different date.
 */
export function compareDateOfBirth(a: MatchRecord, b: MatchRecord): ComparisonLevel {
  const level = compareDate(a.dateOfBirth, b.dateOfBirth);
  if (level !== 'missing') return level;
  const aText = a.dateOfBirth ?? a.impossibleDateOfBirth;
  const bText = b.dateOfBirth ?? b.impossibleDateOfBirth;
  if (aText === null || bText === null) return 'missing';
  return aText === bText || compareDate(aText, bText) === 'close' ? 'close' : 'missing';
}

/** Whether b is a with exactly two neighbouring characters swapped. */
function isTransposition(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    if (first !== -1)
      return i === first + 1 && a[first] === b[i] && a[i] === b[first] && a.slice(i + 1) === b.slice(i + 1);
    first = i;
  }
  return false;
}

/**
 * E-mails: the same local part at another domain, a near-identical local part at the same domain, or a slip or
 * two of the keyboard anywhere in an address long enough for two slips to be noise, is close.
 */
function compareEmail(a: string | null, b: string | null): ComparisonLevel {
  if (a === null || b === null) return 'missing';
  if (a === b) return 'exact';
  const [aLocal = '', aDomain] = splitEmail(a);
  const [bLocal = '', bDomain] = splitEmail(b);
  if (aLocal === bLocal && aLocal.length >= 4) return 'close';
  if (aDomain === bDomain && jaroWinkler(aLocal, bLocal) >= 0.92) return 'close';
  const mistyped = Math.min(a.length, b.length) >= 10 && (distance(a, b) <= 2 || jaroWinkler(a, b) >= 0.94);
  return mistyped ? 'close' : 'different';
}

const splitEmail = (email: string): [string, string] => {
  const at = email.lastIndexOf('@');
  return [email.slice(0, at), email.slice(at + 1)];
};

function compareSets(a: readonly string[], b: readonly string[]): ComparisonLevel {
  if (a.length === 0 || b.length === 0) return 'missing';
  return a.some((value) => b.includes(value)) ? 'exact' : 'different';
}

/** Postcodes: same sector (neighbouring streets), one character wrong or two neighbours swapped is close. */
function comparePostcode(a: MatchRecord, b: MatchRecord): ComparisonLevel {
  if (a.postcode === null || b.postcode === null) return 'missing';
  if (a.postcode === b.postcode) return 'exact';
  const sameSector = a.postcodeSector !== null && a.postcodeSector === b.postcodeSector;
  const typo = distance(a.postcode, b.postcode) <= 1 || isTransposition(a.postcode, b.postcode);
  return sameSector || typo ? 'close' : 'different';
}

/**
 * Address line 1: a different house or flat number is a different address however alike the street is; the same
 * street with the number missing on one side, or mistyped, is close, and so is line 1 typed into line 2 (the street
 * of one record is the other's line 2). A bare house number against a full line is missing: the street is unknown.
 */
function compareAddressLine(a: MatchRecord, b: MatchRecord): ComparisonLevel {
  if (a.addressLine1 === null || b.addressLine1 === null) return 'missing';
  if (a.addressLine1 === b.addressLine1) return 'exact';
  if (differ(a.houseNumber, b.houseNumber) || differ(a.subPremise, b.subPremise)) return 'different';
  const aStreet = streetOf(a);
  const bStreet = streetOf(b);
  if (aStreet === '' || bStreet === '') return 'missing';
  if (aStreet === bStreet || jaroWinkler(aStreet, bStreet) >= similarNames) return 'close';
  const linesSwapped =
    (a.addressLine2 !== null && jaroWinkler(aStreet, streetOf(b, b.addressLine2)) >= similarNames) ||
    (b.addressLine2 !== null && jaroWinkler(bStreet, streetOf(a, a.addressLine2)) >= similarNames);
  return linesSwapped ? 'close' : 'different';
}

/** Both present and not equal: two house numbers, or two flats, are two addresses (12 and 13 are neighbours). */
const differ = (x: string | null, y: string | null): boolean => x !== null && y !== null && x !== y;

/** A line without its leading flat and house number (line 1 by default; see `normaliseAddressLine`). */
function streetOf(r: MatchRecord, line: string | null = r.addressLine1): string {
  const flat = r.subPremise === null ? '' : `flat ${r.subPremise} `;
  const text = line?.startsWith(flat) ? line.slice(flat.length) : (line ?? '');
  return r.houseNumber && text.startsWith(r.houseNumber) ? text.slice(r.houseNumber.length).trim() : text;
}

/**
 * Towns: as `compareText`; also close are two slips of the keyboard in a name of 7+ letters (`Bimminghar`) and a
 * place whose whole name stands as words inside the other's (`Devon` / `West Devon`, `Newcastle` / `Newcastle upon
 * Tyne`): the same place written more or less fully.
 */
function compareTown(a: string | null, b: string | null): ComparisonLevel {
  const level = compareText(a, b);
  if (level !== 'different' || a === null || b === null) return level;
  const [shorter, longer] = a.length < b.length ? [a, b] : [b, a];
  const named = shorter.length >= 4 && ` ${longer} `.includes(` ${shorter} `);
  return named || (shorter.length >= 7 && distance(a, b) <= 2) ? 'close' : 'different';
}

function compareText(a: string | null, b: string | null): ComparisonLevel {
  if (a === null || b === null) return 'missing';
  if (a === b) return 'exact';
  return jaroWinkler(a, b) >= similarNames ? 'close' : 'different';
}
