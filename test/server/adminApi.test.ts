import { describe, expect, it, vi } from 'vitest';
import { credentialsSchema } from '../../src/persistence/records.ts';
import { ADMIN_TOKEN, createApiFixture, useSharedStore } from './apiFixture.ts';

const store = useSharedStore();

describe('admin API: authentication', () => {
  it.each([
    ['no Authorization header', null],
    ['a wrong token', 'not-the-admin-token-at-all'],
    ['a token one character short', ADMIN_TOKEN.slice(0, -1)],
  ])('answers 401 with %s, on every route', async (_, token) => {
    const f = await createApiFixture({ store: store() });
    try {
      for (const [method, path] of [
        ['GET', '/api/tenants'],
        ['POST', '/api/tenants'],
        ['GET', `${f.base}/connections`],
        ['POST', `${f.base}/connections/${f.h.connectionId}/sync`],
        ['GET', `${f.base}/audit`],
        ['GET', `${f.base}/audit/1/items/duplicatesSuppressed`],
        ['POST', `${f.base}/engagement`],
        ['GET', '/api/no-such-route'],
      ] as const) {
        const response = await f.call(method, path, { token });
        expect(response.status, `${method} ${path}`).toBe(401);
        expect(response.json.error).toMatch(/bearer token/);
      }
      // Nothing ran: the connection was never synced.
      const audit = await f.h.store.listAudit({ tenantId: f.h.tenantId });
      expect(audit.ok && audit.value.entries).toEqual([]);
    } finally {
      await f.close();
    }
  });

  it('serves the admin page shell without the token, and it carries no data', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      const page = await f.app.request('/admin');
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('data-testid="token-input"');
      expect(html).not.toContain(f.h.tenantId);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect((await f.app.request('/admin/admin.js')).status).toBe(200);
    } finally {
      await f.close();
    }
  });

  it('leaves /api/inngest to the Inngest handler, which checks its own signatures', async () => {
    const f = await createApiFixture({
      store: store(),
      server: { inngestHandler: async (c) => c.json({ from: 'inngest' }) },
    });
    try {
      const response = await f.call('PUT', '/api/inngest', { token: null });
      expect(response).toEqual({ status: 200, json: { from: 'inngest' } });
      expect((await f.call('GET', '/api/tenants', { token: null })).status).toBe(401);
    } finally {
      await f.close();
    }
  });
});

describe('admin API: tenants', () => {
  it('creates a tenant, lists it, refuses its name twice and updates its interval', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      const created = await f.call('POST', '/api/tenants', {
        body: { name: 'Harbour Lettings', interval: '30m' },
      });
      expect(created.status).toBe(201);
      expect(created.json.tenant).toMatchObject({ name: 'Harbour Lettings', interval: '30m' });
      const { id } = created.json.tenant;

      const list = await f.call('GET', '/api/tenants');
      expect(list.json.tenants.map((t: { name: string }) => t.name)).toContain('Harbour Lettings');

      const again = await f.call('POST', '/api/tenants', {
        body: { name: 'Harbour Lettings', interval: '5m' },
      });
      expect(again.status).toBe(409);

      const patched = await f.call('PATCH', `/api/tenants/${id}`, { body: { interval: '1h' } });
      expect(patched.status).toBe(200);
      expect(patched.json.tenant).toMatchObject({ id, interval: '1h', syncIntervalSeconds: 3600 });
      expect((await f.call('GET', `/api/tenants/${id}`)).json.tenant.interval).toBe('1h');
    } finally {
      await f.close();
    }
  });
});

