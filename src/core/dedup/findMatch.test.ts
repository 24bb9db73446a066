import { describe, expect, it } from 'vitest';
import { matchKeys } from './blocking.ts';
import { findMatch } from './findMatch.ts';
import { toMatchRecord } from './matchRecord.ts';

const stored = [
  toMatchRecord('c-1', {
    firstName: 'Elizabeth',
    lastName: 'Khan',
    email: 'ekhan@outlook.com',
    address: { postcode: 'RG1 4AA' },
  }),
  toMatchRecord('c-2', {
    firstName: 'Imran',
    lastName: 'Khan',
    email: 'ekhan@outlook.com',
    address: { postcode: 'RG1 4AA' },
  }),
];

describe('findMatch', () => {
  it('finds the stored contact and explains the match for the audit log', () => {
    const incoming = toMatchRecord('crm-9', {
      firstName: 'Liz',
      lastName: 'Khan',
      email: 'EKhan+crm@outlook.com',
      address: { postcode: 'rg14aa' },
    });
    expect(findMatch(incoming, stored)).toEqual({
      recordId: 'crm-9',
      matchedId: 'c-1',
      rule: 'weightAboveThreshold',
      score: expect.any(Number),
      agreedFields: ['firstName', 'lastName', 'email', 'postcode'],
      // Liz for Elizabeth: close, not exact.
      closeFields: ['firstName'],
    });
  });

  it('does not answer with a different person who shares the e-mail', () => {
    const incoming = toMatchRecord('crm-10', {
      firstName: 'Amir',
      lastName: 'Khan',
      email: 'ekhan@outlook.com',
    });
    expect(findMatch(incoming, stored)).toBeNull();
  });

  it('gives the same answer whatever the candidate order', () => {
    const incoming = toMatchRecord('crm-9', {
      firstName: 'Elizabeth',
      lastName: 'Khan',
      email: 'ekhan@outlook.com',
    });
    const fields = { firstName: 'Elizabeth', lastName: 'Khan', email: 'ekhan@outlook.com' };
    const copies = [toMatchRecord('c-1', fields), toMatchRecord('c-0', fields)];
    expect(findMatch(incoming, copies)?.matchedId).toBe('c-0');
    expect(findMatch(incoming, [...copies].reverse())?.matchedId).toBe('c-0');
  });

  it('answers with nobody when the record matches two people, whichever has the smaller id', () => {
    const household = {
      lastName: 'Smith',
      homePhone: '0117 496 0000',
      address: { line1: '4 Elm Grove', postcode: 'BS6 6AA' },
    };
    const john = { ...household, firstName: 'John', email: 'john.smith@example.com' };
    const jane = { ...household, firstName: 'Jane', email: 'jane.smith@example.com' };
    const initial = toMatchRecord('crm-1', { ...household, firstName: 'J' });
    for (const [first, second] of [
      [john, jane],
      [jane, john],
    ]) {
      const candidates = [toMatchRecord('c-100', { ...first }), toMatchRecord('c-200', { ...second })];
      // Each alone is a match: J Smith of the same house and landline.
      expect(findMatch(initial, [candidates[0] ?? expect.unreachable()])?.matchedId).toBe('c-100');
      expect(findMatch(initial, [candidates[1] ?? expect.unreachable()])?.matchedId).toBe('c-200');
      expect(findMatch(initial, candidates)).toBeNull();
    }
    // Two records of one person still answer with the better of them.
    const again = toMatchRecord('c-300', { ...john, email: null });
    expect(['c-100', 'c-300']).toContain(
      findMatch(initial, [toMatchRecord('c-100', john), again])?.matchedId,
    );
  });

  it('answers with the stored copy of one person whose given name is spelt two ways, as the scorer reads them', () => {
    const khan = {
      lastName: 'Khan',
      dateOfBirth: '1980-03-14',
      homePhone: '0161 496 0000',
      address: { line1: '7 Park Road', postcode: 'M14 5AA' },
    };
    const incoming = toMatchRecord('crm-1', { ...khan, firstName: 'Mohammed' });
    const copies = [
      toMatchRecord('c-1', { ...khan, firstName: 'Mohammed' }),
      toMatchRecord('c-2', { ...khan, firstName: 'Muhammad' }),
    ];
    expect(findMatch(incoming, copies)?.matchedId).toBe('c-1');
  });

  it('answers with the twin the record names, of two stored twins of one house and date', () => {
    const smith = {
      lastName: 'Smith',
      dateOfBirth: '2009-06-15',
      address: { line1: '4 Elm Grove', postcode: 'BS6 6AA' },
    };
    const twins = [
      toMatchRecord('c-1', { ...smith, firstName: 'Thomas' }),
      toMatchRecord('c-2', { ...smith, firstName: 'James' }),
    ];
    expect(findMatch(toMatchRecord('crm-1', { ...smith, firstName: 'James' }), twins)?.matchedId).toBe('c-2');
    // Named by neither, or by no given name: which twin it is the record does not say.
    expect(findMatch(toMatchRecord('crm-2', { ...smith, firstName: null }), twins)).toBeNull();
    expect(findMatch(toMatchRecord('crm-3', { ...smith, firstName: 'William' }), twins)).toBeNull();
  });

  it('answers with the candidate of its own given name before a higher-scoring spelling of it', () => {
    const khan = { lastName: 'Khan', homePhone: '0161 496 0000' };
    const full = {
      ...khan,
      dateOfBirth: '1980-03-14',
      address: { line1: '7 Park Road', postcode: 'M14 5AA' },
    };
    const incoming = toMatchRecord('crm-1', { ...full, firstName: 'Mohammed' });
    const stored = [
      toMatchRecord('c-1', { ...full, firstName: 'Muhammad' }),
      toMatchRecord('c-2', { ...khan, firstName: 'Mohammed' }),
    ];
    expect(findMatch(incoming, stored)?.matchedId).toBe('c-2');
  });

  it('never answers with the incoming record itself, found among the stored candidates', () => {
    const fields = { firstName: 'Elizabeth', lastName: 'Khan', email: 'ekhan@outlook.com' };
    const incoming = toMatchRecord('c-7', fields);
    expect(findMatch(incoming, [toMatchRecord('c-7', fields)])).toBeNull();
    expect(findMatch(incoming, [toMatchRecord('c-7', fields), ...stored])?.matchedId).toBe('c-1');
  });

  it('shares a blocking key with what it should find', () => {
    const incoming = toMatchRecord('crm-9', {
      firstName: 'Liz',
      lastName: 'Khan',
      email: 'ekhan@outlook.com',
    });
    const keys = new Set(matchKeys(stored[0] ?? incoming));
    expect(matchKeys(incoming).some((k) => keys.has(k))).toBe(true);
  });
});
