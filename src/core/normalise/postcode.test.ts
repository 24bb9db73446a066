import { describe, expect, it } from 'vitest';
import { normalisePostcode } from './postcode.ts';

describe('normalisePostcode', () => {
  it.each(['SW1A 1AA', 'sw1a1aa', ' Sw1A   1aA '])('%s is SW1A 1AA in sector SW1A 1', (raw) => {
    expect(normalisePostcode(raw)).toEqual({ postcode: 'SW1A 1AA', sector: 'SW1A 1' });
  });

  it('keeps a non-UK code as upper-case text without a sector', () => {
    expect(normalisePostcode(' 2119 ')).toEqual({ postcode: '2119', sector: null });
  });

  it('gives null for blank', () => {
    expect(normalisePostcode('  ')).toBeNull();
  });
});
