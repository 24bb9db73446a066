import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPidAlive, ownerGoneOnHost } from '../../src/persistence/leaseOwner.ts';
import { dedicatedSessionLocks, openPostgresStore } from '../../src/persistence/postgres.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';
import type { Row, SqlClient } from '../../src/persistence/sqlClient.ts';
import { createSqlStore } from '../../src/persistence/sqlStore.ts';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgresServer.ts';
import { must } from '../support/syncHarness.ts';
import { tenantWithConnection } from './fixtures.ts';

type Answer = { rows: Row[]; rowCount: number };

/**
 * On PostgreSQL a lease is also a session advisory lock, re-entrant within the process's one lock session. A run
 * releasing its lease while another run of the same process (Sync now beside the scheduler) took it: the taker
 * read the lock as already held here (the process's leases still named the first run) and did not take it again,
 * and the release, still finding its own owner there, unlocked it. The new lease was left marked session-locked
 * with no lock held, and a run in another process took over a live lease: two runs drove one connection.
 */
describe.runIf(postgresAvailable('the lease release race'))(
  'a lease released as a run of the same process takes it',
  () => {
    let server: PostgresServer;
    const secrets = createSecretBox(randomBytes(32));
    const isOwnerGone = ownerGoneOnHost(hostname(), isPidAlive);

    beforeAll(async () => {
      server = await startPostgres();
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
    });

    /** This process's store, on the product's SQL store and session locks; its statements go through `hook` when set. */
    async function processStore() {
      const other = must(await openPostgresStore({ url: server.url, secrets, isOwnerGone }));
      const pool = new pg.Pool({ connectionString: server.url });
      const locks = dedicatedSessionLocks({ connectionString: server.url });
      const hooks: { hook: ((sql: string, run: () => Promise<Answer>) => Promise<Answer>) | null } = {
        hook: null,
      };
      const client: SqlClient = {
        async query(sql, params = []) {
          const run = async () => {
            const result = await pool.query(sql, [...params]);
            return { rows: result.rows, rowCount: result.rowCount ?? 0 };
          };
          return hooks.hook === null ? run() : hooks.hook(sql, run);
        },
        async exec(sql) {
          await pool.query(sql);
        },
        transaction: () => Promise.reject(new Error('not used here')),
        sessionLocks: locks,
      };
      return {
        store: createSqlStore({ client, secrets, isOwnerGone }),
        /** Another process's store (an operator's `crm-sync sync`, an Inngest step retried elsewhere). */
        other,
        hooks,
        advisoryLocks: async () =>
          (
            await pool.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted`,
            )
          ).rows[0]?.n,
        async close() {
          hooks.hook = null;
          await locks.end();
          await pool.end();
          await other.close();
        },
      };
    }
    const here = () => `${hostname()}:${process.pid}:${randomUUID()}`;
    const elsewhere = () => `other-host:7:${randomUUID()}`;
    /** A run that waits its turn asks nothing until the other is done: what waits for it goes on after a second. */
    const orAfterASecond = (event: Promise<unknown>) =>
      Promise.race([event, new Promise((resolve) => setTimeout(resolve, 1_000))]);

    it('keeps the new lease’s session lock, so another process cannot take it over', async () => {
      const { store, other, hooks, advisoryLocks, close } = await processStore();
      try {
        const { ref } = await tenantWithConnection(other);
        const [first, second] = [here(), here()];
        must(await store.acquireLease({ ...ref, owner: first, ttlMs: 60_000, now: new Date() }));
        expect(await advisoryLocks()).toBe(1);

        // The first run's release has committed its UPDATE; its answer is read a moment later (another socket's
        // answer is handled first), and meanwhile the second run asks for the lease, reads it free and claims it.
        let releaseCommitted!: () => void;
        const committed = new Promise<void>((resolve) => {
          releaseCommitted = resolve;
        });
        let claimSent!: () => void;
        const claimIssued = new Promise<void>((resolve) => {
          claimSent = resolve;
        });
        let releasing: Promise<unknown> = Promise.resolve();
        hooks.hook = async (sql, run) => {
          if (sql.includes('SET lease_owner = NULL')) {
            const answer = await run();
            releaseCommitted();
            await orAfterASecond(claimIssued);
            return answer;
          }
          if (sql.includes('SET lease_owner = $3')) {
            claimSent();
            const answer = await run();
            await releasing;
            return answer;
          }
          return run();
        };
        const released = store.releaseLease({ ...ref, owner: first });
        releasing = released;
        await committed;
        const taken = must(
          await store.acquireLease({ ...ref, owner: second, ttlMs: 60_000, now: new Date() }),
        );
        must(await released);
        hooks.hook = null;

        expect(taken.owner).toBe(second);
        // The lease comes with its lock: held on the server, and its loss would be told to the run.
        expect(await advisoryLocks()).toBe(1);
        expect(taken.sessionLost?.aborted).toBe(false);
        expect(
          await other.acquireLease({ ...ref, owner: elsewhere(), ttlMs: 60_000, now: new Date() }),
        ).toMatchObject({ ok: false, error: { kind: 'lease_held', owner: second } });

        // Released in turn, the lease leaves no lock behind.
        must(await store.releaseLease({ ...ref, owner: second }));
        expect(await advisoryLocks()).toBe(0);
      } finally {
        await close();
      }
    }, 60_000);

    it('two runs of one process asking at once: one takes the lease with its lock, told if it is lost', async () => {
      const { store, other, hooks, advisoryLocks, close } = await processStore();
      try {
        const { ref } = await tenantWithConnection(other);
        const [scheduled, syncNow] = [here(), here()];
        // Whichever claim wins has its answer read once the other run is done (or after a second).
        let oneDone!: () => void;
        const settled = new Promise<void>((resolve) => {
          oneDone = resolve;
        });
        hooks.hook = async (sql, run) => {
          const answer = await run();
          if (sql.includes('SET lease_owner = $3') && answer.rows.length > 0) await orAfterASecond(settled);
          return answer;
        };
        const asking = [scheduled, syncNow].map((owner) =>
          store.acquireLease({ ...ref, owner, ttlMs: 60_000, now: new Date() }).finally(oneDone),
        );
        const results = await Promise.all(asking);
        hooks.hook = null;

        const taken = results.flatMap((result) => (result.ok ? [result.value] : []));
        expect(taken).toHaveLength(1);
        const [lease] = taken;
        if (lease === undefined) throw new Error('unreachable');
        expect(results.find((result) => !result.ok)).toMatchObject({
          ok: false,
          error: { kind: 'lease_held', owner: lease.owner },
        });
        expect(await advisoryLocks()).toBe(1);
        expect(lease.sessionLost?.aborted).toBe(false);
        // Neither a later run of this process nor a run elsewhere takes the live lease over.
        expect(
          await store.acquireLease({ ...ref, owner: here(), ttlMs: 60_000, now: new Date() }),
        ).toMatchObject({ ok: false, error: { kind: 'lease_held', owner: lease.owner } });
        expect(
          await other.acquireLease({ ...ref, owner: elsewhere(), ttlMs: 60_000, now: new Date() }),
        ).toMatchObject({ ok: false, error: { kind: 'lease_held', owner: lease.owner } });

        must(await store.releaseLease({ ...ref, owner: lease.owner }));
        expect(await advisoryLocks()).toBe(0);
      } finally {
        await close();
      }
    }, 60_000);
  },
);
