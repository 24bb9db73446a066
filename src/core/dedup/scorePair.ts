import { compareDateOfBirth, compareNames, compareRecords, datesFarApart } from './compare.ts';
import type { ValueFrequencies } from './frequencies.ts';
import type { MatchRecord } from './matchRecord.ts';
import {
  type ComparisonLevel,
  farApartDatesWeight,
  fieldWeight,
  type MatchField,
  matchFields,
  matchThreshold,
  undatedOtherNameWeight,
} from './weights.ts';

/**
 * Why a pair was or was not declared one person. The conflict rules are the hard negatives: evidence that two
 * records are two people, which no amount of agreement elsewhere (shared address, phone, e-mail) outweighs.
 */
export type MatchRule =
  /** Summed weight reached `matchThreshold`. */
  | 'weightAboveThreshold'
  /** Summed weight fell short of `matchThreshold`. */
  | 'weightBelowThreshold'
  /**
   * The same e-mail address and no other field differs (each missing on one side or agreeing): one person as
   * far as anything tells, and two contacts with one address are what a CRM user calls a duplicate (HubSpot
   * matches contacts on the e-mail alone). An e-mail with little else weighs less than the threshold.
   */
  | 'sameEmailNothingDiffers'
  /**
   * Both have given names and they are neither equal, nicknames, typos nor swapped: family members, twins, a
   * couple sharing an e-mail. Only when either record holds an e-mail or mobile (see `holdsPersonalContact`).
   */
  | 'firstNameConflict'
  /**
   * Both have a date of birth, not a typo of each other (one digit, two neighbouring digits swapped, day and
   * month swapped), more than two years apart: parent and child of one name, or two people of one household.
   * Only when either record holds an e-mail or mobile (see `holdsPersonalContact`); between two records that both
   * hold one, also a generation apart when a typo would explain it (1958 / 1988 with the same day and month).
   */
  | 'dateOfBirthConflict'
  /** The titles imply different genders (Mr / Mrs). */
  | 'genderConflict'
  /** Both have middle initials and the first ones differ (John A Smith / John B Smith). */
  | 'middleInitialConflict';

export type ConflictRule = Exclude<
  MatchRule,
  'weightAboveThreshold' | 'weightBelowThreshold' | 'sameEmailNothingDiffers'
>;

/** The score of one pair, with everything the audit log needs to explain it. */
export interface PairScore {
  /** Summed Fellegi–Sunter weight in bits. */
  readonly score: number;
  /** The comparison level of every field. */
  readonly levels: Readonly<Record<MatchField, ComparisonLevel>>;
  /** Fields at level exact or close, in `matchFields` order. */
  readonly agreedFields: readonly MatchField[];
  /** Those of `agreedFields` at level close (a nickname, a typo, a transposed date), not exact. */
  readonly closeFields: readonly MatchField[];
  /** The rule that decided the pair. */
  readonly rule: MatchRule;
  /** True when the pair is declared one person. */
  readonly isMatch: boolean;
}

/**
 * Score a pair of records. With `frequencies` (from `valueFrequencies` over the batch or the tenant's contacts),
 * exact agreement on a rare name, postcode or town weighs more than on a common one. Between two records without
 * an e-mail or mobile, another given name and a date years away are scored, not vetoed. Pure and symmetric.
 */
export function scorePair(a: MatchRecord, b: MatchRecord, frequencies?: ValueFrequencies | null): PairScore {
  const levels = compareRecords(a, b);
  const farApart = birthsFarApart(a, b, levels.dateOfBirth);
  const datesAgree = levels.dateOfBirth === 'exact' || levels.dateOfBirth === 'close';
  const otherName = levels.firstName === 'different';
  let score = 0;
  const agreedFields: MatchField[] = [];
  for (const field of matchFields) {
    const level = levels[field];
    if (field === 'firstName' && otherName && !datesAgree) score += undatedOtherNameWeight;
    else if (field === 'dateOfBirth' && farApart) score += farApartDatesWeight;
    // Between two given names or two generations, a shared landline says "one household", which the address
    // already says; it is not counted again as evidence of one person.
    else if (!(field === 'householdPhone' && (otherName || farApart)))
      score += fieldWeight(field, level, a, frequencies, b);
    if (level === 'exact' || level === 'close') agreedFields.push(field);
  }
  const conflict = conflictRule(a, b, levels, farApart);
  const rule =
    conflict ??
    (score >= matchThreshold
      ? 'weightAboveThreshold'
      : sameEmailNothingDiffers(levels)
        ? 'sameEmailNothingDiffers'
        : 'weightBelowThreshold');
  const closeFields = agreedFields.filter((field) => levels[field] === 'close');
  return {
    score,
    levels,
    agreedFields,
    closeFields,
    rule,
    isMatch: rule !== 'weightBelowThreshold' && !isConflict(rule),
  };
}

