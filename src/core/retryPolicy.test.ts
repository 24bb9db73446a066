import { describe, expect, it } from 'vitest';
import { classifyFailure, parseRetryAfter, type RetrySettings } from './retryPolicy.ts';

const settings: RetrySettings = {
  maxAttempts: 3,
  waitAfter429Ms: 1000,
  transientBaseMs: 200,
  transientMaxMs: 500,
};
const now = Date.parse('2025-06-01T12:00:00Z');
const attempt = (
  status: number | null,
  extra: { attempt?: number; retryAfter?: string; quotaResetAt?: string } = {},
) => ({
  status,
  retryAfter: extra.retryAfter ?? null,
  attempt: extra.attempt ?? 1,
  nowMs: now,
  quotaResetAt: extra.quotaResetAt ?? null,
});

describe('classifyFailure', () => {
  it.each([
    [401, 'auth_failed'],
    [403, 'auth_failed'],
    [404, 'not_found'],
    [409, 'conflict'],
    [412, 'precondition_failed'],
    [400, 'validation'],
    [422, 'validation'],
  ] as const)('status %i is a final %s', (status, reason) => {
    expect(classifyFailure(attempt(status), settings)).toEqual({ retry: false, reason });
  });

  // agentOS documents a 60-second wait after a 429 and may block a key that calls sooner [G3].
  it.each(['0', '5', 'Sun, 01 Jun 2025 11:59:00 GMT'])(
    'waits at least the spec’s least wait after a 429, whatever its Retry-After says (%s)',
    (retryAfter) => {
      const fixed = { ...settings, waitAfter429Ms: 60_000, waitAfter429IsLeast: true };
      expect(classifyFailure(attempt(429, { retryAfter }), fixed)).toEqual({
        retry: true,
        reason: 'rate_limited',
        waitMs: 60_000,
      });
    },
  );

  it('waits the spec wait after a 429 without Retry-After', () => {
    expect(classifyFailure(attempt(429), settings)).toEqual({
      retry: true,
      reason: 'rate_limited',
      waitMs: 1000,
    });
  });

  it('honours Retry-After seconds and HTTP dates', () => {
    expect(classifyFailure(attempt(429, { retryAfter: '7' }), settings)).toMatchObject({ waitMs: 7000 });
    const date = new Date(now + 3000).toUTCString();
    expect(classifyFailure(attempt(429, { retryAfter: date }), settings)).toMatchObject({ waitMs: 3000 });
  });

  it('reports rate_limited with the wait once attempts are spent', () => {
    expect(classifyFailure(attempt(429, { attempt: 3 }), settings)).toEqual({
      retry: false,
      reason: 'rate_limited',
      waitMs: 1000,
    });
  });

  it('never retries a 429 when the daily quota is spent', () => {
    const resumeAt = '2025-06-02T00:00:00.000Z';
    expect(classifyFailure(attempt(429, { quotaResetAt: resumeAt }), settings)).toEqual({
      retry: false,
      reason: 'quota_exhausted',
      resumeAt,
    });
  });

  it.each([null, 500, 503, 408])('retries %s as transient with capped doubling', (status) => {
    expect(classifyFailure(attempt(status), settings)).toEqual({
      retry: true,
      reason: 'transient',
      waitMs: 200,
    });
    expect(classifyFailure(attempt(status, { attempt: 2 }), settings)).toMatchObject({ waitMs: 400 });
    expect(classifyFailure(attempt(status, { attempt: 3 }), settings)).toEqual({
      retry: false,
      reason: 'transient',
    });
  });

  it('stops doubling a transient wait at transientMaxMs', () => {
    const patient = { ...settings, maxAttempts: 10 };
    const waits = [1, 2, 3, 4, 5].map(
      (n) => (classifyFailure(attempt(503, { attempt: n }), patient) as { waitMs: number }).waitMs,
    );
    expect(waits).toEqual([200, 400, 500, 500, 500]);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    [null, null],
    ['soon', null],
    ['0', 0],
    ['1.5', 1500],
    [new Date(now - 5000).toUTCString(), 0],
    // Date.parse alone would read '-5' as a date in 2001: a wait of nothing.
    ['-5', null],
    ['99999999999', 86_400_000],
  ])('%s → %s', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});
