import { describe, expect, it } from 'vitest';
import { createRemoteStore } from '../../src/persistence/remoteStore.ts';
import { decodeWire, encodeWire, STORE_RPC_PATH } from '../../src/persistence/storeRpc.ts';
import { runConnectionInHolder } from '../../src/server/adminApiClient.ts';
import { createServerApp } from '../../src/server/app.ts';
import { startServer } from '../../src/server/serve.ts';
import { commitDuplicatesAudit } from '../support/auditEntries.ts';
import { ADMIN_TOKEN, type ApiFixture, createApiFixture, useSharedStore } from './apiFixture.ts';

const store = useSharedStore();

/** The real server app of a fixture, listening on a free loopback port (store calls need a real socket). */
async function listening(use: (f: ApiFixture, url: string) => Promise<void>): Promise<void> {
  const f = await createApiFixture({ store: store() });
  const server = await startServer({
    app: f.app,
    store: { publishAdminUrl: async () => {} },
    port: 0,
    host: '127.0.0.1',
  });
  try {
    await use(f, server.url);
  } finally {
    await server.close();
    await f.close();
  }
}

async function post(url: string, method: string, body: string, token: string | null = ADMIN_TOKEN) {
  const response = await fetch(`${url}${STORE_RPC_PATH}/${method}`, {
    method: 'POST',
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    body,
  });
  return { status: response.status, text: await response.text() };
}

describe('store calls of other local commands (POST /internal/store/:method)', () => {
  it('answers 401 without the admin token or with a wrong one, before anything else', async () => {
    await listening(async (_, url) => {
      for (const token of [null, 'not-the-admin-token-at-all', ADMIN_TOKEN.slice(0, -1)]) {
        for (const method of ['listTenants', 'getConnectionCredentials', 'nope']) {
          const answer = await post(url, method, encodeWire({ input: undefined }), token);
          expect(answer.status, `${method} with ${token}`).toBe(401);
          expect(JSON.parse(answer.text).error).toMatch(/bearer token/);
        }
      }
    });
  });

  it('refuses credentials, transactions and lifecycle with 403, unknown methods with 404', async () => {
    await listening(async (f, url) => {
      const ref = { tenantId: f.h.tenantId, connectionId: f.h.connectionId };
      const refused = [
        ['getConnectionCredentials', 403, /not served to other processes/],
        ['acquireLease', 403, /not served to other processes/],
        ['transaction', 403, /runs only in the process holding the database/],
        ['close', 403, /runs only in the process holding the database/],
        ['noSuchMethod', 404, /no store method "noSuchMethod"/],
        ['__proto__', 404, /no store method/],
      ] as const;
      for (const [method, status, message] of refused) {
        const answer = await post(url, method, encodeWire({ input: ref }));
        expect(answer.status, method).toBe(status);
        expect(JSON.parse(answer.text).error, method).toMatch(message);
        expect(answer.text).not.toContain(String(f.h.sim.credentials.clientSecret));
      }
    });
  });

  it.each([
    ['not JSON', 'tenantId=1', /expected a superjson document/],
    ['JSON without input', JSON.stringify({ json: { tenant: 1 } }), /invalid body/],
    ['an input that is not a uuid', encodeWire({ input: { tenantId: 'x' } }), /Invalid UUID/],
    ['an input with an unknown key', encodeWire({ input: { tenantId: null, extra: 1 } }), /invalid body/],
  ])('answers 400 to %s, never 500', async (_, body, message) => {
    await listening(async (_f, url) => {
      const answer = await post(url, 'getTenant', body);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.text).error).toMatch(message);
    });
  });

  it('answers 400 to an unknown query parameter, calling nothing', async () => {
    await listening(async (_f, url) => {
      const name = 'Dry Run Lettings';
      const answer = await post(
        url,
        'createTenant?dryRun=1',
        encodeWire({ input: { name, syncIntervalSeconds: 60 } }),
      );
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.text).error).toMatch(/^invalid query/);
      const created = await post(url, 'getTenantByName', encodeWire({ input: { name } }));
      expect(decodeWire(created.text)).toMatchObject({ ok: false, error: { kind: 'not_found' } });
    });
  });

  it('serves loopback callers only: a request without a socket is refused', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      const response = await f.app.request(`${STORE_RPC_PATH}/listTenants`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        body: encodeWire({ input: undefined }),
      });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ error: 'store calls are served to loopback only' });
    } finally {
      await f.close();
    }
  });

  it('the remote store answers like the store: dates kept, failures passed on, the rest unavailable', async () => {
    await listening(async (f, url) => {
      const remote = createRemoteStore({ adminUrl: url, token: ADMIN_TOKEN, holderName: 'the test holder' });
      const ref = { tenantId: f.h.tenantId, connectionId: f.h.connectionId };

      const tenant = await remote.getTenant({ tenantId: f.h.tenantId });
      if (!tenant.ok) throw new Error(tenant.error.message);
      expect(tenant.value.createdAt).toBeInstanceOf(Date);
      const local = await f.h.store.getTenant({ tenantId: f.h.tenantId });
      expect(local.ok && tenant.value).toEqual(local.ok && local.value);

      const nextRunAt = new Date('2030-01-01T00:00:00.000Z');
      expect(await remote.setNextRun({ ...ref, nextRunAt })).toEqual({ ok: true, value: undefined });
      const connection = await f.h.store.getConnection(ref);
      expect(connection.ok && connection.value.nextRunAt).toEqual(nextRunAt);

      // `connection set-base-url` through a holder: plain http to another host is refused on the way in too.
      const moved = await remote.setConnectionBaseUrl({ ...ref, baseUrl: `${f.h.sim.baseUrl}/` });
      expect(moved.ok && moved.value.baseUrl).toBe(`${f.h.sim.baseUrl}/`);
      const plain = await remote.setConnectionBaseUrl({ ...ref, baseUrl: 'http://api.crm.invalid' });
      expect(plain).toMatchObject({ ok: false, error: { message: /must be https/ } });

      // A store failure comes back as the same value, not as an HTTP error.
      const taken = await remote.createTenant({ name: tenant.value.name, syncIntervalSeconds: 60 });
      expect(taken).toMatchObject({ ok: false, error: { kind: 'conflict' } });
      const missing = await remote.getTenantByName({ name: 'nobody at all' });
      expect(missing).toMatchObject({ ok: false, error: { kind: 'not_found' } });

      const credentials = await remote.getConnectionCredentials(ref);
      expect(credentials).toMatchObject({ ok: false, error: { kind: 'unavailable' } });
      expect(JSON.stringify(credentials)).not.toContain(String(f.h.sim.credentials.clientSecret));
      const tx = await remote.transaction(async () => ({ ok: true, value: 1 }));
      expect(tx).toMatchObject({
        ok: false,
        error: { kind: 'unavailable', message: /transactions run only/ },
      });

      const wrongToken = createRemoteStore({
        adminUrl: url,
        token: 'x'.repeat(32),
        holderName: 'the test holder',
      });
      expect(await wrongToken.listTenants()).toMatchObject({
        ok: false,
        error: { kind: 'unavailable', message: /refused the admin token/ },
      });
    });
  });

  it('the remote store reads audit entries with their lists cut, and pages through a list', async () => {
    await listening(async (f, url) => {
      const remote = createRemoteStore({ adminUrl: url, token: ADMIN_TOKEN, holderName: 'the test holder' });
      const ref = { tenantId: f.h.tenantId, connectionId: f.h.connectionId };
      const { auditId, duplicates } = await commitDuplicatesAudit(f.h.store, ref, 150);

      const query = { tenantId: f.h.tenantId, itemsPerList: 2 };
      const listed = await remote.listAudit(query);
      expect(listed).toEqual(await f.h.store.listAudit(query));
      expect(listed.ok && listed.value.entries[0]).toMatchObject({
        body: { duplicatesSuppressed: duplicates.slice(0, 2) },
        itemCounts: { conflicts: 0, duplicatesSuppressed: 150, errors: 0 },
      });

      const items = { tenantId: f.h.tenantId, auditId, list: 'duplicatesSuppressed', offset: 100 } as const;
      expect(await remote.listAuditItems(items)).toEqual({
        ok: true,
        value: { items: duplicates.slice(100), total: 150, nextOffset: null },
      });
      expect(await remote.listAuditItems({ ...items, auditId: auditId + 1 })).toMatchObject({
        ok: false,
        error: { kind: 'not_found' },
      });
      expect(await remote.listAuditItems({ ...items, limit: 0 })).toMatchObject({
        ok: false,
        error: { kind: 'invalid_input', message: /limit/ },
      });
    });
  });

  it('a holder that stopped answering is unavailable, naming it and the reason', async () => {
    let url = '';
    await listening(async (_, listeningUrl) => {
      url = listeningUrl;
    });
    const remote = createRemoteStore({ adminUrl: url, token: ADMIN_TOKEN, holderName: 'the test holder' });
    expect(await remote.listTenants()).toEqual({
      ok: false,
      error: { kind: 'unavailable', message: `the test holder at ${url} did not answer (ECONNREFUSED)` },
    });
  });
});

