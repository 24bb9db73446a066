import { describe, expect, test } from 'vitest';
import { formatInterval, parseInterval } from './interval.ts';

describe('parseInterval', () => {
  test.each([
    ['15m', 900],
    ['1h', 3600],
    ['120s', 120],
    ['1d', 86_400],
    [' 5m ', 300],
    // The bounds themselves are allowed.
    ['1m', 60],
    ['60s', 60],
    ['24h', 86_400],
  ])('%s → %i seconds', (text, seconds) => {
    expect(parseInterval(text)).toEqual({ ok: true, value: seconds });
  });

  test.each([
    ['15', 'malformed'],
    ['m', 'malformed'],
    ['1.5h', 'malformed'],
    ['-5m', 'malformed'],
    ['30s', 'below the 1m minimum'],
    ['90s', 'not a whole number of minutes'],
    ['2d', 'above the 1d maximum'],
    // Past 2^53 the product loses its last digits: still too long, not a fraction of a minute.
    ['999999999999999999999999m', 'above the 1d maximum'],
  ])('%s is refused (%s)', (text, reason) => {
    const result = parseInterval(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(reason);
  });

  test.each([
    [900, '15m'],
    [3600, '1h'],
    [120, '2m'],
    [86_400, '1d'],
  ])('formats %i as %s and parses back', (seconds, text) => {
    expect(formatInterval(seconds)).toBe(text);
    expect(parseInterval(text)).toEqual({ ok: true, value: seconds });
  });
});
