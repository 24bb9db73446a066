import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLimiter } from './limiter.ts';
import { getProvider } from './registry.ts';
import { withSpec } from './spec.ts';

/**
 * An answer without end (a proxy or a fault streaming for ever) or one declaring more than any page could hold:
 * read whole, it would fill the process's memory until the call's timeout, for every connection the worker runs.
 * The transport stops reading past its limit and fails the call as no answer.
 */
const chunk = Buffer.from(`{"id":"LP1","firstName":"${'x'.repeat(1 << 20)}"},`);

/** Writes `chunk` while the client reads, until it goes away; counts what was written. */
function streamForEver(response: ServerResponse, written: { bytes: number }) {
  let open = true;
  response.on('close', () => {
    open = false;
  });
  const more = () => {
    while (open && written.bytes < 1 << 30) {
      written.bytes += chunk.length;
      if (!response.write(chunk)) return void response.once('drain', more);
    }
  };
  response.write('{"data":[');
  more();
}

describe('a CRM answer larger than any page', () => {
  let server: Server;
  let baseUrl: string;
  const written = { bytes: 0 };
  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url?.includes('declared')) {
        // Declares 512 MB, then sends a little: refused on the header, before anything is read.
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 ** 29) });
        response.write('{"data":[');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      streamForEver(response, written);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function loop(path = '') {
    const entry = getProvider('loop');
    if (entry === undefined) throw new Error('loop is not registered');
    // One attempt, and a timeout the test outlasts: a call that read on to its timeout fails the test by its message.
    const spec = withSpec(entry.spec, { retry: { maxAttempts: 1, timeoutMs: 20_000 } });
    const made = entry.createProvider({
      baseUrl: `${baseUrl}${path}`,
      credentials: { apiKey: 'key' },
      spec,
      limiter: createLimiter(spec),
    });
    if (!made.ok) throw new Error(made.error.message);
    return made.value;
  }

  const list = (path?: string) =>
    loop(path).listChanges({ window: { from: null, to: new Date().toISOString() }, pageToken: null });

  it('stops reading an endless listing past 64 MB and fails it as transient', async () => {
    const listed = await list();
    expect(listed.ok ? 'listed' : listed.error).toMatchObject({
      kind: 'transient',
      message: expect.stringMatching(/^GET \/api\/contacts.* → 200 with a body over 64 MB, not read$/),
    });
    // The server wrote on only as far as the client read (and the sockets' buffers hold).
    expect(written.bytes).toBeLessThan(2 ** 27);
  }, 60_000);

  it('refuses an answer whose declared length is over the limit without reading it', async () => {
    const listed = await list('/declared');
    expect(listed.ok ? 'listed' : listed.error).toMatchObject({
      kind: 'transient',
      message: expect.stringMatching(/ → 200 with a body over 64 MB, not read$/),
    });
  }, 60_000);
});
