import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createInngestHandler, INNGEST_PATH, type InngestHandler } from '../../src/inngest/serve.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { silentLogger } from '../support/inngest.ts';
import { createSyncHarness, type SyncHarness } from '../support/syncHarness.ts';

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** Stands in for the Inngest server at INNGEST_BASE_URL: records what the SDK sends, accepts registration. */
async function standInInngest(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
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

/** A minimal server mounting the Inngest handler the way `serve` does. */
async function mount(handler: InngestHandler): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Hono();
  app.on(['GET', 'POST', 'PUT'], INNGEST_PATH, (c) => handler(c));
  const server = await new Promise<Server>((resolve) => {
    const created = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(created as Server),
    );
  });
  return listen(server);
}

async function listen(server: Server) {
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

function handlerFor(h: SyncHarness, env: Parameters<typeof createInngestHandler>[0]['env']): InngestHandler {
  const handler = createInngestHandler({ env, runner: h.deps, logger: silentLogger });
  if (!handler.ok) throw new Error(handler.error);
  return handler.value;
}

interface FunctionConfig {
  id: string;
  triggers: Array<Record<string, unknown>>;
  singleton?: unknown;
  concurrency?: unknown;
  retries?: unknown;
  steps: Record<string, { runtime: { url: string } }>;
}

describe('the serve endpoint, over HTTP', () => {
  it('reports both functions on introspection and registers their triggers and flow control', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 1 } });
    const inngest = await standInInngest();
    const server = await mount(handlerFor(h, { INNGEST_DEV: '1', INNGEST_BASE_URL: inngest.url }));
    try {
      const introspection = await fetch(`${server.url}${INNGEST_PATH}`);
      expect(introspection.status).toBe(200);
      // Both functions, plus the onFailure handler of sync-connection, which Inngest runs as a function of its own.
      expect(await introspection.json()).toMatchObject({
        function_count: 3,
        mode: 'dev',
        has_signing_key: false,
      });

      const sync = await fetch(`${server.url}${INNGEST_PATH}`, { method: 'PUT' });
      expect(sync.status).toBe(200);
      const register = inngest.received.find((r) => r.path === '/fn/register');
      expect(register?.method).toBe('POST');
      const body = register?.body as { url: string; appName: string; functions: FunctionConfig[] };
      expect(body.appName).toBe('crm-sync');
      expect(body.url).toBe(`${server.url}${INNGEST_PATH}`);
      const byId = Object.fromEntries(body.functions.map((f) => [f.id, f]));
      expect(Object.keys(byId).sort()).toEqual([
        'crm-sync-schedule-tick',
        'crm-sync-sync-connection',
        'crm-sync-sync-connection-failure',
      ]);
      expect(byId['crm-sync-schedule-tick']).toMatchObject({
        triggers: [{ cron: '* * * * *' }],
        concurrency: 1,
      });
      expect(byId['crm-sync-sync-connection']).toMatchObject({
        triggers: [{ event: 'crm/connection.sync.due' }],
        singleton: { key: 'event.data.connectionId', mode: 'skip' },
        concurrency: [{ key: 'event.data.provider', limit: 10 }],
      });
      expect(byId['crm-sync-sync-connection-failure']?.triggers).toEqual([
        expect.objectContaining({ event: 'inngest/function.failed' }),
      ]);
      const stepUrl = new URL(
        Object.values(byId['crm-sync-sync-connection']?.steps ?? {})[0]?.runtime.url ?? '',
      );
      expect(stepUrl.pathname).toBe(INNGEST_PATH);
    } finally {
      await server.close();
      await inngest.close();
      await h.close();
    }
  });

  it('in cloud mode needs both keys, rejects unsigned requests and registers with the signing key', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 1 } });
    const inngest = await standInInngest();
    expect(createInngestHandler({ env: {}, runner: h.deps })).toEqual({
      ok: false,
      error: expect.stringMatching(/needs INNGEST_SIGNING_KEY and INNGEST_EVENT_KEY; set INNGEST_DEV=1/),
    });
    const signingKey = `signkey-prod-${'ab'.repeat(32)}`;
    const server = await mount(
      handlerFor(h, {
        INNGEST_SIGNING_KEY: signingKey,
        INNGEST_EVENT_KEY: 'event-key',
        INNGEST_BASE_URL: inngest.url,
      }),
    );
    try {
      const unsigned = await fetch(`${server.url}${INNGEST_PATH}`);
      expect(unsigned.status).toBe(401);
      const sync = await fetch(`${server.url}${INNGEST_PATH}`, { method: 'PUT' });
      expect(sync.status).toBe(200);
      const register = inngest.received.find((r) => r.path === '/fn/register');
      // The SDK authenticates with a hash of the key; the key itself never goes over the wire.
      expect(register?.headers.authorization).toMatch(/^Bearer signkey-prod-[0-9a-f]{64}$/);
      expect(register?.headers.authorization).not.toContain('ab'.repeat(32));
    } finally {
      await server.close();
      await inngest.close();
      await h.close();
    }
  });

  it('runs onFailure when Inngest calls it: a machine left mid-cycle stops in error with an audit entry', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 6 } });
    const inngest = await standInInngest();
    const server = await mount(handlerFor(h, { INNGEST_DEV: '1', INNGEST_BASE_URL: inngest.url }));
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const phase = await runConnection(h.deps, ref, 'phase');
      expect(phase.ok && phase.value.state).toBe('reconciling');

      const due = {
        tenantId: h.tenantId,
        connectionId: h.connectionId,
        provider: 'reapit',
        slot: '2025-06-02T09:15Z',
      };
      const failed = {
        name: 'inngest/function.failed',
        data: {
          function_id: 'crm-sync-sync-connection',
          run_id: 'run-01',
          error: { name: 'Error', message: 'store unreachable' },
          event: {
            name: 'crm/connection.sync.due',
            data: due,
            id: `${h.connectionId}:${due.slot}`,
            ts: Date.now(),
          },
        },
        ts: Date.now(),
      };
      // The executor's request: the failure handler of sync-connection, no step done yet.
      let steps: Record<string, unknown> = {};
      let response: Response | null = null;
      for (let call = 0; call < 3; call++) {
        response = await fetch(
          `${server.url}${INNGEST_PATH}?fnId=crm-sync-sync-connection-failure&stepId=step`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              version: 1,
              event: failed,
              events: [failed],
              steps,
              ctx: {
                run_id: 'failure-run',
                attempt: 0,
                disable_immediate_execution: false,
                use_api: false,
                stack: null,
              },
            }),
          },
        );
        if (response.status !== 206) break;
        // A step ran: hand its result back as the executor would.
        const ops = (await response.json()) as Array<{ id: string; data: unknown }>;
        steps = {
          ...steps,
          ...Object.fromEntries(ops.map((op) => [op.id, { type: 'data', data: op.data }])),
        };
      }
      expect(response?.status).toBe(200);
      expect(await response?.json()).toEqual({ state: 'error' });

      const snapshot = await h.store.loadSnapshot(ref);
      expect(snapshot.ok && snapshot.value?.stateValue).toBe('error');
      const audit = await h.store.listAudit({ tenantId: h.tenantId });
      const entries = audit.ok ? audit.value.entries.map((e) => e.body) : [];
      expect(entries).toHaveLength(1);
      expect(entries[0]?.outcome).toBe('failed');
      expect(entries[0]?.errors.at(-1)?.message).toMatch(
        /during reconciling: run run-01 failed: store unreachable/,
      );
    } finally {
      await server.close();
      await inngest.close();
      await h.close();
    }
  });
});
