import { describe, expect, it } from 'vitest';
import { candidatePairs } from './blocking.ts';
import { type MatchFields, toMatchRecord } from './matchRecord.ts';

const compared = (a: MatchFields, b: MatchFields) =>
  candidatePairs([toMatchRecord('a', a), toMatchRecord('b', b)]).length === 1;

describe('candidatePairs', () => {
  it('brings a surname typed into the given-name box to the full name at its postcode', () => {
    const postcode = { postcode: 'B21 8JE' };
    expect(
      compared(
        { firstName: 'Toft', address: postcode },
        { firstName: 'Albert', lastName: 'Toft', address: postcode },
      ),
    ).toBe(true);
  });

  it('brings an impossible date of birth to its surname and birth year', () => {
    expect(
      compared(
        { firstName: 'Kate', lastName: 'Marsden', dateOfBirth: '1859-05-73' },
        { firstName: 'Catharine', lastName: 'Marsden', dateOfBirth: '1859-05-13' },
      ),
    ).toBe(true);
  });

  it('brings a misspelt given name to the name it is a slip of, though their sounds differ', () => {
    const place = { postcode: 'RG5 4TT' };
    expect(
      compared(
        { firstName: 'Arrhur', address: place },
        { firstName: 'Arthur', lastName: 'Richardson', address: place },
      ),
    ).toBe(true);
  });

  it('brings a name with a slip that changes its sound to the same name in the same town', () => {
    const crawley = { address: { town: 'Crawley' } };
    const duncan = { ...crawley, firstName: 'Duncan', lastName: 'Macfarlane' };
    expect(compared(duncan, { ...duncan, lastName: 'Macfarkane' })).toBe(true);
    expect(compared(duncan, { ...duncan, firstName: 'Dunxam' })).toBe(true);
    expect(compared(duncan, { ...duncan, lastName: 'Macfarkane', address: { town: 'Leeds' } })).toBe(false);
  });

  it('does not compare two records with nothing selective in common', () => {
    expect(
      compared({ firstName: 'Toft', address: { town: 'Leeds' } }, { firstName: 'Albert', lastName: 'Toft' }),
    ).toBe(false);
  });
});
