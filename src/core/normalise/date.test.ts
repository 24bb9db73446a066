import { describe, expect, it } from 'vitest';
import { impossibleDateText, normaliseDate } from './date.ts';

describe('normaliseDate', () => {
  it.each([
    ['1983-03-07', '1983-03-07'],
    ['1983-03-07T00:00:00Z', '1983-03-07'],
    ['07/03/1983', '1983-03-07'],
    ['7/3/1983', '1983-03-07'],
    ['07-03-1983', '1983-03-07'],
    ['19830307', '1983-03-07'],
    ['29/02/2000', '2000-02-29'],
  ])('%s → %s', (raw, expected) => {
    expect(normaliseDate(raw)).toBe(expected);
  });

  it.each(['31/02/1983', '1983-13-01', '29/02/1900', '1845-01-81', 'yesterday', ''])('rejects %s', (raw) => {
    expect(normaliseDate(raw)).toBeNull();
  });

  it.each([
    ['1859-05-73', '1859-05-73'],
    ['31/02/1983', '1983-02-31'],
    ['19830230', '1983-02-30'],
  ])('keeps the impossible %s as %s, to be read as a typo', (raw, expected) => {
    expect(normaliseDate(raw)).toBeNull();
    expect(impossibleDateText(raw)).toBe(expected);
  });

  it.each(['1983-03-07', 'yesterday', ''])('gives no impossible text for %j', (raw) => {
    expect(impossibleDateText(raw)).toBeNull();
  });
});
