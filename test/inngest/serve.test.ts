import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createInngestHandler, INNGEST_PATH } from '../../src/inngest/serve.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { dueData } from '../support/inngest.ts';
import {
  executeFunction,
  handlerFor,
  mount,
  type Served,
  type StandIn,
  standInInngest,
} from '../support/inngestEndpoint.ts';
import { createSyncHarness, type SyncHarness } from '../support/syncHarness.ts';

interface FunctionConfig {
  id: string;
  triggers: Array<Record<string, unknown>>;
  singleton?: unknown;
  concurrency?: unknown;
  retries?: unknown;
  steps: Record<string, { runtime: { url: string } }>;
}

/** `inngest/function.failed` for run `run-01` of the connection's sync, reported at `ts`. */
function failureEvent(h: SyncHarness, ts: number) {
  const due = dueData(h);
  return {
    name: 'inngest/function.failed',
    data: {
      function_id: 'crm-sync-sync-connection',
      run_id: 'run-01',
      error: { name: 'Error', message: 'store unreachable' },
      event: { name: 'crm/connection.sync.due', data: due, id: `${h.connectionId}:${due.slot}`, ts },
    },
    ts,
  };
}

const SIGNING_KEY_HEX = 'ab'.repeat(32);
const SIGNING_KEY = `signkey-prod-${SIGNING_KEY_HEX}`;

