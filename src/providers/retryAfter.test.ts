import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpTransport } from './base.ts';
import { createLimiter } from './limiter.ts';
import { getProvider } from './registry.ts';
import { withSpec } from './spec.ts';

describe('a 429 carrying Retry-After from a provider that documents none', () => {
  let server: Server;
  let baseUrl: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (request.url === '/with-header') headers['retry-after'] = '7';
      response.writeHead(429, headers).end('{"error":"too many requests"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("waits what the server says, and the spec's fallback only without the header", async () => {
    const reapit = getProvider('reapit');
    if (reapit === undefined) throw new Error('reapit is not registered');
    expect(reapit.spec.retry.retryAfterHeader).toBeUndefined();
    const spec = withSpec(reapit.spec, { retry: { maxAttempts: 1 } });
    const transport = createHttpTransport({
      baseUrl,
      spec,
      limiter: createLimiter(spec),
      headers: async () => ({ ok: true, value: {} }),
    });
    const waits = [];
    for (const path of ['/with-header', '/without-header']) {
      const sent = await transport.send({ method: 'GET', path });
      if (sent.ok || sent.error.kind !== 'rate_limited')
        throw new Error(`expected rate_limited: ${JSON.stringify(sent)}`);
      waits.push(sent.error.retryAfterMs);
    }
    expect(waits).toEqual([7_000, spec.retry.waitAfter429Ms]);
  });
});

describe('a 429 whose Retry-After is absurd or unreadable', () => {
  let server: Server;
  let baseUrl: string;
  const calls = new Map<string, number>();
  beforeAll(async () => {
    server = createServer((request, response) => {
      const value = decodeURIComponent((request.url ?? '/').slice(1));
      calls.set(value, (calls.get(value) ?? 0) + 1);
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': value }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const DAY_MS = 86_400_000;
  const fallbackMs = 40;
  it.each([
    // Far past a day: the call would hold the connection's lease and worker for ever (or Date overflows).
    { retryAfter: '99999999999999999999', waitMs: DAY_MS, requests: 1 },
    { retryAfter: 'Fri, 01 Jan 2999 00:00:00 GMT', waitMs: DAY_MS, requests: 1 },
    // Longer than a call should wait: the machine's backoff waits it, persisted, with the worker free.
    { retryAfter: '3600', waitMs: 3_600_000, requests: 1 },
    // Neither delay-seconds nor an HTTP-date (a lenient date parser reads '-5' as May 2001, a wait of 0, and the
    // call went straight back at a CRM that had just said stop): the spec's wait applies.
    { retryAfter: '-5', waitMs: fallbackMs, requests: 3 },
    { retryAfter: '1 2', waitMs: fallbackMs, requests: 3 },
    { retryAfter: 'soon', waitMs: fallbackMs, requests: 3 },
  ])(
    'Retry-After: $retryAfter ends the call with a wait of $waitMs ms after $requests request(s)',
    async ({ retryAfter, waitMs, requests }) => {
      const reapit = getProvider('reapit');
      if (reapit === undefined) throw new Error('reapit is not registered');
      const spec = withSpec(reapit.spec, { retry: { maxAttempts: 3, waitAfter429Ms: fallbackMs } });
      const transport = createHttpTransport({
        baseUrl,
        spec,
        limiter: createLimiter(spec),
        headers: async () => ({ ok: true, value: {} }),
      });
      const sent = await transport.send({ method: 'GET', path: `/${encodeURIComponent(retryAfter)}` });
      if (sent.ok || sent.error.kind !== 'rate_limited')
        throw new Error(`expected rate_limited: ${JSON.stringify(sent)}`);
      expect(sent.error.retryAfterMs).toBe(waitMs);
      expect(calls.get(retryAfter)).toBe(requests);
    },
  );
});

/**
 * A 503 with Retry-After (a maintenance window, RFC 9110): the wait it names is kept, not the transient backoff's
 * few seconds, which spent every attempt inside the window and then stopped the connection in error.
 */
describe('a 503 carrying Retry-After', () => {
  let server: Server;
  let baseUrl: string;
  const calls = new Map<string, number>();
  beforeAll(async () => {
    server = createServer((request, response) => {
      const path = request.url ?? '/';
      const count = (calls.get(path) ?? 0) + 1;
      calls.set(path, count);
      // `/short` is back after its one-second window; `/long` names an hour; `/none` gives no hint.
      if (path === '/short' && count > 1) return void response.writeHead(200).end('{"ok":true}');
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (path === '/short') headers['retry-after'] = '1';
      if (path === '/long') headers['retry-after'] = '3600';
      response.writeHead(503, headers).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function transport() {
    const reapit = getProvider('reapit');
    if (reapit === undefined) throw new Error('reapit is not registered');
    const spec = withSpec(reapit.spec, { retry: { maxAttempts: 3, transientBaseMs: 1, transientMaxMs: 1 } });
    return createHttpTransport({
      baseUrl,
      spec,
      limiter: createLimiter(spec),
      headers: async () => ({ ok: true, value: {} }),
    });
  }

  it('ends the call at once with the hour it names, for the backoff to wait', async () => {
    const sent = await transport().send({ method: 'GET', path: '/long' });
    expect(sent.ok ? 'sent' : sent.error).toMatchObject({
      kind: 'transient',
      status: 503,
      retryAfterMs: 3_600_000,
    });
    expect(calls.get('/long')).toBe(1);
  });

  it('waits a short one out inside the call, then succeeds', async () => {
    const started = Date.now();
    const sent = await transport().send({ method: 'GET', path: '/short' });
    expect(sent.ok).toBe(true);
    expect(calls.get('/short')).toBe(2);
    expect(Date.now() - started).toBeGreaterThan(900);
  });

  it('without one, retries on the transient backoff and ends with no wait of its own', async () => {
    const sent = await transport().send({ method: 'GET', path: '/none' });
    expect(sent.ok ? 'sent' : sent.error).toMatchObject({ kind: 'transient', status: 503 });
    expect(sent.ok ? null : 'retryAfterMs' in sent.error).toBe(false);
    expect(calls.get('/none')).toBe(3);
  });
});