/**
 * Whether a record holds an e-mail or a mobile: details of one person. Twins and parent and child each carry
 * their own, so the given-name and date vetoes that keep them apart apply only when one side has one; between two
 * records with neither, those disagreements are scored (strongly negative, see `weights.ts`) instead.
 */
const holdsPersonalContact = (r: MatchRecord): boolean => r.email !== null || r.personalPhones.length > 0;

/** True when the rule says the two records are two different people. */
export const isConflict = (rule: MatchRule): rule is ConflictRule =>
  rule !== 'weightAboveThreshold' && rule !== 'weightBelowThreshold' && rule !== 'sameEmailNothingDiffers';

const sameEmailNothingDiffers = (levels: Readonly<Record<MatchField, ComparisonLevel>>): boolean =>
  levels.email === 'exact' && matchFields.every((field) => levels[field] !== 'different');

/**
 * Whether a conflict rule keeps the pair apart, whatever its other fields say: the same answer as
 * `isConflict(scorePair(a, b).rule)`, from the titles, middle initials, dates of birth and given names only. Most
 * stored candidates of an incoming record are other people found by a shared surname, date or place, and a caller
 * that keeps matches only (`findMatch`) skips scoring them: in first syncs of 30,000 and 100,000 generated contacts,
 * 87 % and 84 % of the candidate pairs, nine in ten of those by the given-name veto.
 */
export function cannotMatch(a: MatchRecord, b: MatchRecord): boolean {
  if (titleOrInitialConflict(a, b) !== null) return true;
  if (!vetoesApply(a, b)) return false;
  return (
    birthsFarApart(a, b, compareDateOfBirth(a, b)) ||
    generationSlip(a, b) ||
    compareNames(a, b).firstName === 'different'
  );
}

function conflictRule(
  a: MatchRecord,
  b: MatchRecord,
  levels: Record<MatchField, ComparisonLevel>,
  farApart: boolean,
): ConflictRule | null {
  if (vetoesApply(a, b) && levels.firstName === 'different') return 'firstNameConflict';
  // A new date (not one a typo explains) more than two years out is a second person: a shared e-mail, mobile or
  // address does not say otherwise, since families share them.
  if (vetoesApply(a, b) && (farApart || generationSlip(a, b))) return 'dateOfBirthConflict';
  return titleOrInitialConflict(a, b);
}

/** The conflicts that hold between any two records: titles of different genders, different middle initials. */
function titleOrInitialConflict(a: MatchRecord, b: MatchRecord): ConflictRule | null {
  if (a.gender !== null && b.gender !== null && a.gender !== b.gender) return 'genderConflict';
  const aInitial = a.middleInitials[0];
  const bInitial = b.middleInitials[0];
  if (aInitial !== undefined && bInitial !== undefined && aInitial !== bInitial)
    return 'middleInitialConflict';
  return null;
}

/** The given-name and date vetoes apply when either record holds details of one person (`holdsPersonalContact`). */
const vetoesApply = (a: MatchRecord, b: MatchRecord): boolean =>
  holdsPersonalContact(a) || holdsPersonalContact(b);

/**
 * Dates of birth a generation apart (15 years or more) between two records that each hold details of one person:
 * a typo may explain the date (1958 / 1988), but with the same day and month a parent and child of one name, each
 * with an e-mail or mobile of their own, are as likely. Elsewhere the slip stays a typo: historical registers hold
 * many (historical_50k's recall fell from 0.673 to 0.663 when every such slip counted as a different date).
 */
const generationSlip = (a: MatchRecord, b: MatchRecord): boolean =>
  holdsPersonalContact(a) &&
  holdsPersonalContact(b) &&
  a.dateOfBirth !== null &&
  b.dateOfBirth !== null &&
  Math.abs(Date.parse(a.dateOfBirth) - Date.parse(b.dateOfBirth)) >= generationMs;
const generationMs = 15 * 365.25 * 24 * 3600 * 1000;

/** Dates of birth at level `level` that no typo explains and that lie more than two years apart. */
const birthsFarApart = (a: MatchRecord, b: MatchRecord, level: ComparisonLevel): boolean =>
  level === 'different' && datesFarApart(a.dateOfBirth ?? '', b.dateOfBirth ?? '');