describe('admin API: invalid input is a 400 with the zod issues, never a 500', () => {
  it('answers each malformed request with 400 and its issues', async () => {
    const f = await createApiFixture({ store: store() });
    const connection = `${f.base}/connections/${f.h.connectionId}`;
    const contactId = '8f2b6a1e-4c8d-4b6e-9a51-2f3c4d5e6f70';
    // "Café" written in Latin-1: é as the byte E9, which is not UTF-8. Decoded leniently it was stored as U+FFFD.
    const latin1 = (json: string) => new Uint8Array(Buffer.from(json, 'latin1'));
    const cases: Array<[string, string, { body?: unknown; rawBody?: string | Uint8Array }, string]> = [
      ['POST', '/api/tenants', { body: {} }, 'name'],
      ['POST', '/api/tenants', { body: { name: 'A', interval: '5 minutes' } }, 'interval'],
      ['POST', '/api/tenants', { body: { name: 'A', interval: '30s' } }, 'interval'],
      ['POST', '/api/tenants', { body: { name: 'A', interval: '5m', admin: true } }, ''],
      // Text the store cannot hold is the body's problem, at its path, as in a contact edit.
      ['POST', '/api/tenants', { body: { name: 'Harbour \ud800', interval: '5m' } }, 'name'],
      ['POST', '/api/tenants', { rawBody: '{"name": "A",' }, ''],
      ['POST', '/api/tenants', { rawBody: latin1('{"name": "Caf\u00e9 Lettings", "interval": "5m"}') }, ''],
      ['PATCH', `${f.base}/contacts/${contactId}`, { rawBody: latin1('{"lastName": "Caf\u00e9"}') }, ''],
      ['POST', '/api/tenants', { body: [1, 2] }, ''],
      ['PATCH', f.base, { body: { interval: 15 } }, 'interval'],
      ['PATCH', connection, { body: {} }, ''],
      ['PATCH', connection, { body: { enabled: 'yes' } }, 'enabled'],
      ['POST', `${f.base}/engagement`, { body: { events: [] } }, 'events'],
      [
        'POST',
        `${f.base}/engagement`,
        { body: { events: [{ eventId: 'e1', contactId, type: 'bounce', at: '2025-06-01T10:00:00Z' }] } },
        'events.0.type',
      ],
      [
        'POST',
        `${f.base}/engagement`,
        { body: { events: [{ eventId: 'e1', contactId: 'c-1', type: 'open', at: 'yesterday' }] } },
        'events.0.contactId',
      ],
      ['PATCH', `${f.base}/contacts/${contactId}`, { body: { email: 'not-an-email' } }, 'email'],
      ['PATCH', `${f.base}/contacts/${contactId}`, { body: { favouriteColour: 'blue' } }, ''],
      ['PATCH', `${f.base}/contacts/${contactId}`, { body: {} }, ''],
      ['POST', '/api/tenants', { body: { name: 'Two\u2028Lines', interval: '15m' } }, 'name'],
      // Invisible: a second "Lookalike" no listing tells apart; a direction override reorders the line.
      ['POST', '/api/tenants', { body: { name: 'Lookalike\u200B', interval: '15m' } }, 'name'],
      // A field given twice, as a query parameter given twice: either value would be a guess.
      ['POST', '/api/tenants', { rawBody: '{"name":"Dup One","name":"Dup Two","interval":"1m"}' }, 'name'],
      ['POST', '/api/tenants', { body: { name: 'Harbour\u202ELettings', interval: '15m' } }, 'name'],
      // The scheduler ticks once a minute: 90 s ran a cycle every minute.
      ['POST', '/api/tenants', { body: { name: 'Ninety', interval: '90s' } }, 'interval'],
      ['GET', `${f.base}/audit?limit=0`, {}, 'limit'],
      // Decimal digits only: a coerced number would read these as 16, 100 and 0.
      ['GET', `${f.base}/audit?limit=0x10`, {}, 'limit'],
      ['GET', `${f.base}/contacts?limit=1e2`, {}, 'limit'],
      ['GET', `${f.base}/audit?beforeId=`, {}, 'beforeId'],
      // Either value would answer a question the caller may not have asked.
      ['GET', `${f.base}/audit?limit=1&limit=300`, {}, 'limit'],
      ['GET', `${f.base}/audit?provider=salesforce`, {}, 'provider'],
      ['GET', `${f.base}/audit?since=last-week`, {}, 'since'],
      // Instants are UTC years 0001 to 9999: the database refuses year 0000 and 10000, and drops 1 BC's era.
      ['GET', `${f.base}/audit?since=0000-01-01T00:00:00Z`, {}, 'since'],
      ['GET', `${f.base}/audit?since=9999-12-31T23:59:59-00:01`, {}, 'since'],
      ['GET', `${f.base}/audit?since=0001-01-01T00:00:00%2B14:00`, {}, 'since'],
      [
        'POST',
        `${f.base}/engagement`,
        { body: { events: [{ eventId: 'e', contactId, type: 'open', at: '0001-01-01T00:00:00+14:00' }] } },
        'events.0.at',
      ],
      [
        'PATCH',
        `${f.base}/contacts/${contactId}`,
        { body: { nurtureSequence: { enrolledAt: '9999-12-31T23:59:59-00:01' } } },
        'nurtureSequence.enrolledAt',
      ],
      ['GET', `${f.base}/audit?colour=blue`, {}, ''],
      ['GET', `${f.base}/contacts?afterId=7`, {}, 'afterId'],
      ['GET', '/api/tenants/not-a-uuid/connections', {}, 'tenantId'],
      // Routes that take no query parameters refuse unknown ones, as the routes that take some do.
      ['GET', '/api/tenants?limit=5', {}, ''],
      ['GET', `${f.base}?verbose=1`, {}, ''],
      ['GET', `${f.base}/connections?state=idle`, {}, ''],
      ['GET', `${connection}?verbose=1`, {}, ''],
      ['GET', `${f.base}/contacts/${contactId}?fields=email`, {}, ''],
      ['POST', `${f.base}/connections/42/sync`, {}, 'connectionId'],
      ['POST', `${connection}/sync`, { body: { full: true } }, ''],
      ['POST', `${connection}/retry`, { body: {} }, ''],
    ];
    try {
      for (const [method, path, options, issuePath] of cases) {
        const response = await f.call(method, path, options);
        const label = `${method} ${path} ${JSON.stringify(options)}`;
        expect(response.status, label).toBe(400);
        expect(response.json.error, label).toMatch(/^invalid (body|path|query)/);
        expect(Array.isArray(response.json.issues), label).toBe(true);
        if (issuePath !== '') {
          const paths = response.json.issues.map((i: { path: unknown[] }) => i.path.join('.'));
          expect(paths, label).toContain(issuePath);
        }
      }
    } finally {
      await f.close();
    }
  });

  it('refuses an unknown query parameter on every write route with a 400, changing nothing', async () => {
    const f = await createApiFixture({ store: store() });
    const connection = `${f.base}/connections/${f.h.connectionId}`;
    try {
      await f.call('POST', `${connection}/sync`);
      const { json } = await f.call('GET', `${f.base}/contacts?limit=1`);
      const [target] = json.contacts;
      const before = {
        tenant: (await f.call('GET', f.base)).json.tenant,
        connection: (await f.call('GET', connection)).json.connection,
        tenants: (await f.call('GET', '/api/tenants')).json.tenants,
      };
      const event = { eventId: 'dry-1', contactId: target.id, type: 'open', at: '2025-06-01T10:00:00Z' };
      const writes: Array<[string, string, { body?: unknown }]> = [
        ['POST', `${f.base}/engagement?dryRun=1`, { body: { events: [event] } }],
        ['POST', '/api/tenants?x=1', { body: { name: 'Query Lettings', interval: '30m' } }],
        ['PATCH', `${f.base}?x=1`, { body: { interval: '1h' } }],
        ['PATCH', `${connection}?x=1`, { body: { enabled: false } }],
        ['PATCH', `${f.base}/contacts/${target.id}?dryRun=1`, { body: { firstName: 'Dry' } }],
        ['POST', `${connection}/sync?full=1`, {}],
        ['POST', `${connection}/retry?x=1`, {}],
        // A parameter without a name, which Hono's query() leaves out.
        ['PATCH', `${f.base}?=1`, { body: { interval: '1h' } }],
        ['POST', `${connection}/retry?=`, {}],
      ];
      for (const [method, path, options] of writes) {
        const response = await f.call(method, path, options);
        expect(response.status, `${method} ${path}`).toBe(400);
        expect(response.json.error, `${method} ${path}`).toMatch(/^invalid query/);
        expect(Array.isArray(response.json.issues), `${method} ${path}`).toBe(true);
      }
      expect((await f.call('GET', f.base)).json.tenant).toEqual(before.tenant);
      expect((await f.call('GET', connection)).json.connection).toEqual(before.connection);
      expect((await f.call('GET', '/api/tenants')).json.tenants).toEqual(before.tenants);
      const contact = (await f.call('GET', `${f.base}/contacts/${target.id}`)).json.contact;
      expect([contact.contact, contact.changeSeq]).toEqual([target.contact, target.changeSeq]);
      expect((await f.call('GET', `${f.base}/audit`)).json.entries).toHaveLength(1);
      const ingested = await f.call('POST', `${f.base}/engagement`, { body: { events: [event] } });
      expect(ingested.json.inserted).toEqual(['dry-1']);
    } finally {
      await f.close();
    }
  });

  it('answers a method a route does not take with 405 and Allow, a body not declared JSON with 415', async () => {
    const f = await createApiFixture({ store: store() });
    const connection = `${f.base}/connections/${f.h.connectionId}`;
    try {
      const wrongMethods: Array<[string, string, string]> = [
        ['DELETE', '/api/tenants', 'GET, HEAD, POST'],
        ['PUT', f.base, 'GET, HEAD, PATCH'],
        ['GET', `${connection}/sync`, 'POST'],
        ['DELETE', `${f.base}/contacts/8f2b6a1e-4c8d-4b6e-9a51-2f3c4d5e6f70`, 'GET, HEAD, PATCH'],
      ];
      for (const [method, path, allow] of wrongMethods) {
        const response = await f.app.request(path, {
          method,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(response.headers.get('allow'), `${method} ${path}`).toBe(allow);
        expect(((await response.json()) as { error: string }).error).toMatch(/not allowed/);
      }
      const unknown = await f.call('GET', '/api/no-such-thing');
      expect(unknown.status).toBe(404);
      // A path the router does not serve (a trailing slash; `..`, which the URL resolves to one) is a 404, not
      // a 405 that lists the very method used.
      for (const [method, path] of [
        ['POST', `${connection}/sync/`],
        ['GET', `${f.base}/audit/`],
        ['GET', `${f.base}/connections/%2e%2e`],
        ['PATCH', `${f.base}/`],
        // The API's own root serves nothing either: a JSON 404 as under it, not the plain text of other paths.
        ['GET', '/api'],
        ['POST', '/api'],
      ] as const) {
        const response = await f.call(method, path);
        expect(response.status, `${method} ${path}`).toBe(404);
        expect(response.json.error, `${method} ${path}`).toMatch(/^no route /);
      }

      const declared = (type: string | null) =>
        f.app.request('/api/tenants', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${ADMIN_TOKEN}`,
            ...(type === null ? {} : { 'content-type': type }),
          },
          body: JSON.stringify({ name: `Typed ${type}`, interval: '15m' }),
        });
      for (const type of [null, 'text/plain', 'application/x-www-form-urlencoded']) {
        const response = await declared(type);
        expect(response.status, String(type)).toBe(415);
        expect(((await response.json()) as { error: string }).error).toMatch(
          /Content-Type: application\/json/,
        );
      }
      expect((await declared('application/json; charset=utf-8')).status).toBe(201);
      const patch = await f.app.request(f.base, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ interval: '30m' }),
      });
      expect(patch.status).toBe(200);
    } finally {
      await f.close();
    }
  });
});

describe('admin API: connections and actions', () => {
  it('"sync now" runs a cycle: idle with a cursor, and a new audit entry', async () => {
    const f = await createApiFixture({ store: store() });
    const connection = `${f.base}/connections/${f.h.connectionId}`;
    try {
      const before = await f.call('GET', `${f.base}/connections`);
      expect(before.json.connections).toHaveLength(1);
      expect(before.json.connections[0]).toMatchObject({ state: 'idle', cursor: null, lastAudit: null });
      expect(before.json.connections[0]).not.toHaveProperty('credentials');

      const synced = await f.call('POST', `${connection}/sync`);
      expect(synced.status).toBe(200);
      expect(synced.json.connection).toMatchObject({
        state: 'idle',
        attempt: 0,
        lastError: null,
        running: false,
      });
      expect(synced.json.connection.cursor).not.toBeNull();
      expect(synced.json.connection.lastAudit.counts.fetched).toBe(30);
      expect(Date.parse(synced.json.connection.nextRunAt)).toBeGreaterThan(Date.now());

      const audit = await f.call('GET', `${f.base}/audit`);
      expect(audit.json.entries).toHaveLength(1);
      expect(audit.json.entries[0]).toMatchObject({
        connectionId: f.h.connectionId,
        provider: 'reapit',
        body: { outcome: 'completed', fetched: 30 },
      });

      await f.call('POST', `${connection}/sync`);
      const page1 = await f.call('GET', `${f.base}/audit?limit=1`);
      expect(page1.json.entries).toHaveLength(1);
      expect(page1.json.nextBeforeId).toBe(page1.json.entries[0].id);
      const page2 = await f.call('GET', `${f.base}/audit?limit=1&beforeId=${page1.json.nextBeforeId}`);
      expect(page2.json.entries[0].id).toBeLessThan(page1.json.entries[0].id);
      const filtered = await f.call('GET', `${f.base}/audit?provider=alto`);
      expect(filtered.json.entries).toEqual([]);
      const since = await f.call(
        'GET',
        `${f.base}/audit?since=${encodeURIComponent('2999-01-01T00:00:00Z')}`,
      );
      expect(since.json.entries).toEqual([]);
    } finally {
      await f.close();
    }
  });

  it('"sync now" names the connection by ids in capitals as well: the same connection, its credentials read', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      // PostgreSQL reads both spellings as one uuid, but the credentials are sealed under the ids as text: the ids
      // in capitals failed to open them (a 500 telling the operator to restore the credentials key).
      const tenant = f.h.tenantId.toUpperCase();
      const synced = await f.call(
        'POST',
        `/api/tenants/${tenant}/connections/${f.h.connectionId.toUpperCase()}/sync`,
      );
      expect(synced.status).toBe(200);
      expect(synced.json.connection).toMatchObject({ id: f.h.connectionId, state: 'idle', lastError: null });
      expect(synced.json.connection.lastAudit.counts.fetched).toBe(30);
      const audit = await f.call(
        'GET',
        `/api/tenants/${tenant}/audit?connectionId=${f.h.connectionId.toUpperCase()}`,
      );
      expect(audit.json.entries).toEqual([expect.objectContaining({ connectionId: f.h.connectionId })]);
    } finally {
      await f.close();
    }
  });

  it('"retry" outside error and a run whose lease is held elsewhere are 409s', async () => {
    const f = await createApiFixture({ store: store() });
    const connection = `${f.base}/connections/${f.h.connectionId}`;
    try {
      const retry = await f.call('POST', `${connection}/retry`);
      expect(retry.status).toBe(409);
      expect(retry.json.error).toMatch(/not in error/);

      const lease = await f.h.store.acquireLease({
        tenantId: f.h.tenantId,
        connectionId: f.h.connectionId,
        owner: 'elsewhere:1:other-worker',
        ttlMs: 60_000,
        now: new Date(),
      });
      expect(lease.ok).toBe(true);
      const connections = await f.call('GET', `${f.base}/connections`);
      expect(connections.json.connections[0].running).toBe(true);
      const sync = await f.call('POST', `${connection}/sync`);
      expect(sync.status).toBe(409);
    } finally {
      await f.close();
    }
  });

  it('runs one cycle for a "sync now" sent while this process runs the connection: the second is a 409', async () => {
    const f = await createApiFixture({ store: store(), contacts: 1_000 });
    const connection = `${f.base}/connections/${f.h.connectionId}`;
    try {
      const first = f.call('POST', `${connection}/sync`);
      // The second arrives once the first holds the lease (the scheduler, or another tab, in the same process).
      await vi.waitUntil(async () => (await f.call('GET', connection)).json.connection.running, {
        timeout: 20_000,
        interval: 5,
      });
      const second = await f.call('POST', `${connection}/sync`);
      expect(second.status).toBe(409);
      expect(second.json.error).toMatch(/ is leased by /);
      expect((await first).status).toBe(200);
      const audit = await f.call('GET', `${f.base}/audit`);
      expect(audit.json.entries).toHaveLength(1);
      const after = await f.call('GET', connection);
      expect(after.json.connection.lastAudit.counts.fetched).toBe(1_000);
    } finally {
      await f.close();
    }
  });

  it('"retry" leads a connection out of error once the cause is fixed', async () => {
    const f = await createApiFixture({ store: store() });
    const ref = { tenantId: f.h.tenantId, connectionId: f.h.connectionId };
    const connection = `${f.base}/connections/${f.h.connectionId}`;
    try {
      const good = credentialsSchema.parse(f.h.sim.credentials);
      await f.h.store.setConnectionCredentials({ ...ref, credentials: { ...good, clientSecret: 'revoked' } });
      const failed = await f.call('POST', `${connection}/sync`);
      expect(failed.status).toBe(200);
      expect(failed.json.connection).toMatchObject({
        state: 'error',
        errorReason: 'auth_failed',
        resumePhase: 'fetching',
        lastError: { kind: 'auth_failed', phase: 'fetching' },
      });
      const audit = await f.call('GET', `${f.base}/audit`);
      expect(audit.json.entries[0].body).toMatchObject({ outcome: 'failed' });
      expect(audit.json.entries[0].body.errors.at(-1)).toMatchObject({ retry: false });

      await f.h.store.setConnectionCredentials({ ...ref, credentials: good });
      const retried = await f.call('POST', `${connection}/retry`);
      expect(retried.status).toBe(200);
      expect(retried.json.connection).toMatchObject({ state: 'idle', lastError: null, errorReason: null });
      expect(retried.json.connection.cursor).not.toBeNull();
    } finally {
      await f.close();
    }
  });

  it('sets and clears the interval, and disables the connection', async () => {
    const f = await createApiFixture({ store: store() });
    const connection = `${f.base}/connections/${f.h.connectionId}`;
    try {
      await f.call('POST', `${connection}/sync`); // next run: one tenant interval (15m) away
      const own = await f.call('PATCH', connection, { body: { interval: '5m' } });
      expect(own.status).toBe(200);
      expect(own.json.connection).toMatchObject({ interval: '5m', effectiveInterval: '5m' });
      // A shorter interval takes effect now, not after the run already scheduled 15 minutes out.
      expect(Date.parse(own.json.connection.nextRunAt)).toBeLessThanOrEqual(Date.now() + 5 * 60_000);

      const follow = await f.call('PATCH', connection, { body: { interval: null } });
      expect(follow.json.connection).toMatchObject({ interval: null, effectiveInterval: '15m' });

      const disabled = await f.call('PATCH', connection, { body: { enabled: false } });
      expect(disabled.json.connection.enabled).toBe(false);
      expect((await f.call('POST', `${connection}/sync`)).status).toBe(409);
    } finally {
      await f.close();
    }
  });
});

describe('admin API: tenant isolation', () => {
  it("answers 404 for another tenant's connection and contact", async () => {
    const f = await createApiFixture({ store: store() });
    try {
      await f.call('POST', `${f.base}/connections/${f.h.connectionId}/sync`);
      const contacts = await f.call('GET', `${f.base}/contacts?limit=1`);
      const contactId = contacts.json.contacts[0].id;

      const other = await f.call('POST', '/api/tenants', { body: { name: 'Other Agency', interval: '15m' } });
      const otherBase = `/api/tenants/${other.json.tenant.id}`;
      const added = await f.h.store.addConnection({
        tenantId: other.json.tenant.id,
        provider: 'reapit',
        baseUrl: f.h.sim.baseUrl,
        credentials: credentialsSchema.parse(f.h.sim.credentials),
        nextRunAt: new Date(),
      });
      expect(added.ok).toBe(true);

      const foreign = `${otherBase}/connections/${f.h.connectionId}`;
      expect((await f.call('GET', foreign)).status).toBe(404);
      expect((await f.call('PATCH', foreign, { body: { enabled: false } })).status).toBe(404);
      expect((await f.call('POST', `${foreign}/sync`)).status).toBe(404);
      expect((await f.call('POST', `${foreign}/retry`)).status).toBe(404);
      expect((await f.call('GET', `${otherBase}/contacts/${contactId}`)).status).toBe(404);
      expect(
        (await f.call('PATCH', `${otherBase}/contacts/${contactId}`, { body: { firstName: 'Mallory' } }))
          .status,
      ).toBe(404);

      const otherConnections = await f.call('GET', `${otherBase}/connections`);
      expect(otherConnections.json.connections.map((c: { id: string }) => c.id)).not.toContain(
        f.h.connectionId,
      );
      expect((await f.call('GET', `${otherBase}/audit`)).json.entries).toEqual([]);
      expect((await f.call('GET', `${otherBase}/contacts`)).json.contacts).toEqual([]);
      const events = { events: [{ eventId: 'x-1', contactId, type: 'open', at: '2025-06-01T10:00:00Z' }] };
      expect((await f.call('POST', `${otherBase}/engagement`, { body: events })).json.unknownContact).toEqual(
        ['x-1'],
      );

      const unknownTenant = '/api/tenants/00000000-0000-4000-8000-000000000000';
      expect((await f.call('GET', `${unknownTenant}/connections`)).status).toBe(404);
      expect((await f.call('GET', `${unknownTenant}/audit`)).status).toBe(404);
      expect((await f.call('POST', `${unknownTenant}/engagement`, { body: events })).status).toBe(404);
    } finally {
      await f.close();
    }
  });
});
