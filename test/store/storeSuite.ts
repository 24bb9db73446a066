import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLeaseOwner } from '../../src/persistence/leaseOwner.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { type Backend, type TestDatabase, unwrap } from './backends.ts';
import { backoffBoundCases } from './backoffBoundCases.ts';
import { at, auditBody, contact, T0, tenantWithConnection } from './fixtures.ts';

/** A pid that surely belongs to no running process: a child that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid;

/** Tenants, connections, isolation, leases and snapshots: the same cases on every backend. */
export function describeStore(name: string, backend: () => Backend) {
  describe(`store on ${name}: tenants, connections, leases`, () => {
    let database: TestDatabase;
    let store: StoreHandle;
    beforeAll(async () => {
      database = await backend().createDatabase();
      store = unwrap(await database.open());
    });
    afterAll(async () => {
      await store?.close();
      await database?.drop();
    });

    it('creates tenants with unique names and updates their interval', async () => {
      const name = `agency-${randomUUID()}`;
      const tenant = unwrap(await store.createTenant({ name, syncIntervalSeconds: 600 }));
      expect(tenant).toMatchObject({ name, syncIntervalSeconds: 600, settings: {} });
      const again = await store.createTenant({ name, syncIntervalSeconds: 60 });
      expect(again).toMatchObject({
        ok: false,
        error: {
          kind: 'conflict',
          message: `a tenant named "${name}" already exists (names are compared ignoring letter case)`,
        },
      });
      expect(unwrap(await store.getTenantByName({ name })).id).toBe(tenant.id);
      // The same name in other letters' case or another Unicode spelling is the same tenant.
      const upper = name.toUpperCase();
      expect(await store.createTenant({ name: upper, syncIntervalSeconds: 60 })).toMatchObject({
        ok: false,
        error: { kind: 'conflict' },
      });
      expect(unwrap(await store.getTenantByName({ name: upper })).id).toBe(tenant.id);
      const accented = unwrap(
        await store.createTenant({ name: `E\u0301cole ${name}`, syncIntervalSeconds: 600 }),
      );
      expect(accented.name).toBe(`\u00c9cole ${name}`);
      expect(await store.createTenant({ name: `\u00e9cole ${name}`, syncIntervalSeconds: 60 })).toMatchObject(
        {
          ok: false,
          error: { kind: 'conflict' },
        },
      );
      expect(unwrap(await store.getTenantByName({ name: `e\u0301cole ${name}` })).id).toBe(accented.id);
      expect(
        unwrap(await store.setTenantInterval({ tenantId: tenant.id, syncIntervalSeconds: 120 }))
          .syncIntervalSeconds,
      ).toBe(120);
      expect(await store.createTenant({ name: '', syncIntervalSeconds: 0 })).toMatchObject({
        ok: false,
        error: { kind: 'invalid_input' },
      });
      expect(await store.getTenant({ tenantId: randomUUID() })).toMatchObject({
        ok: false,
        error: { kind: 'not_found' },
      });
    });

    it('compares names as Unicode case folding does (final sigma) and names a clash as the tenant spells it', async () => {
      const tag = randomUUID();
      const held = unwrap(
        await store.createTenant({ name: `Οδός Lettings ${tag}`, syncIntervalSeconds: 600 }),
      );
      // `lower` makes σ of Σ and keeps ς: these were two tenants.
      const shouted = `ΟΔΌΣ LETTINGS ${tag.toUpperCase()}`;
      expect(await store.createTenant({ name: shouted, syncIntervalSeconds: 60 })).toEqual({
        ok: false,
        error: {
          kind: 'conflict',
          message: `a tenant named "${held.name}" already exists (names are compared ignoring letter case)`,
        },
      });
      expect(unwrap(await store.getTenantByName({ name: shouted })).id).toBe(held.id);
      const other = unwrap(await store.createTenant({ name: `Other ${tag}`, syncIntervalSeconds: 600 }));
      expect(await store.renameTenant({ tenantId: other.id, name: shouted })).toMatchObject({
        ok: false,
        error: { kind: 'conflict', message: expect.stringContaining(`"${held.name}"`) },
      });
    });

    it('holds a name to 200 characters as stored, after NFC', async () => {
      // U+0958 is a composition exclusion: NFC writes it as two characters (क़ → क + ◌़).
      const growing = '\u0958'.repeat(101);
      expect(growing.normalize('NFC')).toHaveLength(202);
      expect(await store.createTenant({ name: growing, syncIntervalSeconds: 60 })).toMatchObject({
        ok: false,
        error: { kind: 'invalid_input' },
      });
      const fits = unwrap(await store.createTenant({ name: '\u0958'.repeat(100), syncIntervalSeconds: 60 }));
      expect(fits.name).toHaveLength(200);
    });

    it('lists tenants by name ignoring letter case, as names are compared', async () => {
      const tag = randomUUID();
      for (const name of [`Zed Lettings ${tag}`, `aardvark homes ${tag}`, `Mews ${tag}`])
        unwrap(await store.createTenant({ name, syncIntervalSeconds: 600 }));
      const listed = unwrap(await store.listTenants())
        .map((t) => t.name)
        .filter((n) => n.endsWith(tag));
      // In the database's byte order, capitals first, Zed came before aardvark.
      expect(listed).toEqual([`aardvark homes ${tag}`, `Mews ${tag}`, `Zed Lettings ${tag}`]);
    });

    it('seals credentials at rest and returns them only through the dedicated method', async () => {
      const { connection, ref } = await tenantWithConnection(store);
      const credentials = unwrap(await store.getConnectionCredentials(ref));
      expect(credentials.clientId).toBe('id-1');
      const [row] = await database.raw('SELECT credentials_sealed FROM connections WHERE id = $1', [
        connection.id,
      ]);
      expect(String(row?.credentials_sealed)).not.toContain(String(credentials.clientSecret));
      expect(String(row?.credentials_sealed)).toMatch(/^v1:/);
      const listed = unwrap(await store.listConnections({ tenantId: ref.tenantId }));
      expect(JSON.stringify(listed)).not.toContain(String(credentials.clientSecret));

      unwrap(await store.setConnectionCredentials({ ...ref, credentials: { token: 'new' } }));
      expect(unwrap(await store.getConnectionCredentials(ref))).toEqual({ token: 'new' });
    });

    it('stamps credentials anew only as read: the millisecond a caller saw, not ones replaced since', async () => {
      const { ref } = await tenantWithConnection(store);
      unwrap(await store.setConnectionCredentials({ ...ref, credentials: { token: 'new' } }));
      const seen = unwrap(await store.getConnection(ref)).credentialsSetAt;
      if (seen === null) throw new Error('no credentials stamp');
      unwrap(await store.setNextRun({ ...ref, nextRunAt: new Date(Date.now() + 3_600_000) }));

      unwrap(await store.restampCredentials({ ...ref, setAt: new Date(seen.getTime() - 1) }));
      expect(unwrap(await store.getConnection(ref)).credentialsSetAt).toEqual(seen);
      // The stamp is the database's clock: a few milliseconds on, it cannot read as the one before.
      await new Promise((resolve) => setTimeout(resolve, 5));
      unwrap(await store.restampCredentials({ ...ref, setAt: seen }));
      const restamped = unwrap(await store.getConnection(ref));
      expect(restamped.credentialsSetAt?.getTime()).toBeGreaterThan(seen.getTime());
      expect(restamped.nextRunAt.getTime()).toBeLessThanOrEqual(Date.now());
    });

    it('refuses a second connection to the same provider and connections for unknown tenants', async () => {
      const { ref } = await tenantWithConnection(store, 'alto');
      const input = {
        tenantId: ref.tenantId,
        provider: 'alto' as const,
        baseUrl: 'https://x.test',
        credentials: {},
        nextRunAt: T0,
      };
      expect(await store.addConnection(input)).toMatchObject({ ok: false, error: { kind: 'conflict' } });
      expect(await store.addConnection({ ...input, tenantId: randomUUID() })).toMatchObject({
        ok: false,
        error: { kind: 'not_found' },
      });
    });

    it('keeps every tenant-scoped call inside its tenant', async () => {
      const a = await tenantWithConnection(store);
      const b = await tenantWithConnection(store);
      const crafted = { tenantId: a.tenant.id, connectionId: b.connection.id };
      const bContact = randomUUID();
      unwrap(
        await store.upsertContacts({
          tenantId: b.tenant.id,
          contacts: [{ id: bContact, contact: contact({ firstName: 'B' }) }],
          now: T0,
        }),
      );
      unwrap(
        await store.replaceMatchKeys({
          tenantId: b.tenant.id,
          entries: [{ contactId: bContact, keys: ['email:b@x.test'] }],
        }),
      );
      const { auditId: bAuditId } = unwrap(
        await store.commitCycle({
          ...b.ref,
          cursor: { modified: '2025-06-01T09:00:00Z', externalId: 'B1' },
          audit: auditBody(),
        }),
      );

      const notFound = { ok: false, error: { kind: 'not_found' } };
      expect(await store.getConnection(crafted)).toMatchObject(notFound);
      expect(await store.getConnectionCredentials(crafted)).toMatchObject(notFound);
      expect(await store.setConnectionEnabled({ ...crafted, enabled: false })).toMatchObject(notFound);
      expect(await store.setNextRun({ ...crafted, nextRunAt: at(1) })).toMatchObject(notFound);
      expect(
        await store.commitCycle({
          ...crafted,
          cursor: { modified: 'x', externalId: 'y' },
          audit: auditBody(),
        }),
      ).toMatchObject(notFound);
      expect(
        await store.saveSnapshot({
          ...crafted,
          machineVersion: '1',
          snapshot: {},
          stateValue: 'idle',
          now: T0,
        }),
      ).toMatchObject(notFound);
      expect(await store.acquireLease({ ...crafted, owner: 'w', ttlMs: 1000, now: T0 })).toMatchObject(
        notFound,
      );
      expect(
        await store.upsertLinks({
          ...crafted,
          links: [
            {
              externalId: 'E',
              contactId: bContact,
              base: contact(),
              pushedHashes: {},
              remoteVersion: null,
              remoteHash: null,
            },
          ],
          now: T0,
        }),
      ).toMatchObject(notFound);

      expect(unwrap(await store.getContacts({ tenantId: a.tenant.id, ids: [bContact] }))).toEqual([]);
      expect(unwrap(await store.findCandidates({ tenantId: a.tenant.id, keys: ['email:b@x.test'] }))).toEqual(
        [],
      );
      expect(unwrap(await store.listAudit({ tenantId: a.tenant.id })).entries).toEqual([]);
      expect(
        await store.listAuditItems({ tenantId: a.tenant.id, auditId: bAuditId, list: 'errors' }),
      ).toMatchObject(notFound);
      expect(unwrap(await store.listConnections({ tenantId: a.tenant.id })).map((c) => c.id)).toEqual([
        a.connection.id,
      ]);
      const ingest = unwrap(
        await store.ingestEngagementEvents({
          tenantId: a.tenant.id,
          events: [{ eventId: 'e1', contactId: bContact, kind: 'email_open', occurredAt: T0.toISOString() }],
          now: T0,
        }),
      );
      expect(ingest.unknownContact).toEqual(['e1']);
      // Writing "the same" contact id under tenant A creates A's own row; B's is untouched.
      unwrap(
        await store.upsertContacts({
          tenantId: a.tenant.id,
          contacts: [{ id: bContact, contact: contact({ firstName: 'A' }) }],
          now: at(1),
        }),
      );

      const [bAfter] = unwrap(await store.getContacts({ tenantId: b.tenant.id, ids: [bContact] }));
      expect(bAfter?.contact).toMatchObject({ firstName: 'B', emailOpens: 0 });
      const bConnection = unwrap(await store.getConnection(b.ref));
      expect(bConnection).toMatchObject({ enabled: true, cursor: { externalId: 'B1' }, lease: null });
      expect(bConnection.nextRunAt).toEqual(T0);
      expect(unwrap(await store.loadSnapshot(b.ref))).toBeNull();
      expect(unwrap(await store.listAudit({ tenantId: b.tenant.id })).entries).toHaveLength(1);
    });

    it('selects due connections: enabled, next run reached, no live lease', async () => {
      const { ref } = await tenantWithConnection(store);
      const far = new Date('2100-01-01T00:00:00Z');
      const isDue = async (now: Date) =>
        unwrap(await store.listDueConnections({ now, limit: 10_000 })).some((c) => c.id === ref.connectionId);
      unwrap(await store.setNextRun({ ...ref, nextRunAt: far }));
      expect(await isDue(at(0))).toBe(false);
      expect(await isDue(far)).toBe(true);
      unwrap(await store.acquireLease({ ...ref, owner: 'worker-1', ttlMs: 30_000, now: far }));
      expect(await isDue(far)).toBe(false);
      expect(await isDue(new Date(far.getTime() + 30_000))).toBe(true);
      unwrap(await store.setConnectionEnabled({ ...ref, enabled: false }));
      expect(await isDue(new Date(far.getTime() + 30_000))).toBe(false);
      const overridden = unwrap(await store.setConnectionInterval({ ...ref, syncIntervalSeconds: 45 }));
      expect(overridden).toMatchObject({ syncIntervalSeconds: 45, effectiveIntervalSeconds: 45 });
      const inherited = unwrap(await store.setConnectionInterval({ ...ref, syncIntervalSeconds: null }));
      expect(inherited).toMatchObject({ syncIntervalSeconds: null, effectiveIntervalSeconds: 300 });
    });

    it('brings next runs further out than one interval within it, enabled connections only', async () => {
      const { ref } = await tenantWithConnection(store);
      const nextRun = async () => unwrap(await store.getConnection(ref)).nextRunAt;
      unwrap(await store.setNextRun({ ...ref, nextRunAt: at(3_600) }));
      unwrap(await store.setConnectionEnabled({ ...ref, enabled: false }));
      unwrap(await store.boundNextRuns({ now: at(0) }));
      expect(await nextRun()).toEqual(at(3_600));

      unwrap(await store.setConnectionEnabled({ ...ref, enabled: true }));
      expect(unwrap(await store.boundNextRuns({ now: at(0) }))).toBeGreaterThanOrEqual(1);
      expect(await nextRun()).toEqual(at(300));
      // Within one interval already: left where it is.
      unwrap(await store.setConnectionInterval({ ...ref, syncIntervalSeconds: 600 }));
      unwrap(await store.boundNextRuns({ now: at(0) }));
      expect(await nextRun()).toEqual(at(300));
    });

    backoffBoundCases(() => store);

    it('gives a lease to one owner at a time and hands it over at expiry', async () => {
      const { ref } = await tenantWithConnection(store);
      const lease = unwrap(
        await store.acquireLease({ ...ref, owner: 'host-a:1:a', ttlMs: 60_000, now: at(0) }),
      );
      expect(lease.expiresAt).toEqual(at(60));
      const blocked = await store.acquireLease({ ...ref, owner: 'host-b:2:b', ttlMs: 60_000, now: at(59) });
      expect(blocked).toMatchObject({ ok: false, error: { kind: 'lease_held', owner: 'host-a:1:a' } });
      // The owner is a process: a second run of the connection in it waits like anyone else's.
      const again = await store.acquireLease({ ...ref, owner: 'host-a:1:a', ttlMs: 60_000, now: at(1) });
      expect(again).toMatchObject({ ok: false, error: { kind: 'lease_held', owner: 'host-a:1:a' } });
      unwrap(await store.heartbeatLease({ ...ref, owner: 'host-a:1:a', ttlMs: 60_000, now: at(30) }));
      expect(
        await store.acquireLease({ ...ref, owner: 'host-b:2:b', ttlMs: 60_000, now: at(60) }),
      ).toMatchObject({ ok: false });

      const taken = unwrap(
        await store.acquireLease({ ...ref, owner: 'host-b:2:b', ttlMs: 60_000, now: at(90) }),
      );
      expect(taken.owner).toBe('host-b:2:b');
      expect(
        await store.heartbeatLease({ ...ref, owner: 'host-a:1:a', ttlMs: 60_000, now: at(91) }),
      ).toMatchObject({
        ok: false,
        error: { kind: 'lease_lost' },
      });
      // A release by the old owner must not free the new owner's lease.
      unwrap(await store.releaseLease({ ...ref, owner: 'host-a:1:a' }));
      expect(unwrap(await store.getConnection(ref)).lease?.owner).toBe('host-b:2:b');
      unwrap(await store.releaseLease({ ...ref, owner: 'host-b:2:b' }));
      expect(unwrap(await store.getConnection(ref)).lease).toBeNull();
    });

    it('takes over at once a live lease whose owner process on this host is gone', async () => {
      const { ref } = await tenantWithConnection(store);
      const dead = formatLeaseOwner({ host: hostname(), pid: deadPid(), id: randomUUID() });
      const alive = formatLeaseOwner({ host: hostname(), pid: process.pid, id: randomUUID() });
      unwrap(await store.acquireLease({ ...ref, owner: dead, ttlMs: 60_000, now: at(0) }));
      const taken = unwrap(await store.acquireLease({ ...ref, owner: alive, ttlMs: 60_000, now: at(1) }));
      expect(taken.owner).toBe(alive);
      const other = formatLeaseOwner({ host: hostname(), pid: process.pid, id: randomUUID() });
      expect(await store.acquireLease({ ...ref, owner: other, ttlMs: 60_000, now: at(2) })).toMatchObject({
        ok: false,
        error: { kind: 'lease_held', owner: alive },
      });
      unwrap(await store.releaseLease({ ...ref, owner: alive }));
    });

    it('saves and loads machine snapshots per connection', async () => {
      const { ref } = await tenantWithConnection(store);
      expect(unwrap(await store.loadSnapshot(ref))).toBeNull();
      const snapshot = {
        status: 'active',
        value: { syncing: 'fetching' },
        context: { attempt: 2, resumeAt: null },
      };
      unwrap(
        await store.saveSnapshot({
          ...ref,
          machineVersion: '3',
          snapshot,
          stateValue: { syncing: 'fetching' },
          now: at(1),
        }),
      );
      unwrap(
        await store.saveSnapshot({
          ...ref,
          machineVersion: '3',
          snapshot: { ...snapshot, context: { attempt: 3, resumeAt: null } },
          stateValue: 'idle',
          now: at(2),
        }),
      );
      expect(unwrap(await store.loadSnapshot(ref))).toEqual({
        machineVersion: '3',
        snapshot: { ...snapshot, context: { attempt: 3, resumeAt: null } },
        stateValue: 'idle',
        updatedAt: at(2),
      });
    });

    it("counts a connection's requests per UTC day, adding what each caller spent, and forgets earlier days", async () => {
      const { ref } = await tenantWithConnection(store);
      const other = await tenantWithConnection(store);
      const day = '2025-06-01';
      expect(unwrap(await store.getDailyRequests({ ...ref, day }))).toBe(0);
      expect(unwrap(await store.addDailyRequests({ ...ref, day, requests: 3 }))).toBe(3);
      expect(unwrap(await store.addDailyRequests({ ...ref, day, requests: 4 }))).toBe(7);
      expect(unwrap(await store.getDailyRequests({ ...ref, day }))).toBe(7);
      expect(unwrap(await store.getDailyRequests({ ...other.ref, day }))).toBe(0);
      // Another tenant cannot add to the connection's count.
      const foreign = { tenantId: other.ref.tenantId, connectionId: ref.connectionId, day, requests: 1 };
      expect(await store.addDailyRequests(foreign)).toMatchObject({
        ok: false,
        error: { kind: 'not_found' },
      });

      // The next day counts from 0, and the day before is no longer kept.
      expect(unwrap(await store.addDailyRequests({ ...ref, day: '2025-06-02', requests: 2 }))).toBe(2);
      expect(unwrap(await store.getDailyRequests({ ...ref, day }))).toBe(0);
      expect(unwrap(await store.getDailyRequests({ ...ref, day: '2025-06-02' }))).toBe(2);
      expect(await store.getDailyRequests({ ...ref, day: '1 June' })).toMatchObject({
        ok: false,
        error: { kind: 'invalid_input' },
      });
    });
  });
}
