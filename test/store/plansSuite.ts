import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localChangesSql } from '../../src/persistence/sql/contacts.ts';
import { creationCandidatesSql } from '../../src/persistence/sql/cycleWork.ts';
import {
  deleteStaleKeysSql,
  findCandidatesSql,
  insertMissingKeysSql,
  linksByContactSql,
} from '../../src/persistence/sql/links.ts';
import type { ConnectionRef, StoreHandle } from '../../src/persistence/store.ts';
import { type Backend, type TestDatabase, unwrap } from './backends.ts';
import { tenantWithConnection } from './fixtures.ts';

/**
 * A tenant or connection that grew after the tables were last analysed (a new agency on a database holding others:
 * autovacuum analyses a table once a tenth of it changed, PGlite's upkeep likewise) is one row to the planner. Its
 * look-ups must still go by their selective column, not read its whole slice of a table and filter it, which grows
 * with it: a first sync's key look-up took 21.7 s a batch so.
 */
export function describeStorePlans(name: string, backend: () => Backend) {
  describe(`store on ${name}: plans for a tenant the statistics do not know`, () => {
    let database: TestDatabase;
    let store: StoreHandle;
    let known: ConnectionRef;
    let grown: ConnectionRef;
    let knownIds: string[];
    let grownIds: string[];
    beforeAll(async () => {
      database = await backend().createDatabase();
      store = unwrap(await database.open());
      known = (await tenantWithConnection(store)).ref;
      grown = (await tenantWithConnection(store)).ref;
      // No analysis behind the test's back (Postgres's daemon; PGlite has none and ignores the setting).
      for (const table of tables) await database.raw(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
      knownIds = await addLinkedContacts(database, known, 20_000);
      for (const table of tables) await database.raw(`ANALYZE ${table}`);
      grownIds = await addLinkedContacts(database, grown, 1_500);
    });
    afterAll(async () => {
      await store?.close();
      await database?.drop();
    });

    it('looks a key up by the primary key, not through every key of the tenant', async () => {
      const keys = Array.from({ length: 200 }, (_, i) => emailKey(grown, i));
      const plan = await explain(database, findCandidatesSql, [grown.tenantId, keys, 50]);
      expect(plan).toContain('contact_match_keys_pkey');
      expect(plan).not.toMatch(/Filter: \(key = /);
      const found = unwrap(
        await store.findCandidates({ tenantId: grown.tenantId, keys, maxHoldersPerKey: 50 }),
      );
      expect(found).toHaveLength(200);
      expect(found.find((hit) => hit.key === emailKey(grown, 0))?.contactIds).toEqual([grownIds[0]]);
    });

    it('replaces contacts’ keys by the contact index, and leaves the keys they keep where they are', async () => {
      const ids = grownIds.slice(0, 100);
      const entries = ids.map((id, i) => ({
        contactId: id,
        keys: [dobKey(i), `email:new${i}@${grown.tenantId}`],
      }));
      const pairs = entries.flatMap((e) => e.keys.map((key) => [key, e.contactId] as const));
      const plan = await explain(database, deleteStaleKeysSql, [
        grown.tenantId,
        ids,
        pairs.map(([key]) => key),
        pairs.map(([, id]) => id),
      ]);
      expect(plan).toContain('contact_match_keys_contact_idx');
      // The new pairs hashed once, not scanned again for every old key.
      expect(plan).toMatch(/hashed SubPlan/i);
      // The keys they keep are read by contact and hashed once, not probed one by one in the primary key.
      const insertPlan = await explain(database, insertMissingKeysSql, [
        grown.tenantId,
        pairs.map(([key]) => key),
        pairs.map(([, id]) => id),
        ids,
      ]);
      expect(insertPlan).toContain('contact_match_keys_contact_idx');
      expect(insertPlan).toMatch(/hashed SubPlan/i);
      const version = async (key: string, contactId: string) =>
        (
          await database.raw(
            'SELECT xmin::text AS version FROM contact_match_keys WHERE tenant_id = $1 AND key = $2 AND contact_id = $3',
            [grown.tenantId, key, contactId],
          )
        )[0]?.version;
      const keptBefore = await version(dobKey(0), ids[0] as string);
      expect(keptBefore).toBeDefined();
      unwrap(await store.replaceMatchKeys({ tenantId: grown.tenantId, entries }));
      expect(await version(dobKey(0), ids[0] as string)).toBe(keptBefore);
      const holders = async (ref: ConnectionRef, key: string) =>
        unwrap(await store.findCandidates({ tenantId: ref.tenantId, keys: [key] }))[0]?.contactIds;
      expect(await holders(grown, emailKey(grown, 0))).toBeUndefined();
      expect(await holders(grown, `email:new0@${grown.tenantId}`)).toEqual([ids[0]]);
      // The other tenant's keys are not touched.
      expect(await holders(known, emailKey(known, 0))).toEqual([knownIds[0]]);
    });

    it('reads a connection’s links to some contacts by contact, not through every link of the connection', async () => {
      const ids = grownIds.slice(0, 200);
      for (const [sql, params] of [
        [linksByContactSql, [grown.tenantId, grown.connectionId, ids]],
        [creationCandidatesSql, [grown.tenantId, grown.connectionId, ids]],
        [localChangesSql(true), [grown.tenantId, 0, Number.MAX_SAFE_INTEGER, 500, grown.connectionId]],
      ] as const) {
        const plan = await explain(database, sql, [...params]);
        expect(plan, sql).not.toContain('links_pkey');
      }
      // Compared as text, a connection id still matches however it is spelt.
      const connectionId = grown.connectionId.toUpperCase();
      const links = unwrap(await store.getLinksByContactIds({ ...grown, connectionId, contactIds: ids }));
      expect(links.map((l) => l.contactId).sort()).toEqual([...ids].sort());
      // Linked to this connection: none is a contact to create in its CRM; in another's, all are.
      expect(unwrap(await store.creationCandidates({ ...grown, contactIds: ids }))).toEqual([]);
      const elsewhere = { ...grown, connectionId: known.connectionId };
      expect(unwrap(await store.creationCandidates({ ...elsewhere, contactIds: ids }))).toHaveLength(200);
    });
  });
}

const tables = ['contacts', 'contact_match_keys', 'links'];

const emailKey = (ref: ConnectionRef, index: number) => `email:p${index}@${ref.tenantId}`;
/** The date-of-birth key `addLinkedContacts` gives its `index`th contact. */
const dobKey = (index: number) => `dob:19${50 + ((index + 1) % 50)}-01-01`;

/**
 * `count` new contacts of the tenant, written in SQL, each with two match keys (an e-mail and a date of birth) and
 * a link to the connection.
 */
async function addLinkedContacts(
  database: TestDatabase,
  ref: ConnectionRef,
  count: number,
): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await database.raw(
    `INSERT INTO contacts (tenant_id, id, data, field_stamps, created_at, updated_at)
     SELECT $1, u.id, '{}'::jsonb, '{}'::jsonb, now(), now() FROM unnest($2::uuid[]) AS u(id)`,
    [ref.tenantId, ids],
  );
  await database.raw(
    `INSERT INTO contact_match_keys (tenant_id, key, contact_id)
     SELECT $1::uuid, k.key, u.id
     FROM unnest($2::uuid[]) WITH ORDINALITY AS u(id, n),
       LATERAL (VALUES ('email:p' || (n - 1) || '@' || $1::text), ('dob:19' || (50 + n % 50) || '-01-01')) AS k(key)`,
    [ref.tenantId, ids],
  );
  await database.raw(
    `INSERT INTO links (tenant_id, connection_id, external_id, contact_id, base, pushed_hashes, updated_at)
     SELECT $1, $2, 'X' || n, u.id, '{}'::jsonb, '{}'::jsonb, now()
     FROM unnest($3::uuid[]) WITH ORDINALITY AS u(id, n)`,
    [ref.tenantId, ref.connectionId, ids],
  );
  return ids;
}

async function explain(database: TestDatabase, sql: string, params: unknown[]): Promise<string> {
  const rows = await database.raw(`EXPLAIN ${sql}`, params);
  return rows.map((row) => String(Object.values(row)[0])).join('\n');
}
