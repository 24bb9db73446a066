import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreHandle } from '../../src/persistence/store.ts';
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
    expect(Number(stats?.reltuples)).toBeGreaterThan(2_000);

    const plan = await database.raw(
      'EXPLAIN SELECT data FROM contacts WHERE tenant_id = $1 AND id = ANY($2::uuid[])',
      [tenant.id, ids.slice(0, 200)],
    );
    const text = plan.map((row) => String(row['QUERY PLAN'])).join('\n');
    expect(text).toContain('Index Scan using contacts_pkey');
    expect(text).not.toContain('Bitmap Heap Scan');
  });
});
