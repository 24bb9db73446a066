import type { Context } from 'hono';
import type { Logger } from 'inngest';
import { serve } from 'inngest/hono';
import type { Env } from '../config/env.ts';
import { err, ok, type Result } from '../core/result.ts';
import type { RunnerDeps } from '../runner/connectionRunner.ts';
import { createInngestClient, inngestSettings } from './client.ts';
import { createFunctions, type SchedulingOptions } from './functions.ts';

/** Where the server mounts the handler; Inngest is told this URL when the app is synced. */
export const INNGEST_PATH = '/api/inngest';

/** A Hono route handler: `app.on(['GET', 'POST', 'PUT'], INNGEST_PATH, handler)`. */
export type InngestHandler = (c: Context) => Promise<Response>;

export interface InngestHandlerParams {
  /** The parsed environment: `INNGEST_DEV`, `INNGEST_SIGNING_KEY`, `INNGEST_EVENT_KEY`, `INNGEST_BASE_URL`. */
  env: Pick<Env, 'INNGEST_DEV' | 'INNGEST_SIGNING_KEY' | 'INNGEST_EVENT_KEY' | 'INNGEST_BASE_URL'>;
  /** What runs connections in this process: `App.runner` from `openApp`. */
  runner: RunnerDeps;
  /** Tick and per-connection settings; the defaults suit production. */
  options?: SchedulingOptions;
  /** Replaces `fetch` for calls to Inngest (registration, sending the fan-out). */
  fetch?: typeof fetch;
  /** Where the Inngest SDK logs; the console by default. */
  logger?: Logger;
}

/**
 * The Inngest endpoint of `serve`: both functions (`schedule-tick`, `sync-connection`) behind the
 * `inngest/hono` serve handler, which answers Inngest's introspection (GET), registration (PUT) and
 * function calls (POST). Mount it at `INNGEST_PATH` for all three methods.
 *
 * In cloud mode every request must carry Inngest's signature, a sync (`PUT`) included: sync the app from
 * Inngest (the dashboard's Resync), which signs the request and names the URL to register.
 *
 * Fails (one line for the operator, nothing started) when the environment asks for cloud mode without
 * `INNGEST_SIGNING_KEY` and `INNGEST_EVENT_KEY`; `INNGEST_DEV=1` selects a local dev server instead.
 *
 * @example
 * const handler = createInngestHandler({ env: app.env, runner: app.runner });
 * if (!handler.ok) throw new UsageError(handler.error);
 * server.on(['GET', 'POST', 'PUT'], INNGEST_PATH, handler.value);
 */
export function createInngestHandler(params: InngestHandlerParams): Result<InngestHandler, string> {
  const settings = inngestSettings(params.env);
  if (!settings.ok) return err(settings.error);
  const client = createInngestClient(settings.value, {
    ...(params.fetch === undefined ? {} : { fetch: params.fetch }),
    ...(params.logger === undefined ? {} : { logger: params.logger }),
  });
  const handler = serve({
    client,
    functions: [...createFunctions(client, params.runner, params.options)],
    servePath: INNGEST_PATH,
    // In cloud mode only Inngest's own signed (in-band) sync may register the app. An unsigned `PUT` made
    // the SDK register the origin its Host header named: anyone could point every call of the functions
    // (tenant ids, step results) at a server of theirs, and the schedule stopped running here.
    enableUnauthedSync: false,
  });
  return ok(async (c) => {
    // The SDK parses the body before it checks the signature and throws on bad JSON: any client could make the
    // server answer 500 and log the error as a bug. Hono keeps the text read here for the SDK's own read.
    if (c.req.method !== 'GET' && !isJsonOrEmpty(await c.req.text())) {
      return c.json({ message: 'the request body is not JSON' }, 400);
    }
    return handler(c);
  });
}

function isJsonOrEmpty(text: string): boolean {
  if (text.trim() === '') return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
