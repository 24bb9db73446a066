import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAgentosProvider } from './adapter.ts';

/**
 * [G3]: after a 429 agentOS documents a 60-s wait; calls sooner may get the key blocked (403) as an attack. The
 * adapter runs with its documented spec and limiter (no scaled copy), against a fetch stub, on a fake clock: the
 * minute passes at once, and every call the stub receives is stamped with the clock's time.
 */
const DOCUMENTED_WAIT_MS = 60_000;
const credentials = { apiKey: 'k', shortName: 'agency', branchId: 'B1' };
const START = Date.parse('2025-06-01T12:00:00Z');

beforeEach(() => {
  vi.useFakeTimers({
    now: START,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
  });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A fetch that answers the first call 429 (with `headers`), every later one an empty page; `calls` are the call instants. */
function stubAgentos(headers: Record<string, string>) {
  const calls: number[] = [];
  const fetch = (async () => {
    calls.push(Date.now());
    if (calls.length === 1)
      return new Response('{"Message":"Too many requests"}', {
        status: 429,
        headers: { 'content-type': 'application/json', date: new Date().toUTCString(), ...headers },
      });
    return new Response('{"Count":0,"Data":[]}', { headers: { 'content-type': 'application/json' } });
  }) as typeof globalThis.fetch;
  return { calls, fetch };
}

/** Lets fake time run until `work` settles (at most ten fake minutes). */
async function settle<T>(work: Promise<T>): Promise<T> {
  let done = false;
  const tracked = work.finally(() => {
    done = true;
  });
  for (let ms = 0; !done && ms < 600_000; ms += 250) await vi.advanceTimersByTimeAsync(250);
  return tracked;
}

describe('agentOS after a 429 [G3]', () => {
  it.each([
    ['no Retry-After', {}],
    ['Retry-After: 0', { 'retry-after': '0' }],
    ['Retry-After: 1', { 'retry-after': '1' }],
    ['Retry-After: 30', { 'retry-after': '30' }],
    ['a Retry-After date 5 s ahead', { 'retry-after': new Date(START + 5_000).toUTCString() }],
  ])('calls again no sooner than 60 s later, on the retry and on any other call (%s)', async (_, headers) => {
    const { calls, fetch } = stubAgentos(headers);
    const provider = createAgentosProvider({ baseUrl: 'https://agentos.test', credentials, fetch });
    const window = { from: null, to: '2025-06-01T12:00:00.000Z' };

    const listing = provider.listChanges({ window, pageToken: null });
    // Another call of the connection, made a few seconds after the 429, is held as well.
    await vi.advanceTimersByTimeAsync(3_000);
    expect(calls).toHaveLength(1);
    const read = provider.getRecord({ externalId: 'APL00000001' });

    expect((await settle(listing)).ok).toBe(true);
    await settle(read);
    const [limitedAt = Number.NaN, ...later] = calls;
    expect(later.length).toBeGreaterThanOrEqual(2);
    for (const at of later) expect(at - limitedAt).toBeGreaterThanOrEqual(DOCUMENTED_WAIT_MS);
  });
});
