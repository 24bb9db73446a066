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
