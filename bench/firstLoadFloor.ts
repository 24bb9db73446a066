/**
 * `npm run bench:first-load-floor -- [--contacts N] [--bulk] [--keys table|gin]`: what a first sync costs in PGlite with nothing but its SQL.
 * The statements a first sync cannot do without, in the schema the store has, on the rows the Reapit simulator
 * would list (the same generator, the real match keys): stage each page, read it back, look up its match keys'
 * holders, then write its contacts, keys and links in one transaction (and the upkeep that stands in for autovacuum) — no HTTP, no parsing, no scoring, no merge.
 * The end-to-end engine cannot beat this figure; the issue's target (5,000 contacts/s) is measured against it in
 * docs/BENCHMARKS.md. One JSON line: `{"bench": "first-load-floor", …}`.
 * `--bulk` times the fastest way PGlite has to write the same contacts, keys and links, as a first load into an
 * empty tenant could: `COPY … FROM` CSV built before the clock, 10,000 contacts a transaction, no staging, no
 * read-back, no look-ups. It bounds any redesign of the first load that keeps this schema.
 * `--keys gin` keeps the match keys another way, to bound that redesign too: one row per contact holding its keys as
 * 64-bit hashes (salted with the tenant) in an array under a GIN index, in place of a row per key in two B-trees;
 * holders are looked up per key through the GIN index, stopped one past the limit as the store's look-up is.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { DEFAULT_BATCH_SIZE } from '../src/actors/context.ts';
import { MAX_HOLDERS_PER_KEY, matchKeys } from '../src/core/dedup/blocking.ts';
import { toMatchRecord } from '../src/core/dedup/matchRecord.ts';
import { canonicalContactSchema } from '../src/core/schemas.ts';
import { loadMigrations, migrate } from '../src/persistence/migrate.ts';
import { pgliteClient } from '../src/persistence/pglite.ts';
import { createTableUpkeep } from '../src/persistence/pgliteUpkeep.ts';
import { findCandidatesSql } from '../src/persistence/sql/links.ts';
import type { SqlClient } from '../src/persistence/sqlClient.ts';
import { seedToContact } from '../src/providers/fake/fakeProvider.ts';
import { generateContacts } from '../src/providers/simulator/generator.ts';
import { benchArgs } from './benchArgs.ts';

const values = benchArgs('bench:first-load-floor', {
  contacts: { type: 'string', default: '100000' },
  bulk: { type: 'boolean', default: false },
  keys: { type: 'string', default: 'table' },
});
const contacts = Number(values.contacts);
const ginKeys = values.keys === 'gin';
if (!Number.isInteger(contacts) || contacts < 1 || !['table', 'gin'].includes(values.keys)) {
  process.stderr.write(
    'usage: npm run bench:first-load-floor -- [--contacts N] [--bulk] [--keys table|gin]\n',
  );
  process.exit(2);
}

/** A key as a signed 64-bit hash salted with the tenant, as `--keys gin` stores it. */
const keyHash = (tenantId: string, key: string) =>
  createHash('sha256').update(tenantId).update(key).digest().readBigInt64BE(0).toString();

/** The rows a page carries, built before the clock starts: the floor times the database only. */
function pages(tenantId: string) {
  const seeded = generateContacts({ count: contacts, seed: 11 });
  const out = [];
  for (let from = 0; from < seeded.length; from += DEFAULT_BATCH_SIZE) {
    out.push(
      seeded.slice(from, from + DEFAULT_BATCH_SIZE).map((s, k) => {
        const id = randomUUID();
        const contact = canonicalContactSchema.parse(seedToContact(s.contact));
        const text = JSON.stringify(contact);
        const keys = matchKeys(toMatchRecord(id, contact));
        return {
          externalId: `RPT${String(from + k).padStart(9, '0')}`,
          id,
          contact,
          modified: new Date(s.modifiedMs).toISOString(),
          contentHash: createHash('sha256').update(text).digest('hex'),
          keys,
          keyHashes: keys.map((key) => keyHash(tenantId, key)),
        };
      }),
    );
  }
  return out;
}

type Row = ReturnType<typeof pages>[number][number];
type Part = 'stage' | 'readStaged' | 'candidates' | 'contacts' | 'keys' | 'links' | 'commit';
type Timed = <T>(part: Part, work: () => Promise<T>) => Promise<T>;
interface Ids {
  tenantId: string;
  connectionId: string;
}

