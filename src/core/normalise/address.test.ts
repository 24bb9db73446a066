import { describe, expect, it } from 'vitest';
import { normaliseAddressLine } from './address.ts';

describe('normaliseAddressLine', () => {
  it.each([
    ['12a High St.', '12a high street', '12a'],
    ['12A high street', '12a high street', '12a'],
    ['3 Park Rd', '3 park road', '3'],
    ['St John’s Ave', 'saint johns avenue', null],
    ['Flat 2, Mill Ln', 'flat 2 mill lane', null],
  ])('%s → %s', (raw, line, number) => {
    expect(normaliseAddressLine(raw)).toEqual({ line, number });
  });
});
