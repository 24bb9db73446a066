import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHttpTransport } from './base.ts';
import { Deadline } from './deadline.ts';
import { createLimiter } from './limiter.ts';
import { getProvider } from './registry.ts';
import { WRITE_TIME_LIMIT_MS, withSpec } from './spec.ts';

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

  // A run whose renewals fail stops with a third of its lease left; a write it sent and did not cut must be answered
  // or cut within it, before another worker may take the lease over and look for what it created.
  it('cuts a write at the write time limit however long a read may wait', async () => {
    vi.useFakeTimers();
    const reapit = getProvider('reapit') ?? expect.unreachable();
    const spec = withSpec(reapit.spec, { retry: { maxAttempts: 1, timeoutMs: 3 * WRITE_TIME_LIMIT_MS } });
    const limiter = createLimiter({ limits: { requestsPerDay: 100, rolling: true } });
    try {
      let sent = 0;
      const transport = createHttpTransport({
        baseUrl,
        spec,
        limiter,
        headers: async () => ({ ok: true, value: {} }),
        fetch: () => {
          sent += 1;
          return never;
        },
      });
      const settled: Record<string, string> = {};
      const note = (call: string) => (result: Awaited<ReturnType<typeof transport.send>>) => {
        settled[call] = result.ok ? 'answered' : result.error.message;
      };
      void transport
        .send({ method: 'POST', path: '/contacts', body: { surname: 'Adeyemi' } })
        .then(note('write'));
      void transport.send({ method: 'GET', path: '/contacts' }).then(note('read'));
      // The limiter lets them out on timers of its own: a millisecond at a time until both are on their way.
      for (let waited = 0; sent < 2 && waited < 1_000; waited++) await vi.advanceTimersByTimeAsync(1);
      await vi.advanceTimersByTimeAsync(WRITE_TIME_LIMIT_MS);
      expect(settled.write).toContain(`no answer within ${WRITE_TIME_LIMIT_MS} ms`);
      expect(settled.read).toBeUndefined();
      await vi.advanceTimersByTimeAsync(3 * WRITE_TIME_LIMIT_MS);
      expect(settled.read).toContain(`no answer within ${3 * WRITE_TIME_LIMIT_MS} ms`);
    } finally {
      // Every call ended, so that stopping the limiter has none to wait for.
      await vi.advanceTimersByTimeAsync(4 * WRITE_TIME_LIMIT_MS);
      vi.useRealTimers();
      await limiter.stop();
    }
  });
});