/** The engine's statements, page by page. */
async function perPage(client: SqlClient, prepared: Row[][], { tenantId, connectionId }: Ids, timed: Timed) {
  let commit = 0;
  let commitFrom = 0;
  for (const rows of prepared) {
    await timed('stage', () =>
      client.query(
        `INSERT INTO cycle_staging (tenant_id, connection_id, cycle_id, external_id, modified, removed, contact, content_hash)
         SELECT $1, $2, 'floor', r."externalId", r.modified, false, r.contact, r."contentHash"
         FROM jsonb_to_recordset($3::jsonb) AS r("externalId" text, modified text, contact jsonb, "contentHash" text)`,
        [tenantId, connectionId, JSON.stringify(rows)],
      ),
    );
    await timed('readStaged', () =>
      client.query(
        `SELECT external_id, contact, content_hash FROM cycle_staging
         WHERE connection_id = $1 AND cycle_id = 'floor' AND external_id >= $2 ORDER BY external_id LIMIT $3`,
        [connectionId, rows[0]?.externalId, rows.length],
      ),
    );
    await timed('candidates', () =>
      ginKeys
        ? client.query(ginCandidatesSql, [rows.flatMap((r) => r.keyHashes), MAX_HOLDERS_PER_KEY])
        : client.query(findCandidatesSql, [tenantId, rows.flatMap((r) => r.keys), MAX_HOLDERS_PER_KEY]),
    );
    await client.transaction(async (tx) => {
      await timed('contacts', () =>
        tx.query(
          `INSERT INTO contacts (tenant_id, id, data, field_stamps, created_at, updated_at)
           SELECT $1, r.id, r.contact, '{}'::jsonb, now(), now() FROM jsonb_to_recordset($2::jsonb) AS r(id uuid, contact jsonb)`,
          [tenantId, JSON.stringify(rows)],
        ),
      );
      await timed('keys', () =>
        ginKeys
          ? tx.query(
              `INSERT INTO contact_key_sets (tenant_id, contact_id, keys)
               SELECT $1, r.id, r.keys FROM jsonb_to_recordset($2::jsonb) AS r(id uuid, keys bigint[])`,
              [tenantId, JSON.stringify(rows.map((r) => ({ id: r.id, keys: pgArray(r.keyHashes) })))],
            )
          : tx.query(
              `INSERT INTO contact_match_keys (tenant_id, key, contact_id)
               SELECT $1, u.key, u.contact_id FROM unnest($2::text[], $3::uuid[]) AS u(key, contact_id)`,
              [tenantId, rows.flatMap((r) => r.keys), rows.flatMap((r) => r.keys.map(() => r.id))],
            ),
      );
      await timed('links', () =>
        tx.query(
          `INSERT INTO links (tenant_id, connection_id, external_id, contact_id, base, pushed_hashes, updated_at)
           SELECT $1, $2, r."externalId", r.id, r.contact, '{}'::jsonb, now()
           FROM jsonb_to_recordset($3::jsonb) AS r("externalId" text, id uuid, contact jsonb)`,
          [tenantId, connectionId, JSON.stringify(rows)],
        ),
      );
      commitFrom = performance.now();
    });
    commit += performance.now() - commitFrom;
  }
  return commit;
}

const csv = (value: string) => `"${value.replaceAll('"', '""')}"`;
const pgArray = (values: readonly string[]) => `{${values.join(',')}}`;

/** `--keys gin`: a contact's keys as hashes in one array, and each key's holders through the GIN index. */
const ginKeysDdl = `CREATE TABLE contact_key_sets (tenant_id uuid NOT NULL, contact_id uuid PRIMARY KEY, keys bigint[] NOT NULL);
  CREATE INDEX contact_key_sets_keys_idx ON contact_key_sets USING gin (keys) WITH (fastupdate = off);`;
const ginCandidatesSql = `SELECT k.key, array_to_string(m.ids, ',') AS ids
  FROM (SELECT DISTINCT key FROM unnest($1::bigint[]) AS u(key)) AS k
  CROSS JOIN LATERAL (
    SELECT array_agg(contact_id ORDER BY contact_id) AS ids FROM (
      SELECT contact_id FROM contact_key_sets WHERE keys @> ARRAY[k.key] LIMIT $2 + 1
    ) AS s
  ) AS m
  WHERE cardinality(m.ids) <= $2`;

