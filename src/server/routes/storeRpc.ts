import type { IncomingMessage } from 'node:http';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import type { Result } from '../../core/result.ts';
import type { Store, StoreData, StoreError } from '../../persistence/store.ts';
import {
  callBodySchema,
  decodeWire,
  encodeWire,
  holderOnlyMethods,
  remoteStoreMethods,
} from '../../persistence/storeRpc.ts';
import { limitBody } from '../adminApi.ts';
import { bearerAuth } from '../auth.ts';
import { fail, readInput, readNoQuery, validate } from '../http.ts';

/**
 * `POST /internal/store/:method`: one allowed data method of this process's store, for the other commands of
 * the same user while this process holds the embedded database (see `persistence/storeRpc.ts`). Loopback
 * callers with the admin token only. The body is superjson `{ input }`; the answer is the method's `Result`,
 * failures included, with status 200. Bad input is a 400 before the store sees it.
 */
export function storeRpcRoutes(deps: { store: Store; adminToken: string }): Hono {
  const { store } = deps;
  return new Hono()
    .use('*', loopbackOnly)
    .use('*', bearerAuth(deps.adminToken))
    .use('*', limitBody())
    .post('/:method', async (c) => {
      const noQuery = readInput(c, { query: readNoQuery(c) });
      if (!noQuery.ok) return noQuery.error;
      const method = c.req.param('method');
      if (holderOnlyMethods.has(method)) {
        return fail(c, 403, `${method} runs only in the process holding the database`);
      }
      if (!Object.hasOwn(remoteStoreMethods, method)) return fail(c, 404, `no store method "${method}"`);
      const name = method as keyof StoreData;
      // Widened from the union of every method's spec, which no single call can take.
      const spec = remoteStoreMethods[name] as { input: z.ZodType } | null;
      if (spec === null) return fail(c, 403, `${method} is not served to other processes`);
      const body = await readWireBody(c);
      if (!body.ok) return body.error;
      const input = validate(c, spec.input, body.value.input, 'body');
      if (!input.ok) return input.error;
      // `spec.input` is this method's parameter schema, so the parsed input fits it.
      const run = store[name] as (input: unknown) => Promise<Result<unknown, StoreError>>;
      const result = await run(input.value);
      return c.body(encodeWire(result), 200, { 'content-type': 'application/json' });
    });
}

async function readWireBody(c: Context): Promise<Result<{ input: unknown }, Response>> {
  let decoded: unknown;
  try {
    decoded = decodeWire(await c.req.text());
  } catch {
    return { ok: false, error: fail(c, 400, 'invalid body: expected a superjson document { input }', []) };
  }
  return validate(c, callBodySchema, decoded, 'body');
}

/**
 * Store calls are for commands on this machine: even when `serve --host 0.0.0.0` exposes the admin API, they
 * are refused from anywhere but loopback. A request without a socket (in-process `app.request`) is refused too.
 */
const loopbackOnly: MiddlewareHandler = async (c, next) => {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const address = incoming?.socket.remoteAddress ?? '';
  if (!/^(127\.|::1$|::ffff:127\.)/.test(address))
    return fail(c, 403, 'store calls are served to loopback only');
  await next();
};
