import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPidAlive, ownerGoneOnHost } from '../../src/persistence/leaseOwner.ts';
import { dedicatedSessionLocks, openPostgresStore } from '../../src/persistence/postgres.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';
import type { StoreError, StoreHandle } from '../../src/persistence/store.ts';
import { type PgProxy, startPgProxy } from '../support/pgProxy.ts';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgresServer.ts';
import { unwrap } from './backends.ts';
import { tenantWithConnection } from './fixtures.ts';

const secrets = createSecretBox(randomBytes(32));
const isOwnerGone = ownerGoneOnHost(hostname(), isPidAlive);

/**
 * Calls `op` until it fails with a message matching `pattern`, at most 10 times: the first calls after
 * `resetAll` may still meet a pooled connection the reset has not reached yet (itself `unavailable`).
 */
async function failureMatching(
  op: () => Promise<{ ok: true } | { ok: false; error: StoreError }>,
  pattern: RegExp,
): Promise<StoreError> {
  const seen: StoreError[] = [];
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const result = await op();
    if (result.ok) continue;
    if (pattern.test(result.error.message)) return result.error;
    seen.push(result.error);
  }
  throw new Error(`no failure matched ${pattern}; saw ${JSON.stringify(seen)}`);
}

describe.runIf(postgresAvailable('the outage suite'))('PostgreSQL outages', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server.stop();
  });

  async function storeBehind(proxy: PgProxy, maxConnections?: number): Promise<StoreHandle> {
    return unwrap(
      await openPostgresStore({
        url: proxy.url,
        secrets,
        isOwnerGone,
        ...(maxConnections === undefined ? {} : { maxConnections }),
      }),
    );
  }

  it('reports a server starting up or shutting down (57P03) as unavailable, then works once it is back', async () => {
    const proxy = await startPgProxy(server.url);
    const store = await storeBehind(proxy);
    try {
      const { ref } = await tenantWithConnection(store);
      proxy.resetAll();
      proxy.setMode('startingUp');

      const listing = await failureMatching(
        () => store.listDueConnections({ now: new Date(), limit: 10 }),
        /starting up/,
      );
      expect(listing).toEqual({
        kind: 'unavailable',
        message: 'database unavailable: the database system is starting up',
      });
      expect(await store.releaseLease({ ...ref, owner: 'this-host:1:a' })).toMatchObject({
        ok: false,
        error: { kind: 'unavailable' },
      });
      expect(await store.transaction(async (tx) => tx.getConnection(ref))).toMatchObject({
        ok: false,
        error: { kind: 'unavailable' },
      });

      proxy.setMode('pass');
      expect(unwrap(await store.getConnection(ref)).id).toBe(ref.connectionId);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it('fails a transaction whose connection is reset mid-way, without an unhandled error event, and carries on', async () => {
    const proxy = await startPgProxy(server.url);
    // One pooled connection: the transaction's is the one reset, and the next call must replace it.
    const store = await storeBehind(proxy, 1);
    try {
      const { ref } = await tenantWithConnection(store);
      const result = await store.transaction(async (tx) => {
        unwrap(await tx.getConnection(ref));
        proxy.resetAll();
        return tx.getConnection(ref);
      });
      expect(result).toMatchObject({ ok: false, error: { kind: 'unavailable' } });
      expect(unwrap(await store.getConnection(ref)).id).toBe(ref.connectionId);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it('runs concurrent lock calls one at a time on the lock session (no overlapping client.query)', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const locks = dedicatedSessionLocks({ connectionString: server.url });
    try {
      const keys = Array.from({ length: 8 }, (_, i) => `outage-test:${i}`);
      expect(await Promise.all(keys.map((key) => locks.tryLock(key)))).toEqual(keys.map(() => true));
      await Promise.all(keys.map((key) => locks.unlock(key)));
    } finally {
      await locks.end();
      // Node emits warnings on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => w.message)).toEqual([]);
  });
});
