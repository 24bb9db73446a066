import { describe, expect, it } from 'vitest';
import { normaliseAddressLine } from './address.ts';

describe('normaliseAddressLine', () => {
  it.each([
    ['12a High St.', '12a high street', '12a', null],
    ['12A high street', '12a high street', '12a', null],
    ['3 Park Rd', '3 park road', '3', null],
    ['St John’s Ave', 'saint johns avenue', null, null],
    ['Flat 2, Mill Ln', 'flat 2 mill lane', null, '2'],
    // The flat, wherever it stands and whatever names it, is split off and written first; `St` before it is Street.
    ['Flat 2, 12 High St', 'flat 2 12 high street', '12', '2'],
    ['12 High St, Flat 2', 'flat 2 12 high street', '12', '2'],
    ['2/12 High St', 'flat 2 12 high street', '12', '2'],
    ['Apt 4b, 12 High St', 'flat 4b 12 high street', '12', '4b'],
    ['Unit C, 3 Park Rd', 'flat c 3 park road', '3', 'c'],
    ['Upper Flat, 3 Park Rd', 'upper flat 3 park road', null, null],
  ])('%s → %s', (raw, line, number, subPremise) => {
    expect(normaliseAddressLine(raw)).toEqual({ line, number, subPremise });
  });
});
