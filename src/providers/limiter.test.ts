import { describe, expect, it } from 'vitest';
import { createLimiter, spacingMs } from './limiter.ts';

describe('spacingMs', () => {
  it.each([
    [{ perSecond: 20 }, 52.5],
    [{ perMinute: 50 }, 1224],
    [{ perSecond: 20, perMinute: 600 }, 102],
    [{}, 0],
  ])('%o → %d ms', (limits, expected) => {
    expect(spacingMs(limits)).toBeCloseTo(expected, 6);
  });
});

describe('createLimiter', () => {
  it('reports a spent daily quota with the next UTC midnight, and a new day resets it', async () => {
    let now = Date.parse('2025-06-01T23:59:00Z');
    const limiter = createLimiter({ limits: { requestsPerDay: 2, rolling: true } }, { now: () => now });
    await limiter.schedule('read', async () => 1);
    expect(limiter.quotaResetAt()).toBeNull();
    await limiter.schedule('write', async () => 2);
    expect(limiter.quotaResetAt()).toBe('2025-06-02T00:00:00.000Z');
    now = Date.parse('2025-06-02T00:00:01Z');
    expect(limiter.quotaResetAt()).toBeNull();
    await limiter.stop();
  });
});
