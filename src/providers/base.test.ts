import { describe, expect, it } from 'vitest';
import { runPaced } from './base.ts';
import { createLimiter } from './limiter.ts';

const retry = { maxAttempts: 4, waitAfter429Ms: 60_000, transientBaseMs: 5_000, transientMaxMs: 5_000 };

/**
 * A call its phase stopped (the actor left its state, the process stopping) ends at once. It went on: each
 * attempt failed as "no answer" and was retried after its backoff, counted against the rate windows and the
 * day's quota though nothing left the process, and stopping the process waited for it (a minute behind a pause).
 */
describe('runPaced with a signal that aborts', () => {
  it('starts no further attempt and waits out no backoff', async () => {
    const limiter = createLimiter({ limits: { requestsPerDay: 100, rolling: true } });
    const stopping = new AbortController();
    let attempts = 0;
    const result = await runPaced({
      limiter,
      retry,
      kind: 'read',
      signal: stopping.signal,
      attempt: async () => {
        attempts += 1;
        stopping.abort(new Error('phase stopped'));
        return { ok: false, status: null, retryAfter: null, message: 'GET /contacts: no answer' };
      },
    });
    expect(attempts).toBe(1);
    expect(result).toEqual({
      ok: false,
      error: { kind: 'transient', status: null, message: 'stopped: Error: phase stopped' },
    });
    expect(limiter.unstoredUsage().reduce((sum, day) => sum + day.requests, 0)).toBe(1);
    await limiter.stop();
  });

  it('leaves the pause after a 429 when the signal aborts, the call not made, and the limiter stops', async () => {
    const limiter = createLimiter({ limits: { requestsPerSecond: 10, rolling: true } });
    limiter.pause(60_000);
    const stopping = new AbortController();
    let attempts = 0;
    const call = runPaced({
      limiter,
      retry,
      kind: 'write',
      signal: stopping.signal,
      attempt: async () => {
        attempts += 1;
        return { ok: true, value: 'sent' };
      },
    });
    setTimeout(() => stopping.abort(new Error('process stopping')), 20);
    expect(await call).toEqual({
      ok: false,
      error: { kind: 'transient', status: null, message: 'stopped: Error: process stopping' },
    });
    expect(attempts).toBe(0);
    await limiter.stop();
  });
});
