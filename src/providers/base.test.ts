import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createHttpTransport, runPaced } from './base.ts';
import { createLimiter } from './limiter.ts';
import { getProvider } from './registry.ts';
import { withSpec } from './spec.ts';

const retry = { maxAttempts: 4, waitAfter429Ms: 60_000, transientBaseMs: 5_000, transientMaxMs: 5_000 };

/**
 * A call its phase stopped (the actor left its state, the process stopping) ends at once. It went on: each
 * attempt failed as "no answer" and was retried after its backoff, counted against the rate windows and the
 * day's quota though nothing left the process, and stopping the process waited for it (a minute behind a pause).
 */
/** A call through `limiter` whose attempt would succeed, and how many attempts it started. */
function succeedingCall(
  limiter: ReturnType<typeof createLimiter>,
  kind: 'read' | 'write',
  signal: AbortSignal,
) {
  let started = 0;
  const call = runPaced({
    limiter,
    retry,
    kind,
    signal,
    attempt: async () => {
      started += 1;
      return { ok: true, value: kind };
    },
  });
  return { call, attempts: () => started };
}

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
    // Not `unsent`: the attempt that had no answer may have been applied.
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
    const { call, attempts } = succeedingCall(limiter, 'write', stopping.signal);
    setTimeout(() => stopping.abort(new Error('process stopping')), 20);
    expect(await call).toEqual({
      ok: false,
      // Nothing went out: a create so stopped is planned again, not looked for.
      error: { kind: 'transient', status: null, message: 'stopped: Error: process stopping', unsent: true },
    });
    expect(attempts()).toBe(0);
    await limiter.stop();
  });
});

/** A CRM answering every request 502, counting them: a write it applied whose answer was lost on the way. */
async function answering502(): Promise<{
  baseUrl: string;
  requests: () => number;
  close: () => Promise<void>;
}> {
  let count = 0;
  const server = createServer((_, response) => {
    count += 1;
    response.writeHead(502, { 'content-type': 'application/json' }).end('{"description":"Bad Gateway"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('a write answered 502', () => {
  const spec = withSpec(getProvider('reapit')?.spec ?? expect.unreachable(), {
    retry: { maxAttempts: 3, transientBaseMs: 1, transientMaxMs: 1 },
  });
  const transportTo = (baseUrl: string) =>
    createHttpTransport({
      baseUrl,
      spec,
      limiter: createLimiter(spec),
      headers: async () => ({ ok: true, value: {} }),
    });

  // Repeated, a conditional write Reapit had applied was refused 412 as stale, and the push took it for a write
  // the CRM never held: the next fetch read NurtureHub's own values as an agency edit.
  it('is not repeated inside the call when it is conditional (If-Match), and is when it is not', async () => {
    const crm = await answering502();
    try {
      const transport = transportTo(crm.baseUrl);
      const conditional = await transport.send({
        method: 'PATCH',
        path: '/contacts/OXF1',
        headers: { 'If-Match': '"4DF1"' },
        body: { forename: 'Ada' },
      });
      expect(conditional).toMatchObject({ ok: false, error: { kind: 'transient', status: 502 } });
      expect(crm.requests()).toBe(1);
      await transport.send({ method: 'PATCH', path: '/contacts/OXF1', body: { forename: 'Ada' } });
      expect(crm.requests()).toBe(1 + 3);
    } finally {
      await crm.close();
    }
  });
});

describe('a 429 on the last attempt', () => {
  // Only a retried call paused the connection: the others in flight went straight on into the 429.
  it('holds the connection’s other calls for its wait too', async () => {
    const limiter = createLimiter({ limits: { requestsPerSecond: 10, rolling: true } });
    const limited = await runPaced({
      limiter,
      retry: { ...retry, maxAttempts: 1 },
      kind: 'read',
      attempt: async () => ({ ok: false, status: 429, retryAfter: '30', message: 'GET /contacts → 429' }),
    });
    expect(limited).toMatchObject({ ok: false, error: { kind: 'rate_limited', retryAfterMs: 30_000 } });
    const stopping = new AbortController();
    setTimeout(() => stopping.abort(new Error('phase stopped')), 50);
    const { call, attempts } = succeedingCall(limiter, 'read', stopping.signal);
    expect((await call).ok).toBe(false);
    expect(attempts()).toBe(0);
    await limiter.stop();
  });
});

describe('a 429 asking for longer than a call waits', () => {
  // Five such 429s stop the machine in error; one interval on the schedule retries it, in the same process: its
  // first call sat in the limiter for the rest of the hour, the run holding its lease with nothing shown.
  it('fails the connection’s later calls at once as rate limited, with what is left of the wait', async () => {
    const limiter = createLimiter({ limits: { requestsPerSecond: 10, rolling: true } });
    const limited = await runPaced({
      limiter,
      retry,
      kind: 'read',
      attempt: async () => ({ ok: false, status: 429, retryAfter: '3600', message: 'GET /contacts → 429' }),
    });
    expect(limited).toMatchObject({ ok: false, error: { kind: 'rate_limited', retryAfterMs: 3_600_000 } });
    const { call, attempts } = succeedingCall(limiter, 'read', new AbortController().signal);
    const later = await call;
    expect(later).toMatchObject({ ok: false, error: { kind: 'rate_limited', status: 429 } });
    if (later.ok || later.error.kind !== 'rate_limited') throw new Error('not rate limited');
    expect(later.error.retryAfterMs).toBeGreaterThan(3_500_000);
    expect(attempts()).toBe(0);
    await limiter.stop();
  });
});

describe('a 429 whose Retry-After is an HTTP-date', () => {
  // Our clock 40 s ahead of the CRM's read "30 s from now" as past: a wait of nothing, retried at once.
  it('is read against the response’s Date, the server’s clock, not ours', async () => {
    const limiter = createLimiter({ limits: { requestsPerSecond: 10, rolling: true } });
    const serverNow = Date.now() - 40_000;
    const limited = await runPaced({
      limiter,
      retry: { ...retry, maxAttempts: 1 },
      kind: 'read',
      attempt: async () => ({
        ok: false,
        status: 429,
        retryAfter: new Date(serverNow + 30_000).toUTCString(),
        serverDate: new Date(serverNow).toUTCString(),
        message: 'GET /contacts → 429',
      }),
    });
    expect(limited).toMatchObject({ ok: false, error: { kind: 'rate_limited', retryAfterMs: 30_000 } });
    await limiter.stop();
  });
});
