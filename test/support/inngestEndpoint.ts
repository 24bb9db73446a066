import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createInngestHandler, INNGEST_PATH, type InngestHandler } from '../../src/inngest/serve.ts';
import { createServerApp } from '../../src/server/app.ts';
import { silentLogger } from './inngest.ts';
import type { SyncHarness } from './syncHarness.ts';

/** A request the SDK sent to the stand-in Inngest. */
export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export type Served = { url: string; close(): Promise<void> };
export type StandIn = Served & { received: Received[] };

/** Stands in for the Inngest server at INNGEST_BASE_URL: records what the SDK sends, accepts registration. */
export async function standInInngest(): Promise<StandIn> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      received.push({
        method: req.method ?? '',
        path,
        headers: req.headers,
        body: text ? JSON.parse(text) : null,
      });
      res.writeHead(path === '/fn/register' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(path === '/fn/register' ? { ok: true, modified: true } : { error: 'not here' }));
    });
  });
  return { ...(await listen(server)), received };
}

/** The server `serve` runs, with the Inngest handler mounted. */
export async function mount(h: SyncHarness, handler: InngestHandler): Promise<Served> {
  const app = createServerApp({
    store: h.store,
    runner: h.deps,
    adminToken: 'test-admin-token-0123456789abcdef',
    inngestHandler: handler,
  });
  const server = await new Promise<Server>((resolve) => {
    const created = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(created as Server),
    );
  });
  return listen(server);
}

async function listen(server: Server): Promise<Served> {
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function handlerFor(
  h: SyncHarness,
  env: Parameters<typeof createInngestHandler>[0]['env'],
): InngestHandler {
  const handler = createInngestHandler({ env, runner: h.deps, logger: silentLogger });
  if (!handler.ok) throw new Error(handler.error);
  return handler.value;
}

/** An event as Inngest hands it to a function. */
export interface ExecutedEvent {
  name: string;
  data: Record<string, unknown>;
  id?: string;
  ts: number;
}

/**
 * Calls a function of the endpoint (dev mode, unsigned) as Inngest's executor does: one request per step, each
 * step's result handed back in the next request's `steps`, until the function answers other than 206 or
 * `maxCalls` requests were made. Resolves with the last answer and the ids of the steps run.
 */
export async function executeFunction(
  endpointUrl: string,
  fnId: string,
  event: ExecutedEvent,
  { runId = 'run-01', maxCalls = 12 }: { runId?: string; maxCalls?: number } = {},
): Promise<{ status: number; body: unknown; stepIds: string[] }> {
  let steps: Record<string, unknown> = {};
  const stepIds: string[] = [];
  for (let call = 0; ; call++) {
    const response = await fetch(`${endpointUrl}${INNGEST_PATH}?fnId=${fnId}&stepId=step`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        version: 1,
        event,
        events: [event],
        steps,
        ctx: { run_id: runId, attempt: 0, disable_immediate_execution: false, use_api: false, stack: null },
      }),
    });
    const body: unknown = await response.json();
    if (response.status !== 206 || call + 1 >= maxCalls) return { status: response.status, body, stepIds };
    // A step ran: hand its result back as the executor would.
    const ops = body as Array<{ id: string; name?: string; displayName?: string; data: unknown }>;
    for (const op of ops) stepIds.push(op.displayName ?? op.name ?? op.id);
    steps = { ...steps, ...Object.fromEntries(ops.map((op) => [op.id, { type: 'data', data: op.data }])) };
  }
}
