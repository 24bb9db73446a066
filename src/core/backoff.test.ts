import { describe, expect, it, test } from 'vitest';
import { addMs, backoffDelayMs, DEFAULT_BACKOFF, jitterFraction, laterOf } from './backoff.ts';

describe('backoffDelayMs', () => {
  test.each([
    { attempt: 1, exponential: 30_000 },
    { attempt: 2, exponential: 60_000 },
    { attempt: 3, exponential: 120_000 },
    { attempt: 4, exponential: 240_000 },
    { attempt: 6, exponential: 900_000 },
    { attempt: 20, exponential: 900_000 },
  ])('attempt $attempt waits between half and all of $exponential ms', ({ attempt, exponential }) => {
    for (const seed of ['a', 'cycle-1:fetching:1', 'cycle-2:pushing:3', 'zzz']) {
      const delay = backoffDelayMs({ attempt, seed });
      expect(delay).toBeGreaterThanOrEqual(exponential / 2);
      expect(delay).toBeLessThanOrEqual(exponential);
    }
  });

  test.each([
    { retryAfterMs: 3_600_000, attempt: 1 },
    { retryAfterMs: 2_000_000, attempt: 9 },
  ])('honours a provider wait of $retryAfterMs ms even above the cap', ({ retryAfterMs, attempt }) => {
    expect(backoffDelayMs({ attempt, seed: 's', retryAfterMs })).toBe(retryAfterMs);
  });

  it('keeps its own delay when the provider asks for less', () => {
    const own = backoffDelayMs({ attempt: 3, seed: 's' });
    expect(backoffDelayMs({ attempt: 3, seed: 's', retryAfterMs: 1 })).toBe(own);
  });

  it('is deterministic per seed and spreads across seeds', () => {
    expect(backoffDelayMs({ attempt: 2, seed: 'c:fetching:2' })).toBe(
      backoffDelayMs({ attempt: 2, seed: 'c:fetching:2' }),
    );
    const delays = new Set(
      Array.from({ length: 50 }, (_, i) => backoffDelayMs({ attempt: 2, seed: `c${i}:fetching:2` })),
    );
    expect(delays.size).toBeGreaterThan(40);
  });

  it('uses the policy it is given', () => {
    const policy = { baseMs: 1_000, capMs: 4_000, maxAttempts: 3 };
    expect(backoffDelayMs({ attempt: 5, seed: 's', policy })).toBeLessThanOrEqual(4_000);
    // Its base too: the first retry waits between half and all of baseMs, the second of twice it.
    for (const [attempt, exponential] of [
      [1, 1_000],
      [2, 2_000],
    ] as const) {
      const delay = backoffDelayMs({ attempt, seed: 's', policy });
      expect(delay).toBeGreaterThanOrEqual(exponential / 2);
      expect(delay).toBeLessThanOrEqual(exponential);
    }
    expect(DEFAULT_BACKOFF.maxAttempts).toBe(5);
  });
});

describe('jitterFraction', () => {
  it('stays in [0, 1)', () => {
    for (let i = 0; i < 200; i++) {
      const f = jitterFraction(`seed-${i}`);
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
    }
  });
});

describe('instants', () => {
  it('adds milliseconds to an ISO instant without reading the clock', () => {
    expect(addMs('2025-01-06T09:00:00.000Z', 90_000)).toBe('2025-01-06T09:01:30.000Z');
  });

  it('picks the later instant across offsets', () => {
    expect(laterOf('2025-01-06T10:00:00+01:00', '2025-01-06T09:30:00Z')).toBe('2025-01-06T09:30:00Z');
  });
});
