import { doubleMetaphone } from 'double-metaphone';
import { isKnownGivenName } from '../normalise/givenNames.ts';
import { nicknameGroups } from '../normalise/nicknames.ts';
import { typoOf } from './compare.ts';
import type { MatchRecord } from './matchRecord.ts';

/**
 * A key held by more stored contacts than this says nothing about identity (a common surname block): looking a
 * record's candidates up in the store, such a key is left out.
 */
export const MAX_HOLDERS_PER_KEY = 50;

/**
 * The blocking keys of a record: two records are compared only if they share one. Each key is selective on its
 * own (an e-mail, a phone, a surname sound at one postcode, a name with a date of birth), so the pairs compared
 * grow with the number of true near-duplicates, not with n². The store indexes these strings, so finding the
 * candidates for an incoming contact among 100,000 stored ones is a handful of index hits.
 * The prefix names the rule; keep prefixes stable, stored keys depend on them.
 * Remembered per record object (records are immutable), so blocking a batch, looking its keys up and storing
 * them compute them once.
 */
export function matchKeys(record: MatchRecord): string[] {
  let keys = keysOf.get(record);
  if (keys === undefined) {
    keys = computeMatchKeys(record);
    keysOf.set(record, keys);
  }
  return [...keys];
}

const keysOf = new WeakMap<MatchRecord, readonly string[]>();

function computeMatchKeys(record: MatchRecord): string[] {
  const keys = new Set<string>();
  const { email, dateOfBirth: dob, postcode, lastNamePhonetic: last } = record;
  if (email) keys.add(`email:${email}`);
  for (const phone of [...record.personalPhones, ...record.householdPhones]) keys.add(`phone:${phone}`);
  const firsts = firstNameKeys(record);
  // A record with one name only may hold a surname typed into the given-name box, so that name's sound stands
  // in for the surname sound (see `compareRecords`).
  const surname = last ?? firsts[0] ?? null;
  if (surname && postcode) keys.add(`surname-postcode:${surname}|${postcode}`);
  if (surname && dob) keys.add(`surname-dob:${surname}|${dob}`);
  if (record.lastName && dob && record.firstName)
    keys.add(`initial-surname-dob:${record.firstName[0]}|${record.lastName}|${dob}`);
  if (dob && postcode) keys.add(`dob-postcode:${dob}|${postcode}`);
  if (record.houseNumber && postcode) keys.add(`house-postcode:${record.houseNumber}|${postcode}`);
  // Wider nets for records whose names or address were mistyped or left out: a date of birth alone (about four
  // contacts a date in a 100,000-contact book), a surname sound within a birth year, and the mailbox name at a
  // mistyped or changed domain. Each stays far below n² and the block-size cap trims the common ones.
  if (dob) keys.add(`dob:${dob}`);
  // An impossible date (`1859-05-73`) still gives its year.
  const year = (dob ?? record.impossibleDateOfBirth)?.slice(0, 4);
  if (surname && year) keys.add(`surname-year:${surname}|${year}`);
  if (email) keys.add(`email-local:${email.slice(0, email.lastIndexOf('@'))}`);
  for (const key of slipKeys(record, firsts[0], last)) keys.add(key);
  for (const first of firsts) {
    // Sorted, so a given name and surname entered the wrong way round still meet.
    if (last) keys.add(`name:${[first, last].sort().join('|')}`);
    if (dob) keys.add(`forename-dob:${first}|${dob}`);
    if (postcode) keys.add(`forename-postcode:${first}|${postcode}`);
  }
  return [...keys];
}

/**
 * Keys for a name with one slip inside it, which changes its sound (`Macfarkane`, `Elkanzh`) but rarely both its
 * ends: each name's first three and last three letters beside the other name's sound. Only within one town (or
 * postcode sector, for a record without a town), since a surname's three letters are shared by many people.
 */
function slipKeys(
  record: MatchRecord,
  givenSound: string | undefined,
  surnameSound: string | null,
): string[] {
  const place = record.town ?? record.postcodeSector;
  const { firstName: first, lastName: last } = record;
  if (!place || !first || !last || !givenSound || !surnameSound) return [];
  const ends = (name: string) => (name.length >= 6 ? [name.slice(0, 3), name.slice(-3)] : []);
  return [
    ...ends(last).map((end, i) => `slip-surname:${givenSound}|${i}${end}|${place}`),
    ...ends(first).map((end, i) => `slip-forename:${i}${end}|${surnameSound}|${place}`),
  ];
}

/**
 * A given name's blocking forms: its Double Metaphone code (so typos meet) and its nickname rows (so Bob meets
 * Robert). A spelling that is not a known name is also filed under the names it is a slip of (`Arrhur` under
 * Arthur, whose sound differs), as `compareGivenName` reads it as close to them.
 */
function firstNameKeys(record: MatchRecord): readonly string[] {
  const first = record.firstName;
  if (first === null || first.length < 2) return [];
  const keys = [sound(first), ...record.firstNameGroups];
  if (isKnownGivenName(first)) return keys;
  for (const name of typoOf(first)) keys.push(sound(name), ...nicknameGroups(name));
  return [...new Set(keys)];
}

const sound = (name: string): string => doubleMetaphone(name)[0] || name;

/** Options for `candidatePairs`. */
export interface BlockingOptions {
  /**
   * Keys shared by more records than this are skipped: such a key (a switchboard number, a shared office
   * e-mail, "John Smith") is not selective and would make the pair count quadratic. Default 200.
   */
  readonly maxBlockSize?: number;
}

/**
 * Every pair of record indexes (i < j) sharing at least one usable key, each once, in a deterministic order.
 * Encoded as i * n + j so a batch of 100,000 needs no per-pair object.
 */
export function candidatePairs(records: readonly MatchRecord[], options: BlockingOptions = {}): number[] {
  const maxBlockSize = options.maxBlockSize ?? 200;
  const blocks = new Map<string, number[]>();
  records.forEach((record, index) => {
    for (const key of matchKeys(record)) {
      const block = blocks.get(key);
      if (block) block.push(index);
      else blocks.set(key, [index]);
    }
  });
  const n = records.length;
  const seen = new Set<number>();
  for (const block of blocks.values()) {
    if (block.length < 2 || block.length > maxBlockSize) continue;
    for (let x = 0; x < block.length; x++) {
      for (let y = x + 1; y < block.length; y++) seen.add((block[x] ?? 0) * n + (block[y] ?? 0));
    }
  }
  return [...seen].sort((p, q) => p - q);
}
