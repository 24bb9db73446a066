import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpTransport } from './base.ts';
import { Deadline } from './deadline.ts';
import { createLimiter } from './limiter.ts';
import { getProvider } from './registry.ts';
import { withSpec } from './spec.ts';

const never = new Promise<never>(() => {});

describe('Deadline', () => {
  it('rejects what it races once the time is up, even work that never settles', async () => {
    const deadline = new Deadline(20, undefined);
    await expect(deadline.race(never)).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(deadline.signal.aborted).toBe(true);
    deadline.clear();
  });

  it("ends at once with the caller's reason when the caller aborts", async () => {
    const caller = new AbortController();
    const deadline = new Deadline(60_000, caller.signal);
    const raced = deadline.race(never);
    caller.abort(new Error('phase stopped'));
    await expect(raced).rejects.toThrow('phase stopped');
    deadline.clear();
  });

  it('passes the work through and, once cleared, never aborts', async () => {
    const deadline = new Deadline(20, undefined);
    await expect(deadline.race(Promise.resolve('answer'))).resolves.toBe('answer');
    deadline.clear();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(deadline.signal.aborted).toBe(false);
  });
});

describe('a provider call to a server that never answers', () => {
  let server: Server;
  let baseUrl: string;
  beforeAll(async () => {
    server = createServer(() => {}); // reads the request, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('fails as transient at the timeout even when the abort never reaches fetch (nodejs/node#55428)', async () => {
    const reapit = getProvider('reapit');
    if (reapit === undefined) throw new Error('reapit is not registered');
    const spec = withSpec(reapit.spec, {
      retry: { maxAttempts: 1, timeoutMs: 100, transientBaseMs: 1, transientMaxMs: 1 },
    });
    // A fetch that loses its abort signal, as undici's can after garbage collection.
    const deafFetch: typeof fetch = (input, init) => fetch(input, { ...init, signal: null });
    const transport = createHttpTransport({
      baseUrl,
      spec,
      limiter: createLimiter(spec),
      headers: async () => ({ ok: true, value: {} }),
      fetch: deafFetch,
    });
    const result = await transport.send({ method: 'GET', path: '/contacts' });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.kind).toBe('transient');
      expect(result.error.message).toContain('TimeoutError');
    }
  });
});
