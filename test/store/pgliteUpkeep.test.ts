import { randomUUID } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableUpkeep, type TableUpkeep } from '../../src/persistence/pgliteUpkeep.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { freshMemoryPglite } from '../support/pgliteTemplate.ts';
import { pgliteBackend, type TestDatabase, unwrap } from './backends.ts';
import { contact, T0, tenantWithConnection } from './fixtures.ts';

/**
 * PGlite has no autovacuum daemon; the store keeps statistics itself. Without them the planner reads a
 * tenant's whole slice of the table for a batch of ids, and that grows with the table.
 */
describe('PGlite table upkeep', () => {
  let database: TestDatabase;
  let store: StoreHandle;
  beforeAll(async () => {
    database = await (await pgliteBackend()).createDatabase();
    store = unwrap(await database.open());
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('analyses tables as they grow, so a batch of ids is an index lookup', async () => {
    const { tenant } = await tenantWithConnection(store);
    const ids: string[] = [];
    for (let batch = 0; batch < 6; batch++) {
      const contacts = Array.from({ length: 500 }, (_, n) => ({
        id: randomUUID(),
        contact: contact({ firstName: `P${batch}-${n}` }),
      }));
      ids.push(...contacts.map((c) => c.id));
      unwrap(await store.upsertContacts({ tenantId: tenant.id, contacts, now: T0 }));
    }
    const [stats] = await database.raw(
      `SELECT c.reltuples, s.last_analyze FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
       WHERE c.relname = 'contacts'`,
    );
    expect(stats?.last_analyze).not.toBeNull();
    // Analysed when it first passed the threshold (500 rows); the next waits for the pause between upkeeps.
    expect(Number(stats?.reltuples)).toBeGreaterThanOrEqual(500);

    const plan = await database.raw(
      'EXPLAIN SELECT data FROM contacts WHERE tenant_id = $1 AND id = ANY($2::uuid[])',
      [tenant.id, ids.slice(0, 200)],
    );
    const text = plan.map((row) => String(row['QUERY PLAN'])).join('\n');
    expect(text).toContain('Index Scan using contacts_pkey');
    expect(text).not.toContain('Bitmap Heap Scan');
  });

  it('does a table again only after the pause, like autovacuum’s naptime', async () => {
    const db = await freshMemoryPglite();
    try {
      await db.exec('CREATE TABLE t (id int PRIMARY KEY, v text)');
      let clock = 0;
      const upkeep = await createTableUpkeep(db, { now: () => clock, napMs: 10_000 });
      const reltuples = async () =>
        Number(
          (await db.query<{ n: number }>("SELECT reltuples AS n FROM pg_class WHERE relname = 't'")).rows[0]
            ?.n,
        );
      const insert = insertInto(db, upkeep);
      await insert(1, 100);
      expect(await reltuples()).toBe(100); // never analysed: done at once
      await insert(101, 900);
      expect(await reltuples()).toBe(100); // due, but within the pause
      clock = 10_000;
      await insert(1001, 1);
      expect(await reltuples()).toBe(1001); // the pause is over: what was due is done
    } finally {
      await db.close();
    }
  });

  it('vacuums a table that only grows, so an index-only look-up stays off the table', async () => {
    const db = await freshMemoryPglite();
    try {
      await db.exec('CREATE TABLE t (id int PRIMARY KEY, v text)');
      let clock = 0;
      const upkeep = await createTableUpkeep(db, { now: () => clock, napMs: 10_000 });
      const insert = insertInto(db, upkeep);
      const heapFetches = async () => {
        await db.exec('SET enable_seqscan = off; SET enable_bitmapscan = off');
        const plan = await db.query<{ 'QUERY PLAN': string }>(
          'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT id FROM t WHERE id <= 500',
        );
        const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
        expect(text).toContain('Index Only Scan');
        return Number(/Heap Fetches: (\d+)/.exec(text)?.[1]);
      };
      await insert(1, 600);
      expect(await heapFetches()).toBe(500); // analysed, not vacuumed: every row is read from the table
      clock = 10_000;
      await insert(601, 600); // 1,200 inserted since the last vacuum, past 1,000 + 20 % of 600
      expect(await heapFetches()).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('counts a statement’s rows to its own table, not to a table its CTE writes', async () => {
    const db = await freshMemoryPglite();
    try {
      await db.exec(
        'CREATE TABLE remembered (id int PRIMARY KEY); CREATE TABLE linked (id int PRIMARY KEY, v text)',
      );
      const upkeep = await createTableUpkeep(db, { napMs: 10_000 });
      const sql = `WITH forgotten AS (DELETE FROM remembered WHERE id < 0)
        INSERT INTO linked SELECT g, 'x' FROM generate_series(1, 200) g
        ON CONFLICT (id) DO UPDATE SET v = excluded.v`;
      await runCounted(db, upkeep, sql);
      const analysed = await db.query<{ relname: string }>(
        'SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL ORDER BY relname',
      );
      expect(analysed.rows.map((row) => row.relname)).toEqual(['linked']);
      // A row lock in a subquery names no table written: counted to `skip`, the upkeep would analyse a table
      // that does not exist.
      const locking = `UPDATE linked SET v = 'y' WHERE id IN (SELECT id FROM linked FOR UPDATE SKIP LOCKED)`;
      await runCounted(db, await createTableUpkeep(db, { napMs: 10_000 }), locking);
    } finally {
      await db.close();
    }
  });
});

/** Runs a statement and then the upkeep, as the PGlite store does after each top-level statement. */
async function runCounted(db: PGlite, upkeep: TableUpkeep, sql: string, params: unknown[] = []) {
  const result = await db.query(sql, params);
  upkeep.noteWrite(sql, result.affectedRows ?? 0);
  await upkeep.runDue();
}

/** Inserts rows `from`… into table `t`, as the match keys are written (an insert that skips conflicts). */
const insertInto = (db: PGlite, upkeep: TableUpkeep) => (from: number, count: number) =>
  runCounted(
    db,
    upkeep,
    'INSERT INTO t SELECT g, $3 FROM generate_series($1::int, $2::int) g ON CONFLICT DO NOTHING',
    [from, from + count - 1, 'x'],
  );
