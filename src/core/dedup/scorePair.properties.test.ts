import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type MatchFields, toMatchRecord } from './matchRecord.ts';
import { cannotMatch, isConflict, scorePair } from './scorePair.ts';

/**
 * Few values per field, each pool holding the near misses the rules read (a nickname, a typo, a swapped or
 * missing name, a surname in the given-name box, dates a typo or years apart, an impossible date), so that pairs
 * meet every veto and every way around one.
 */
const pools = {
  title: [null, 'Mr', 'Mrs', 'Ms', 'Dr'],
  firstName: [
    null,
    'John',
    'Jon',
    'Johnny',
    'John A',
    'John B',
    'Mary',
    'Marie',
    'Rhomas',
    'Tom',
    'J',
    'Smith',
    'Toft',
  ],
  lastName: [null, 'Smith', 'Smyth', 'Toft', 'John', 'Mary', 'Pemberton'],
  email: [null, 'john.smith@gmail.com', 'jon.smith@gmail.com', 'mary@outlook.com'],
  mobilePhone: [null, '07700 900123', '07700 900456'],
  homePhone: [null, '0113 496 0000'],
  dateOfBirth: [
    null,
    '1975-04-12',
    '1975-04-21',
    '1975-12-04',
    '1976-04-12',
    '1979-04-12',
    '1995-04-12',
    '2001-08-30',
    '1975-04-42',
  ],
  address: [
    null,
    { line1: '12 High Street', postcode: 'LS6 2AB' },
    { line1: '3 Low Road', postcode: 'LS6 2AD' },
  ],
} as const;

const fields: fc.Arbitrary<MatchFields> = fc.record(
  Object.fromEntries(Object.entries(pools).map(([name, values]) => [name, fc.constantFrom(...values)])),
) as fc.Arbitrary<MatchFields>;
const pair = fc
  .tuple(fields, fields)
  .map(([a, b]) => [toMatchRecord('a', a), toMatchRecord('b', b)] as const);

describe('cannotMatch', () => {
  test('says a pair is kept apart exactly when scoring it ends in a conflict rule', () => {
    fc.assert(
      fc.property(pair, ([a, b]) => {
        expect(cannotMatch(a, b)).toBe(isConflict(scorePair(a, b).rule));
        expect(cannotMatch(b, a)).toBe(cannotMatch(a, b));
      }),
      { numRuns: 5_000 },
    );
  });

  test('the pools meet every rule, so the property above is tried on each', () => {
    const rules = new Set(fc.sample(pair, { numRuns: 5_000, seed: 7 }).map(([a, b]) => scorePair(a, b).rule));
    expect([...rules].sort()).toEqual([
      'dateOfBirthConflict',
      'firstNameConflict',
      'genderConflict',
      'middleInitialConflict',
      'sameEmailNothingDiffers',
      'weightAboveThreshold',
      'weightBelowThreshold',
    ]);
  });
});
