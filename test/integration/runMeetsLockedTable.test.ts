import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPidAlive, ownerGoneOnHost } from '../../src/persistence/leaseOwner.ts';
import { openPostgresStore } from '../../src/persistence/postgres.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';
import { unwrap } from '../store/backends.ts';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgresServer.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

const CONTACTS = 12;
/** Runs after the table is free that may pass before the connection is idle again (one backoff, some margin). */
const MAX_RERUNS = 3;

/** The external ids of the harness's tenant's links, sorted. */
async function linkedRecords(h: SyncHarness): Promise<string[]> {
  const contacts = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 100 }));
  return contacts.flatMap((c) => c.links.map((link) => link.externalId)).sort();
}

/**
 * A cycle's statement that waits on a table another session holds (an operator's transaction left open, DDL by hand)
 * is cancelled at the store's time limit: the run backs off and retries, and its lease goes with it. It waited until
 * the lock went, holding the run and, its renewals going on, the connection's lease.
 */
describe.runIf(postgresAvailable('the locked table run'))(
  'a run meeting a table another session holds',
  () => {
    let server: PostgresServer;
    let operator: pg.Client;
    beforeAll(async () => {
      server = await startPostgres();
      operator = new pg.Client({ connectionString: server.url });
      await operator.connect();
    });
    afterAll(async () => {
      await operator.end();
      await server.stop();
    });

    it('ends at the time limit, gives its lease back, and completes once the table is free', async () => {
      const store = unwrap(
        await openPostgresStore({
          url: server.url,
          secrets: createSecretBox(randomBytes(32)),
          isOwnerGone: ownerGoneOnHost(hostname(), isPidAlive),
          statementTimeoutMs: 2_000,
        }),
      );
      const clock = { offsetMs: 0 };
      const simulator = { contacts: CONTACTS, seed: 4 };
      const h = await createSyncHarness('reapit', {
        simulator,
        store,
        runner: { clock: () => new Date(Date.now() + clock.offsetMs) },
      });
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      try {
        await operator.query('BEGIN');
        await operator.query('LOCK TABLE contacts IN EXCLUSIVE MODE');
        // The cancelled statement fails its phase (the machine backs off), or the save of a transition waiting behind
        // it (the run ends where it was last persisted): either way the run returns.
        const failed = await h.run();
        const message = failed.ok ? failed.value.context.lastError?.message : failed.error.message;
        expect(message).toContain('canceling statement due to statement timeout');
        // The lease is free: another owner takes it at once.
        const other = `other-host:1:${randomBytes(4).toString('hex')}`;
        unwrap(await store.acquireLease({ ...ref, owner: other, ttlMs: 60_000, now: new Date() }));
        unwrap(await store.releaseLease({ ...ref, owner: other }));
        await operator.query('ROLLBACK');

        let outcome = must(await h.run());
        for (let reruns = 1; outcome.state === 'backoff' && reruns < MAX_RERUNS; reruns++) {
          clock.offsetMs = Date.parse(outcome.context.resumeAt ?? '') - Date.now() + 1;
          outcome = must(await h.run());
        }
        expect(outcome.state).toBe('idle');
        // Nothing the cancelled statement carried was lost: the records linked are those a run never stopped links.
        const reference = await createSyncHarness('reapit', { simulator, store });
        try {
          expect(must(await reference.run()).state).toBe('idle');
          expect(await linkedRecords(h)).toEqual(await linkedRecords(reference));
        } finally {
          await reference.close();
        }
        // Seed 4's records hold one duplicate pair (OXF25000008 of OXF25000007): the rest are linked.
        expect(await linkedRecords(h)).toHaveLength(CONTACTS - 1);
      } finally {
        await operator.query('ROLLBACK');
        await h.close();
        await store.close();
      }
    }, 60_000);
  },
);
