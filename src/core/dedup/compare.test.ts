import { describe, expect, it } from 'vitest';
import { compareDate, compareGivenName, compareRecords } from './compare.ts';
import { type MatchFields, toMatchRecord } from './matchRecord.ts';

const levels = (a: MatchFields, b: MatchFields) =>
  compareRecords(toMatchRecord('a', a), toMatchRecord('b', b));

describe('compareDate', () => {
  it.each([
    ['1976-03-12', '1976-03-12', 'exact'],
    ['1976-03-12', '1978-03-12', 'close'],
    ['1948-05-11', '1984-05-11', 'close'],
    ['1976-03-12', '1976-03-21', 'close'],
    ['1976-03-12', '1976-12-03', 'close'],
    ['1976-03-12', '1983-07-29', 'different'],
    ['1976-03-12', null, 'missing'],
  ])('%s and %s are %s', (a, b, level) => {
    expect(compareDate(a, b)).toBe(level);
    expect(compareDate(b, a)).toBe(level);
  });
});

describe('compareGivenName', () => {
  it.each([
    ['tom', 'thomas', 'close'],
    ['rhomas', 'tom', 'close'],
    ['reggie', 'reginald', 'close'],
    ['jack', 'jake', 'different'],
    ['john', 'joan', 'different'],
    ['olivia', 'connor', 'different'],
    ['j', 'john', 'missing'],
  ])('%s and %s are %s', (a, b, level) => {
    expect(compareGivenName(a, b)).toBe(level);
    expect(compareGivenName(b, a)).toBe(level);
  });
});

describe('compareRecords', () => {
  it('reads names agreeing exactly the wrong way round as exact, and with a typo as close', () => {
    const exact = levels(
      { firstName: 'Holly', lastName: 'Thomson' },
      { firstName: 'Thomson', lastName: 'Holly' },
    );
    expect([exact.firstName, exact.lastName]).toEqual(['exact', 'exact']);
    const typo = levels(
      { firstName: 'Holly', lastName: 'Thomson' },
      { firstName: 'Thomsen', lastName: 'Holly' },
    );
    expect([typo.firstName, typo.lastName]).toEqual(['close', 'close']);
  });

  it('reads two neighbouring postcode characters swapped as close', () => {
    expect(levels({ address: { postcode: 'LS6 2AB' } }, { address: { postcode: 'LS6 2BA' } }).postcode).toBe(
      'close',
    );
  });

  it('reads line 1 typed into line 2 as close, and a bare house number as missing', () => {
    const swapped = levels(
      { address: { line1: '23 Gundulu Place', line2: 'Curringa' } },
      { address: { line1: 'Curringa', line2: 'Gundulu Place' } },
    );
    expect(swapped.addressLine1).toBe('close');
    const bare = levels({ address: { line1: '26 Namoi Place' } }, { address: { line1: '26' } });
    expect(bare.addressLine1).toBe('missing');
    const otherHouse = levels(
      { address: { line1: '26 Namoi Place' } },
      { address: { line1: '62 Namoi Place' } },
    );
    expect(otherHouse.addressLine1).toBe('different');
  });
});