describe('a holder that restarted with another admin token mid-command (a serve on a fixed port)', () => {
  it('is a failure a retry fixes (no adminTokenRefused), for store calls and for a run in it', async () => {
    const f = await createApiFixture({ store: store() });
    const ref = { tenantId: f.h.tenantId, connectionId: f.h.connectionId };
    const before = await startServer({
      app: f.app,
      store: { publishAdminUrl: async () => {} },
      port: 0,
      host: '127.0.0.1',
    });
    const address = {
      adminUrl: before.url,
      token: ADMIN_TOKEN,
      holderName: 'the test holder',
      tokenAccepted: false,
    };
    const remote = createRemoteStore(address);
    let after: Awaited<ReturnType<typeof startServer>> | null = null;
    try {
      expect((await remote.listTenants()).ok).toBe(true);
      await before.close();
      const restarted = createServerApp({ store: f.h.store, runner: f.h.deps, adminToken: 'b'.repeat(32) });
      const port = Number(new URL(before.url).port);
      after = await startServer({
        app: restarted,
        store: { publishAdminUrl: async () => {} },
        port,
        host: '127.0.0.1',
      });

      const restartedAnswer =
        /^the test holder refused the admin token it had accepted earlier in this command: it has restarted with another; run the command again$/;
      const listed = await remote.listTenants();
      expect(listed).toEqual({
        ok: false,
        error: { kind: 'unavailable', message: expect.stringMatching(restartedAnswer) },
      });
      expect(await runConnectionInHolder(address, ref, 'cycle')).toEqual({
        ok: false,
        error: expect.stringMatching(restartedAnswer),
      });

      // A token it never accepted is configuration, as before.
      const neverAccepted = createRemoteStore({
        adminUrl: after.url,
        token: ADMIN_TOKEN,
        holderName: 'the test holder',
      });
      expect(await neverAccepted.listTenants()).toMatchObject({
        ok: false,
        error: { kind: 'unavailable', message: /CRM_SYNC_ADMIN_TOKEN must match/, adminTokenRefused: true },
      });
    } finally {
      await (after ?? before).close();
      await f.close();
    }
  });
});