/** JSON with sorted keys: what the SDK signs and checks (RFC 8785 for the plain data of these tests). */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${entries.map(([key, v]) => `${JSON.stringify(key)}:${canonicalJson(v)}`).join(',')}}`;
}

/** `X-Inngest-Signature` as Inngest signs a request body: HMAC-SHA256 of the body and the timestamp. */
function inngestSignature(body: unknown): string {
  const ts = Math.floor(Date.now() / 1000).toString();
  const mac = createHmac('sha256', SIGNING_KEY_HEX)
    .update(canonicalJson(body) + ts)
    .digest('hex');
  return `t=${ts}&s=${mac}`;
}

/** A raw HTTP request, so the test controls the `Host` header as any client on the network can. */
function rawRequest(
  url: string,
  options: { method: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method, headers: options.headers ?? {} }, (res) => {
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * POSTs `bytes` of one JSON document, declared by Content-Length or sent chunked, in 1 MiB writes that stop as soon as
 * the server answers (a server that refuses a body need not read it).
 */
function postLargeBody(
  url: string,
  { bytes, chunked }: { bytes: number; chunked: boolean },
): Promise<{ status: number; text: string }> {
  const chunk = Buffer.alloc(1024 * 1024, 'x');
  const head = Buffer.from('{"pad":"');
  const tail = Buffer.from('"}');
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (!chunked) headers['content-length'] = String(bytes);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(url, { method: 'POST', headers }, (res) => {
      answered = true;
      let text = '';
      res.on('data', (data) => {
        text += data;
      });
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, text });
      });
    });
    // Writing on after the server has answered may meet a closed socket; the answer is what counts.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    let left = bytes - head.length - tail.length;
    const pump = () => {
      while (left > 0 && !answered) {
        const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= part.length;
        if (!req.write(part)) return void req.once('drain', pump);
      }
      if (!answered) req.end(tail);
    };
    req.write(head);
    pump();
  });
}

/** A one-contact Reapit harness, a stand-in Inngest and the endpoint served in cloud mode; all closed after `use`. */
async function withCloudEndpoint(
  use: (ctx: { h: SyncHarness; inngest: StandIn; server: Served }) => Promise<void>,
): Promise<void> {
  const h = await createSyncHarness('reapit', { simulator: { contacts: 1 } });
  const inngest = await standInInngest();
  const server = await mount(
    h,
    handlerFor(h, {
      INNGEST_SIGNING_KEY: SIGNING_KEY,
      INNGEST_EVENT_KEY: 'event-key',
      INNGEST_BASE_URL: inngest.url,
    }),
  );
  try {
    await use({ h, inngest, server });
  } finally {
    await server.close();
    await inngest.close();
    await h.close();
  }
}

describe('the serve endpoint, over HTTP', () => {
  it('reports both functions on introspection and registers their triggers and flow control', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 1 } });
    const inngest = await standInInngest();
    const server = await mount(h, handlerFor(h, { INNGEST_DEV: '1', INNGEST_BASE_URL: inngest.url }));
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

  it("in cloud mode needs both keys, rejects unsigned requests and answers Inngest's signed sync", async () => {
    await withCloudEndpoint(async ({ h, server }) => {
      expect(createInngestHandler({ env: {}, runner: h.deps })).toEqual({
        ok: false,
        error: expect.stringMatching(/needs INNGEST_SIGNING_KEY and INNGEST_EVENT_KEY; set INNGEST_DEV=1/),
      });
      const unsigned = await fetch(`${server.url}${INNGEST_PATH}`);
      expect(unsigned.status).toBe(401);
      // A probe's HEAD is no Inngest request: not the SDK's, so not its 401 and error line.
      const probe = await fetch(`${server.url}${INNGEST_PATH}`, { method: 'HEAD' });
      expect([probe.status, probe.headers.get('allow')]).toEqual([405, 'GET, PUT, POST']);

      // Inngest's own sync is signed and names the URL to register in its body; the SDK answers in band.
      const syncBody = { url: `https://crm-sync.example.test${INNGEST_PATH}` };
      const sync = await fetch(`${server.url}${INNGEST_PATH}`, {
        method: 'PUT',
        headers: {
          'content-type': 'application/json',
          'x-inngest-sync-kind': 'in_band',
          'x-inngest-signature': inngestSignature(syncBody),
        },
        body: JSON.stringify(syncBody),
      });
      expect(sync.status).toBe(200);
      const registered = (await sync.json()) as { url: string; functions: FunctionConfig[] };
      expect(registered.url).toBe(syncBody.url);
      expect(registered.functions.map((f) => f.id).sort()).toEqual([
        'crm-sync-schedule-tick',
        'crm-sync-sync-connection',
        'crm-sync-sync-connection-failure',
      ]);
    });
  });

  it('runs onFailure when Inngest calls it: a machine left mid-cycle stops in error with an audit entry', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 6 } });
    const inngest = await standInInngest();
    const server = await mount(h, handlerFor(h, { INNGEST_DEV: '1', INNGEST_BASE_URL: inngest.url }));
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const phase = await runConnection(h.deps, ref, 'phase');
      expect(phase.ok && phase.value.state).toBe('reconciling');

      const failed = failureEvent(h, Date.now());
      // The executor's requests: the failure handler of sync-connection, one step at a time.
      const answer = await executeFunction(server.url, 'crm-sync-sync-connection-failure', failed, {
        runId: 'failure-run',
        maxCalls: 3,
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ state: 'error' });

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

  it('onFailure leaves alone a cycle begun after the run failed: a newer run drives it (regression: abandoned into error)', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 6 } });
    const inngest = await standInInngest();
    const server = await mount(h, handlerFor(h, { INNGEST_DEV: '1', INNGEST_BASE_URL: inngest.url }));
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      // The failed run ended with the machine idle a minute ago; the next tick's run began a cycle since.
      const failedAt = Date.now() - 60_000;
      const phase = await runConnection(h.deps, ref, 'phase');
      expect(phase.ok && phase.value.state).toBe('reconciling');

      const answer = await executeFunction(
        server.url,
        'crm-sync-sync-connection-failure',
        failureEvent(h, failedAt),
        { runId: 'failure-run', maxCalls: 3 },
      );
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ state: 'reconciling' });
      const snapshot = await h.store.loadSnapshot(ref);
      expect(snapshot.ok && snapshot.value?.stateValue).toBe('reconciling');
      // The failed run still has its entry: it failed outside any cycle in progress.
      const audit = await h.store.listAudit({ tenantId: h.tenantId });
      const entries = audit.ok ? audit.value.entries.map((e) => e.body) : [];
      expect(entries).toMatchObject([{ cycleId: 'run:run-01', outcome: 'failed' }]);
      const resumed = await runConnection(h.deps, ref);
      expect(resumed.ok && resumed.value.state).toBe('idle');
    } finally {
      await server.close();
      await inngest.close();
      await h.close();
    }
  });

  it('in cloud mode refuses an unsigned sync: its Host header would become the URL Inngest calls (regression)', async () => {
    await withCloudEndpoint(async ({ inngest, server }) => {
      // Anyone who can reach the endpoint (Inngest Cloud has to) can name any host.
      const hijack = await rawRequest(`${server.url}${INNGEST_PATH}`, {
        method: 'PUT',
        headers: { host: 'attacker.example' },
      });
      expect(hijack.status).toBe(401);
      expect(inngest.received.filter((r) => r.path === '/fn/register')).toEqual([]);

      // A forged signature is no better.
      const forgedBody = { url: `https://attacker.example${INNGEST_PATH}` };
      const forged = await rawRequest(`${server.url}${INNGEST_PATH}`, {
        method: 'PUT',
        headers: {
          'content-type': 'application/json',
          'x-inngest-sync-kind': 'in_band',
          'x-inngest-signature': `t=${Math.floor(Date.now() / 1000)}&s=${'0'.repeat(64)}`,
        },
        body: JSON.stringify(forgedBody),
      });
      expect(forged.status).toBe(401);
      expect(forged.text).not.toContain('attacker.example');
    });
  });

  it('answers a body that is not JSON with 400, not a 500 and a stack trace in the log (regression)', async () => {
    await withCloudEndpoint(async ({ server }) => {
      for (const method of ['POST', 'PUT']) {
        const response = await fetch(
          `${server.url}${INNGEST_PATH}?fnId=crm-sync-sync-connection&stepId=step`,
          {
            method,
            headers: { 'content-type': 'application/json' },
            body: '{"event": ',
          },
        );
        expect(response.status).toBe(400);
        expect(await response.json()).toEqual({ message: expect.stringMatching(/not JSON/) });
      }
    });
  });

  it('refuses a body above 32 MiB with 413 before it is held: unsigned, it was read whole first (regression)', async () => {
    await withCloudEndpoint(async ({ server }) => {
      const url = `${server.url}${INNGEST_PATH}?fnId=crm-sync-sync-connection&stepId=step`;
      for (const chunked of [false, true]) {
        const answer = await postLargeBody(url, { bytes: 50 * 1024 * 1024, chunked });
        expect(answer.status).toBe(413);
        expect(JSON.parse(answer.text)).toEqual({ message: expect.stringMatching(/above 32 MiB/) });
      }
    });
  });
});
