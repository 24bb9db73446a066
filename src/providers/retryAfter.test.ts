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
