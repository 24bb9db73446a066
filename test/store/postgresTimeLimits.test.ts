import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPidAlive, ownerGoneOnHost } from '../../src/persistence/leaseOwner.ts';
import {
  dedicatedSessionLocks,
  openPostgresStore,
  READ_TIMEOUT_MARGIN_MS,
} from '../../src/persistence/postgres.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';
import { startPgProxy } from '../support/pgProxy.ts';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgresServer.ts';
import { unwrap } from './backends.ts';
import { contact, tenantWithConnection } from './fixtures.ts';

const secrets = createSecretBox(randomBytes(32));
const isOwnerGone = ownerGoneOnHost(hostname(), isPidAlive);
const LIMIT_MS = 1_000;

/**
 * A statement that never ends must not hold its caller, and with it a run and its lease, until the process
 * restarts: on PostgreSQL each statement has a time limit, and the store reports one past it as the database
 * unavailable (a failure a backoff retries), not as a bug.
 */
describe.runIf(postgresAvailable('the statement time limit suite'))(
  'PostgreSQL statement time limits',
  () => {
    let server: PostgresServer;
    let other: pg.Client;
    beforeAll(async () => {
      server = await startPostgres();
      other = new pg.Client({ connectionString: server.url });
      await other.connect();
    });
    afterAll(async () => {
      await other.end();
      await server.stop();
    });

    const open = (url: string, maxConnections?: number) =>
      openPostgresStore({
        url,
        secrets,
        isOwnerGone,
        statementTimeoutMs: LIMIT_MS,
        ...(maxConnections === undefined ? {} : { maxConnections }),
      });

    it('cancels a statement waiting on a lock another session holds, and the next call goes through', async () => {
      const store = unwrap(await open(server.url));
      try {
        const { ref } = await tenantWithConnection(store);
        // An operator's transaction holds the table, as a long migration by hand or a forgotten psql session does.
        await other.query('BEGIN');
        await other.query('LOCK TABLE connections IN ACCESS EXCLUSIVE MODE');
        const started = Date.now();
        const waited = await store.getConnection(ref);
        const elapsed = Date.now() - started;
        await other.query('ROLLBACK');

        expect(waited).toEqual({
          ok: false,
          error: {
            kind: 'unavailable',
            message: 'database unavailable: canceling statement due to statement timeout',
          },
        });
        expect(elapsed).toBeGreaterThanOrEqual(LIMIT_MS - 50);
        expect(unwrap(await store.getConnection(ref)).id).toBe(ref.connectionId);
      } finally {
        await store.close();
      }
    }, 30_000);

    it('gives up on a transaction whose network went silent, drops its connection, and the next call goes through', async () => {
      const proxy = await startPgProxy(server.url);
      // One pooled connection: the silenced one must be dropped for the next call to get through.
      const store = unwrap(await open(proxy.url, 1));
      try {
        const { ref } = await tenantWithConnection(store);
        const started = Date.now();
        const result = await store.transaction(async (tx) => {
          unwrap(await tx.getConnection(ref));
          proxy.silenceAll();
          return tx.getConnection(ref);
        });
        // Once: nothing more (a ROLLBACK) is sent on the silent connection to wait as long again.
        expect(Date.now() - started).toBeLessThan(2 * (LIMIT_MS + READ_TIMEOUT_MARGIN_MS));
        expect(result).toEqual({
          ok: false,
          error: { kind: 'unavailable', message: 'database unavailable: Query read timeout' },
        });
        expect(unwrap(await store.getConnection(ref)).id).toBe(ref.connectionId);
      } finally {
        await store.close();
        await proxy.close();
      }
    }, 60_000);

    it('ends a lock session whose network went silent: its locks are reported lost, and a new session takes over', async () => {
      const proxy = await startPgProxy(server.url);
      const locks = dedicatedSessionLocks({ connectionString: proxy.url, query_timeout: LIMIT_MS });
      try {
        expect(await locks.tryLock('crm-sync:test:held')).toBe(true);
        const held = locks.lost('crm-sync:test:held');
        proxy.silenceAll();
        await expect(locks.tryLock('crm-sync:test:other')).rejects.toThrow('Query read timeout');
        // Its holders stop, as for a session the server ended.
        expect(held?.aborted).toBe(true);
        expect(await locks.tryLock('crm-sync:test:other')).toBe(true);
      } finally {
        await locks.end();
        await proxy.close();
      }
    }, 30_000);

    it('sets its limits behind a pooler that refuses startup parameters it does not know (PgBouncer)', async () => {
      const proxy = await startPgProxy(server.url);
      proxy.setMode('pooler');
      try {
        const store = unwrap(await open(proxy.url));
        try {
          const { ref } = await tenantWithConnection(store);
          await other.query('BEGIN');
          await other.query('LOCK TABLE connections IN ACCESS EXCLUSIVE MODE');
          const waited = await store.getConnection(ref);
          await other.query('ROLLBACK');
          expect(waited).toMatchObject({
            ok: false,
            error: { message: expect.stringContaining('statement timeout') },
          });
        } finally {
          await store.close();
        }
      } finally {
        await proxy.close();
      }
    }, 30_000);

    it('lets a contact writer wait past both limits for an import holding the tenant', async () => {
      const store = unwrap(await open(server.url));
      try {
        const { ref } = await tenantWithConnection(store);
        const { tenantId } = ref;
        // A long `contact import`: its transaction holds the tenant's change lock past both limits.
        await other.query('BEGIN');
        await other.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
          `crm-sync:changes:${tenantId}`,
        ]);
        const writing = store.upsertContacts({
          tenantId,
          contacts: [{ id: randomUUID(), contact: contact({ firstName: 'Aled', lastName: 'Pryce' }) }],
          now: new Date(),
        });
        await new Promise((resolve) => setTimeout(resolve, LIMIT_MS + READ_TIMEOUT_MARGIN_MS + 1_000));
        await other.query('COMMIT');
        expect(await writing).toMatchObject({ ok: true });
      } finally {
        await store.close();
      }
    }, 30_000);

    it('waits past the limit for migrations another worker is applying', async () => {
      const database = `t_${randomBytes(8).toString('hex')}`;
      await other.query(`CREATE DATABASE ${database}`);
      const url = server.url.replace(/\/postgres$/, `/${database}`);
      const worker = new pg.Client({ connectionString: url });
      await worker.connect();
      try {
        // The lock `migrate` queues workers on, held as by a worker whose migrations take three limits.
        await worker.query("SELECT pg_advisory_lock(hashtextextended('crm-sync:migrate', 0))");
        const opening = open(url);
        await new Promise((resolve) => setTimeout(resolve, 3 * LIMIT_MS));
        await worker.query("SELECT pg_advisory_unlock(hashtextextended('crm-sync:migrate', 0))");
        const store = unwrap(await opening);
        expect(store.schemaVersions.length).toBeGreaterThan(0);
        await store.close();
      } finally {
        await worker.end();
        await other.query(`DROP DATABASE ${database} WITH (FORCE)`);
      }
    }, 30_000);
  },
);
