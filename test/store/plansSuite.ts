import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteContactKeysSql, findCandidatesSql } from '../../src/persistence/sql/links.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { type Backend, type TestDatabase, unwrap } from './backends.ts';
import { tenantWithConnection } from './fixtures.ts';

/**
 * A tenant that grew after the tables were last analysed (a new agency on a database holding others: autovacuum
 * analyses a table once a tenth of it changed, PGlite's upkeep likewise) is one row to the planner. Its look-ups
 * must still go by their selective column, not read the tenant's whole slice and filter it, which grows with the
 * tenant: a first sync's key look-up took 21.7 s a batch so.
 */
export function describeStorePlans(name: string, backend: () => Backend) {
  describe(`store on ${name}: plans for a tenant the statistics do not know`, () => {
    let database: TestDatabase;
    let store: StoreHandle;
    let known: string;
    let grown: string;
    let knownIds: string[];
    let grownIds: string[];
    beforeAll(async () => {
      database = await backend().createDatabase();
      store = unwrap(await database.open());
      known = (await tenantWithConnection(store)).tenant.id;
      grown = (await tenantWithConnection(store)).tenant.id;
      // No analysis behind the test's back (Postgres's daemon; PGlite has none and ignores the setting).
      for (const table of ['contacts', 'contact_match_keys'])
        await database.raw(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
      knownIds = await addContacts(database, known, 20_000);
      await database.raw('ANALYZE contacts');
      await database.raw('ANALYZE contact_match_keys');
      grownIds = await addContacts(database, grown, 1_500);
    });
    afterAll(async () => {
      await store?.close();
      await database?.drop();
    });

    it('looks a key up by the primary key, not through every key of the tenant', async () => {
      const keys = Array.from({ length: 200 }, (_, i) => `email:p${i}@${grown}`);
      const plan = await explain(database, findCandidatesSql, [grown, keys, 50]);
      expect(plan).toContain('contact_match_keys_pkey');
      expect(plan).not.toMatch(/Filter: \(key = /);
      const found = unwrap(await store.findCandidates({ tenantId: grown, keys, maxHoldersPerKey: 50 }));
      expect(found).toHaveLength(200);
      expect(found[0]?.contactIds).toEqual([grownIds[0]]);
    });

    it('replaces contacts’ keys by the contact index', async () => {
      const ids = grownIds.slice(0, 100);
      const plan = await explain(database, deleteContactKeysSql, [grown, ids]);
      expect(plan).toContain('contact_match_keys_contact_idx');
      unwrap(
        await store.replaceMatchKeys({
          tenantId: grown,
          entries: ids.map((id, i) => ({ contactId: id, keys: [`email:new${i}@${grown}`] })),
        }),
      );
      const old = unwrap(await store.findCandidates({ tenantId: grown, keys: [`email:p0@${grown}`] }));
      expect(old).toEqual([]);
      const renewed = unwrap(await store.findCandidates({ tenantId: grown, keys: [`email:new0@${grown}`] }));
      expect(renewed[0]?.contactIds).toEqual([ids[0]]);
      // The other tenant's keys are not touched.
      const other = unwrap(await store.findCandidates({ tenantId: known, keys: [`email:p0@${known}`] }));
      expect(other[0]?.contactIds).toEqual([knownIds[0]]);
    });
  });
}

/** `count` new contacts of the tenant, written in SQL, with two match keys each: an e-mail and a date of birth. */
async function addContacts(database: TestDatabase, tenantId: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await database.raw(
    `INSERT INTO contacts (tenant_id, id, data, field_stamps, created_at, updated_at)
     SELECT $1, u.id, '{}'::jsonb, '{}'::jsonb, now(), now() FROM unnest($2::uuid[]) AS u(id)`,
    [tenantId, ids],
  );
  await database.raw(
    `INSERT INTO contact_match_keys (tenant_id, key, contact_id)
     SELECT $1::uuid, k.key, u.id
     FROM unnest($2::uuid[]) WITH ORDINALITY AS u(id, n),
       LATERAL (VALUES ('email:p' || (n - 1) || '@' || $1::text), ('dob:19' || (50 + n % 50) || '-01-01')) AS k(key)`,
    [tenantId, ids],
  );
  return ids;
}

async function explain(database: TestDatabase, sql: string, params: unknown[]): Promise<string> {
  const rows = await database.raw(`EXPLAIN ${sql}`, params);
  return rows.map((row) => String(Object.values(row)[0])).join('\n');
}
