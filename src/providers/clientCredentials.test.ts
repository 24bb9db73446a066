import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientCredentialsTokenCache, clientCredentialsTokens } from './clientCredentials.ts';

/**
 * Calls of several runs that need a token at once share one request to the token endpoint (the process's cache).
 * A run that stops waiting (its phase aborted, its lease lost) must not fail the others' token: the request is
 * aborted only when every caller waiting on it has given up.
 */

interface TokenServer {
  url: string;
  /** Token requests received so far. */
  received: number;
  /** Requests whose client went away before they were answered. */
  abandoned: number;
  /** Answers every request held so far with a token. */
  release(): void;
  close(): Promise<void>;
}

const servers: TokenServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

/** A token endpoint on 127.0.0.1 whose `respond` answers each request (now or later); `release` is passed on. */
async function tokenServer(
  respond: (res: ServerResponse, received: number) => void,
  release: () => void = () => {},
): Promise<TokenServer> {
  const state = { received: 0, abandoned: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.received += 1;
    req.resume();
    res.on('close', () => {
      if (!res.writableEnded) state.abandoned += 1;
    });
    respond(res, state.received);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const started: TokenServer = {
    url: `http://127.0.0.1:${port}/token`,
    get received() {
      return state.received;
    },
    get abandoned() {
      return state.abandoned;
    },
    release,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(started);
  return started;
}

/** A token endpoint that holds each request until `release`, then answers `token-<requests received>`. */
function heldTokenServer(): Promise<TokenServer> {
  const held: ServerResponse[] = [];
  let received = 0;
  return tokenServer(
    (res, count) => {
      received = count;
      held.push(res);
    },
    () => {
      for (const res of held.splice(0)) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: `token-${received}`, expires_in: 3600 }));
      }
    },
  );
}

/** A token endpoint answering every request at once with `body` (its `{n}` the request's number). */
function answeringTokenServer(body: string): Promise<TokenServer> {
  return tokenServer((res, count) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body.replace('{n}', String(count)));
  });
}

const tokensFor = (server: TokenServer, cache: ClientCredentialsTokenCache) =>
  clientCredentialsTokens({
    label: 'Reapit',
    tokenUrl: server.url,
    clientId: 'client',
    clientSecret: 'secret',
    fetch,
    cache,
  });

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('a token request shared by several callers', () => {
  it('goes on for the others when the caller that started it gives up', async () => {
    const server = await heldTokenServer();
    const cache = new ClientCredentialsTokenCache();
    const first = new AbortController();
    // Two providers of two runs, one cache: the second joins the first's request.
    const starter = tokensFor(server, cache).get(first.signal);
    const joiner = tokensFor(server, cache).get(new AbortController().signal);
    await until(() => server.received === 1);
    first.abort(new Error('phase over'));
    expect(await starter).toMatchObject({ ok: false, error: { kind: 'transient' } });
    server.release();
    expect(await joiner).toEqual({ ok: true, value: 'token-1' });
    expect({ received: server.received, abandoned: server.abandoned }).toEqual({ received: 1, abandoned: 0 });
    // Held for the next caller: no new request.
    expect(await tokensFor(server, cache).get()).toEqual({ ok: true, value: 'token-1' });
    expect(server.received).toBe(1);
  });

  it('is aborted once every caller waiting on it has given up, and a later call asks again', async () => {
    const server = await heldTokenServer();
    const cache = new ClientCredentialsTokenCache();
    const callers = [new AbortController(), new AbortController()];
    const waiting = callers.map((c) => tokensFor(server, cache).get(c.signal));
    await until(() => server.received === 1);
    callers[0]?.abort(new Error('stopping'));
    callers[1]?.abort(new Error('stopping'));
    for (const outcome of await Promise.all(waiting)) {
      expect(outcome).toMatchObject({ ok: false, error: { kind: 'transient' } });
    }
    await until(() => server.abandoned === 1);
    const later = tokensFor(server, cache).get();
    await until(() => server.received === 2);
    server.release();
    expect(await later).toEqual({ ok: true, value: 'token-2' });
  });
});

describe('a token answer', () => {
  it('without expires_in (only RECOMMENDED by RFC 6749) is used, and held for the next call', async () => {
    const server = await answeringTokenServer('{"access_token":"token-{n}","token_type":"Bearer"}');
    const tokens = tokensFor(server, new ClientCredentialsTokenCache());
    expect(await tokens.get()).toEqual({ ok: true, value: 'token-1' });
    expect(await tokens.get()).toEqual({ ok: true, value: 'token-1' });
    expect(server.received).toBe(1);
  });

  it('with expires_in as a string of digits is read as seconds', async () => {
    const server = await answeringTokenServer('{"access_token":"token-{n}","expires_in":"3600"}');
    const tokens = tokensFor(server, new ClientCredentialsTokenCache());
    expect(await tokens.get()).toEqual({ ok: true, value: 'token-1' });
    expect(await tokens.get()).toEqual({ ok: true, value: 'token-1' });
  });

  it('stating a life under a minute is still held, for half of it, not fetched again on every call', async () => {
    const server = await answeringTokenServer('{"access_token":"token-{n}","expires_in":50}');
    const tokens = tokensFor(server, new ClientCredentialsTokenCache());
    expect(await tokens.get()).toEqual({ ok: true, value: 'token-1' });
    expect(await tokens.get()).toEqual({ ok: true, value: 'token-1' });
    expect(server.received).toBe(1);
  });

  it('unreadable fails as validation naming the field at fault and none of the answer', async () => {
    const server = await answeringTokenServer('{"access_token":"secret-{n}","expires_in":-5}');
    const outcome = await tokensFor(server, new ClientCredentialsTokenCache()).get();
    expect(outcome).toMatchObject({ ok: false, error: { kind: 'validation' } });
    const message = outcome.ok ? '' : outcome.error.message;
    expect(message).toBe('Reapit token response unreadable: expires_in');
  });
});
