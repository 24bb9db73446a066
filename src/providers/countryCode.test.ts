import { describe, expect, it } from 'vitest';
import { countryCodeOf } from './countryCode.ts';

describe('countryCodeOf', () => {
  it('reads every way agencies type the UK as GB, UK itself included (no ISO code)', () => {
    for (const text of ['UK', 'uk', 'U.K.', 'GB', 'United Kingdom', ' england ', 'The United Kingdom'])
      expect(countryCodeOf(text)).toBe('GB');
  });

  it('keeps another two-letter code and drops a name it cannot map', () => {
    expect(countryCodeOf('ie')).toBe('IE');
    expect(countryCodeOf('Ireland')).toBeNull();
    expect(countryCodeOf(null)).toBeNull();
  });
});
