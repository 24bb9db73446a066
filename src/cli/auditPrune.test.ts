import { describe, expect, it } from 'vitest';
import { parseBeforeArg } from './auditPrune.ts';
import { UsageError } from './usageError.ts';

describe('audit prune --before', () => {
  it('takes a day as midnight UTC, or an instant with a zone', () => {
    expect(parseBeforeArg('2025-01-03').toISOString()).toBe('2025-01-03T00:00:00.000Z');
    expect(parseBeforeArg('2025-01-03T10:00:00+01:00').toISOString()).toBe('2025-01-03T09:00:00.000Z');
    expect(parseBeforeArg('0001-01-01').toISOString()).toBe('0001-01-01T00:00:00.000Z');
  });

  it.each(['0000-01-01', '0000-06-01T00:00:00Z', '2025-01-03T10:00:00', '2025-02-30', 'last year'])(
    'refuses %s as a usage error, before the database sees it',
    (text) => {
      expect(() => parseBeforeArg(text)).toThrow(UsageError);
      expect(() => parseBeforeArg(text)).toThrow(`--before must be a date (2025-01-01, midnight UTC)`);
    },
  );
});