/** The same rows as CSV, 10,000 contacts a chunk, built before the clock starts. */
function bulkChunks(prepared: Row[][], { tenantId, connectionId }: Ids) {
  const rows = prepared.flat();
  const now = new Date().toISOString();
  const chunks = [];
  for (let from = 0; from < rows.length; from += BULK_CHUNK) {
    const part = rows.slice(from, from + BULK_CHUNK);
    chunks.push({
      contacts: part
        .map((r) => [tenantId, r.id, csv(JSON.stringify(r.contact)), '{}', now, now].join(','))
        .join('\n'),
      keys: ginKeys
        ? part.map((r) => [tenantId, r.id, csv(pgArray(r.keyHashes))].join(',')).join('\n')
        : part.flatMap((r) => r.keys.map((key) => [tenantId, csv(key), r.id].join(','))).join('\n'),
      links: part
        .map((r) =>
          [tenantId, connectionId, r.externalId, r.id, csv(JSON.stringify(r.contact)), '{}', now].join(','),
        )
        .join('\n'),
    });
  }
  return chunks;
}
const BULK_CHUNK = 10_000;

/**
 * The same writes by `COPY … FROM` PGlite's in-memory blob, a chunk a transaction, straight on PGlite: without the
 * store's autovacuum stand-in, which would only add time to a floor.
 */
async function bulk(chunks: ReturnType<typeof bulkChunks>, timed: Timed) {
  const copy = (tx: Transaction, part: Part, target: string, text: string) =>
    timed(part, () =>
      tx.query(`COPY ${target} FROM '/dev/blob' WITH (FORMAT csv)`, [], { blob: new Blob([text]) }),
    );
  for (const chunk of chunks) {
    await timed('commit', () =>
      db.transaction(async (tx) => {
        await copy(
          tx,
          'contacts',
          'contacts (tenant_id, id, data, field_stamps, created_at, updated_at)',
          chunk.contacts,
        );
        await copy(
          tx,
          'keys',
          ginKeys
            ? 'contact_key_sets (tenant_id, contact_id, keys)'
            : 'contact_match_keys (tenant_id, key, contact_id)',
          chunk.keys,
        );
        await copy(
          tx,
          'links',
          'links (tenant_id, connection_id, external_id, contact_id, base, pushed_hashes, updated_at)',
          chunk.links,
        );
      }),
    );
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'crm-sync-floor-'));
const db = await PGlite.create(path.join(dir, 'db'));
const client = pgliteClient(db, await createTableUpkeep(db));
try {
  const migrated = await migrate(client, await loadMigrations());
  if (!migrated.ok) throw new Error(migrated.error.message);
  const ids = { tenantId: randomUUID(), connectionId: randomUUID() };
  await client.query(
    `INSERT INTO tenants (id, name, sync_interval_seconds, created_at, updated_at) VALUES ($1, 'floor', 300, now(), now())`,
    [ids.tenantId],
  );
  await client.query(
    `INSERT INTO connections (id, tenant_id, provider, base_url, credentials_sealed, next_run_at, created_at, updated_at)
     VALUES ($1, $2, 'reapit', 'http://127.0.0.1:1', 'sealed', now(), now(), now())`,
    [ids.connectionId, ids.tenantId],
  );
  if (ginKeys) await client.exec(ginKeysDdl);
  const prepared = pages(ids.tenantId);
  const chunks = values.bulk ? bulkChunks(prepared, ids) : [];
  const keysPerContact = prepared.flat().reduce((n, r) => n + r.keys.length, 0) / contacts;
  const ms: Record<Part, number> = {
    stage: 0,
    readStaged: 0,
    candidates: 0,
    contacts: 0,
    keys: 0,
    links: 0,
    commit: 0,
  };
  const timed: Timed = async (part, work) => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      ms[part] += performance.now() - start;
    }
  };
  const started = performance.now();
  if (values.bulk) {
    await bulk(chunks, timed);
    // `commit` timed each whole transaction: what is left once its statements are taken out is the commit.
    ms.commit -= ms.contacts + ms.keys + ms.links;
  } else {
    ms.commit = await perPage(client, prepared, ids, timed);
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'first-load-floor',
      backend: 'pglite',
      mode: values.bulk ? 'bulk' : 'per-page',
      keys: values.keys,
      contacts,
      keysPerContact: Math.round(keysPerContact * 10) / 10,
      seconds: Math.round(seconds * 10) / 10,
      contactsPerSec: Math.round(contacts / seconds),
      ms: Object.fromEntries(Object.entries(ms).map(([part, v]) => [part, Math.round(v)])),
    })}\n`,
  );
} finally {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
