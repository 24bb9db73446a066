import { z } from 'zod';
import { err, ok } from '../../core/result.ts';
import {
  goneLinkSchema,
  linkInputSchema,
  linkSchema,
  matchKeysInputSchema,
  storedSuppressedRecordSchema,
  suppressedRecordSchema,
} from '../records.ts';
import { guarded } from '../sqlClient.ts';
import type { ContactStore } from '../store.ts';
import { json, parseInput, parseRows, type SqlContext } from './context.ts';

export const linkColumns = `connection_id AS "connectionId", external_id AS "externalId", contact_id AS "contactId",
  base, pushed_hashes AS "pushedHashes", remote_version AS "remoteVersion", remote_hash AS "remoteHash",
  field_modified AS "fieldModified", updated_at AS "updatedAt"`;

/** A uuid as Postgres writes one in text. */
const uuidPattern = '[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}';
/** A key and its holders' ids joined by commas, as `array_to_string` writes a uuid array. */
const keyHoldersSchema = z.object({
  key: z.string(),
  ids: z.string().regex(new RegExp(`^${uuidPattern}(?:,${uuidPattern})*$`)),
});
/** The most holders a Postgres LIMIT takes when the caller sets none. */
const unlimitedHolders = 2 ** 31 - 2;
const existsSchema = z.object({ found: z.boolean() });
const countSchema = z.object({ found: z.number().int() });

type LinkMethods = Pick<
  ContactStore,
  | 'replaceMatchKeys'
  | 'findCandidates'
  | 'getLinksByExternalIds'
  | 'getLinksByContactIds'
  | 'hasLinks'
  | 'upsertLinks'
  | 'dropLinks'
  | 'goneLinks'
  | 'unversionedLinks'
  | 'markSuppressed'
  | 'getSuppressed'
>;

/**
 * The keys of some contacts ($2) that their new keys ($3 keys of $4 contacts, pair by pair) leave out, by the
 * (contact) index; a key a contact keeps stays where it is (an edit of a title or a consent changes no key, and
 * deleting and inserting the same row leaves a dead one behind for vacuum). The new pairs are hashed once, so each
 * old key costs one probe whatever the batch's size. The tenant is compared as text (the parameter read as a uuid
 * first, so any spelling of it matches), which no index serves: with statistics that do not know the tenant yet
 * (one that grew since the table was last analysed: autovacuum waits for a tenth of the table to change), the
 * planner took `tenant_id = $1` for one row and read every key of the tenant through the primary key, filtering by
 * contact (584 ms for 500 contacts beside 360,000 keys of the tenant; 9 ms so).
 */
export const deleteStaleKeysSql = `DELETE FROM contact_match_keys m
  WHERE m.contact_id = ANY($2::uuid[]) AND m.tenant_id::text = $1::uuid::text
    AND (m.key, m.contact_id) NOT IN (
      SELECT u.key, u.contact_id FROM unnest($3::text[], $4::uuid[]) AS u(key, contact_id))`;

/**
 * The new pairs ($2 keys of $3 contacts) not stored yet: the stored keys of the contacts being replaced ($4) are read
 * by the (contact) index, one range per contact, and hashed once. An edit changes a key or two of a contact's
 * eleven, and each pair sent to the insert only to meet its conflict was a probe of the primary key (a 100-edit
 * cycle at 100,000 contacts: 14–17 ms for the keys against 19–22 ms). Run after the stale keys are deleted, so
 * what is read is what the contacts keep; a new contact's keys skip the read (`created`, none stored).
 */
export const insertMissingKeysSql = `INSERT INTO contact_match_keys (tenant_id, key, contact_id)
  SELECT $1, u.key, u.contact_id FROM unnest($2::text[], $3::uuid[]) AS u(key, contact_id)
  WHERE (u.key, u.contact_id) NOT IN (
    SELECT m.key, m.contact_id FROM contact_match_keys m
    WHERE m.contact_id = ANY($4::uuid[]) AND m.tenant_id::text = $1::uuid::text)
  ON CONFLICT DO NOTHING`;

/**
 * The holders of each key: one index range per key, stopped one past the limit and left out whole when it gets
 * there (a common key's holders never leave the database), and one row per key with its holders joined: a large
 * tenant's look-up is tens of thousands of holders, which as rows of their own cost more to hand over than to find.
 * Only the primary key (tenant, key, …) leads with the tenant (migration 20250611).
 */
export const findCandidatesSql = `SELECT k.key, array_to_string(m.ids, ',') AS ids
  FROM (SELECT DISTINCT key FROM unnest($2::text[]) AS u(key)) AS k
  CROSS JOIN LATERAL (
    SELECT array_agg(contact_id ORDER BY contact_id) AS ids FROM (
      SELECT contact_id FROM contact_match_keys WHERE tenant_id = $1 AND key = k.key LIMIT $3 + 1
    ) AS s
  ) AS m
  WHERE cardinality(m.ids) <= $3
  ORDER BY k.key`;

/**
 * A connection's links to some contacts, by the (tenant, contact, connection) index. The connection is compared as
 * text, which no index serves: with statistics that did not know the connection yet (its links written since the
 * table was last analysed), the planner took `connection_id = $2` for one row and read every link of the
 * connection through the primary key instead (the same for `creationCandidates` and a connection's local changes).
 */
export const linksByContactSql = `SELECT ${linkColumns} FROM links
  WHERE tenant_id = $1 AND contact_id = ANY($3::uuid[]) AND connection_id::text = $2::uuid::text`;

export function linkMethods(ctx: SqlContext): LinkMethods {
  const { client } = ctx;

  return {
    replaceMatchKeys: ({ tenantId, entries, created = [] }) =>
      guarded(async () => {
        const parsed = parseInput(z.array(matchKeysInputSchema), entries);
        if (!parsed.ok) return parsed;
        const pairs = parsed.value.flatMap((e) => e.keys.map((key) => ({ contactId: e.contactId, key })));
        const isNew = new Set(created);
        const named = [...new Set(parsed.value.map((e) => e.contactId))];
        const replaced = named.filter((id) => !isNew.has(id));
        return client.transaction(async (tx) => {
          // The table has no foreign key (migration 20250607): one look-up for the batch instead of one per key.
          const { rows } = await tx.query(
            'SELECT count(*)::int AS found FROM contacts WHERE tenant_id = $1 AND id = ANY($2::uuid[])',
            [tenantId, named],
          );
          const counted = parseRows(countSchema, rows, 'contact count');
          if (!counted.ok) return counted;
          if (counted.value[0]?.found !== named.length)
            return err({
              kind: 'not_found',
              message: 'match keys name a contact that this tenant does not have',
            });
          if (replaced.length > 0) {
            const kept = pairs.filter((p) => !isNew.has(p.contactId));
            await tx.query(deleteStaleKeysSql, [
              tenantId,
              replaced,
              kept.map((p) => p.key),
              kept.map((p) => p.contactId),
            ]);
          }
          await tx.query(insertMissingKeysSql, [
            tenantId,
            pairs.map((p) => p.key),
            pairs.map((p) => p.contactId),
            replaced,
          ]);
          return ok(undefined);
        });
      }),

    findCandidates: ({ tenantId, keys, maxHoldersPerKey }) =>
      guarded(async () => {
        const { rows } = await client.query(findCandidatesSql, [
          tenantId,
          keys,
          maxHoldersPerKey ?? unlimitedHolders,
        ]);
        const parsed = parseRows(keyHoldersSchema, rows, 'match key');
        if (!parsed.ok) return parsed;
        return ok(parsed.value.map(({ key, ids }) => ({ key, contactIds: ids.split(',') })));
      }),

    getLinksByExternalIds: ({ tenantId, connectionId, externalIds }) =>
      guarded(async () => {
        // The tenant is checked on the connection (a link's tenant is its connection's, by foreign key): as a
        // condition on links the planner ANDed the primary key's look-ups with every link of the tenant.
        const { rows } = await client.query(
          `SELECT ${linkColumns} FROM links
           WHERE connection_id = $2 AND external_id = ANY($3::text[])
             AND EXISTS (SELECT 1 FROM connections WHERE tenant_id = $1 AND id = $2)`,
          [tenantId, connectionId, externalIds],
        );
        return parseRows(linkSchema, rows, 'link');
      }),

    getLinksByContactIds: ({ tenantId, connectionId, contactIds }) =>
      guarded(async () => {
        const { rows } = await client.query(linksByContactSql, [tenantId, connectionId, contactIds]);
        return parseRows(linkSchema, rows, 'link');
      }),

    dropLinks: ({ tenantId, connectionId, externalIds, now }) =>
      guarded(async () => {
        const parsed = parseInput(z.array(z.string().min(1)), externalIds);
        if (!parsed.ok) return parsed;
        // One gone link per contact: of two records of one contact dropped at once, either base will do.
        await client.query(
          `WITH dropped AS (DELETE FROM links
             WHERE tenant_id = $1 AND connection_id = $2 AND external_id = ANY($3::text[])
             RETURNING contact_id, external_id, base)
           INSERT INTO gone_links (tenant_id, connection_id, contact_id, external_id, base, gone_at)
           SELECT DISTINCT ON (contact_id) $1, $2, contact_id, external_id, base, $4 FROM dropped
           ON CONFLICT (tenant_id, connection_id, contact_id) DO UPDATE SET external_id = excluded.external_id,
             base = excluded.base, gone_at = excluded.gone_at`,
          [tenantId, connectionId, parsed.value, now],
        );
        return ok(undefined);
      }),

    goneLinks: ({ tenantId, connectionId, contactIds }) =>
      guarded(async () => {
        const { rows } = await client.query(
          `SELECT contact_id AS "contactId", external_id AS "externalId", base, gone_at AS "goneAt" FROM gone_links
           WHERE tenant_id = $1 AND connection_id = $2 AND contact_id = ANY($3::uuid[])`,
          [tenantId, connectionId, contactIds],
        );
        return parseRows(goneLinkSchema, rows, 'gone link');
      }),

    unversionedLinks: ({ tenantId, connectionId, since, limit }) =>
      guarded(async () => {
        const { rows } = await client.query(
          `SELECT ${linkColumns} FROM links
           WHERE connection_id = $2 AND tenant_id = $1 AND remote_version IS NULL AND updated_at >= $3
           ORDER BY updated_at DESC, external_id LIMIT $4`,
          [tenantId, connectionId, since, limit],
        );
        return parseRows(linkSchema, rows, 'link');
      }),

    hasLinks: ({ tenantId, connectionId }) =>
      guarded(async () => {
        // The tenant is checked on the connection (a link's tenant is its connection's, by foreign key), and the
        // first link is read in key order: with stale statistics (PGlite analyses a grown table late) a plain
        // EXISTS had the planner build bitmaps of every link of the tenant first, 15-40 ms at 100,000 links.
        const { rows } = await client.query(
          `SELECT EXISTS (SELECT 1 FROM connections WHERE tenant_id = $1 AND id = $2)
             AND EXISTS (
               SELECT 1 FROM links WHERE connection_id = $2 ORDER BY connection_id, external_id LIMIT 1
             ) AS found`,
          [tenantId, connectionId],
        );
        const parsed = parseRows(existsSchema, rows, 'link existence');
        return parsed.ok ? ok(parsed.value[0]?.found === true) : parsed;
      }),

    upsertLinks: ({ tenantId, connectionId, links, now }) =>
      guarded(
        async () => {
          const parsed = parseInput(z.array(linkInputSchema), links);
          if (!parsed.ok) return parsed;
          const rows = [...new Map(parsed.value.map((l) => [l.externalId, l])).values()].map((l) => ({
            external_id: l.externalId,
            contact_id: l.contactId,
            base: l.base,
            pushed_hashes: l.pushedHashes,
            remote_version: l.remoteVersion,
            remote_hash: l.remoteHash,
            synced_seq: l.syncedSeq ?? null,
            field_modified: l.fieldModified ?? {},
          }));
          // The (tenant, connection) foreign key keeps a conflicting row inside the same tenant. One statement, so
          // a record is never both linked and remembered as suppressed. The suppressed rows are found by primary
          // key from an id array: as `IN (SELECT … FROM linked)` the planner, on statistics of a small table,
          // compared every suppressed record of the connection with every link of the batch (quadratic over a
          // first sync: 17 of 51 s at 30,000 contacts on PostgreSQL). A contact holds one record of a connection:
          // a record linked to it in place of another (deleted in the CRM and keyed in again) replaces that link,
          // found by the (tenant, contact, connection) index from an id array for the same reason; linked again,
          // a contact's gone link (`dropLinks`) has served.
          await client.query(
            `WITH linked AS (SELECT * FROM jsonb_to_recordset($3::jsonb) AS x(external_id text, contact_id uuid,
               base jsonb, pushed_hashes jsonb, remote_version text, remote_hash text, synced_seq bigint,
               field_modified jsonb)),
             forgotten AS (DELETE FROM suppressed_records
               WHERE connection_id = $2 AND external_id = ANY($5::text[]) AND tenant_id = $1),
             replaced AS (DELETE FROM links
               WHERE tenant_id = $1 AND contact_id = ANY($6::uuid[]) AND connection_id = $2
                 AND NOT external_id = ANY($5::text[])),
             relinked AS (DELETE FROM gone_links
               WHERE tenant_id = $1 AND connection_id = $2 AND contact_id = ANY($6::uuid[]))
             INSERT INTO links (tenant_id, connection_id, external_id, contact_id, base, pushed_hashes,
               remote_version, remote_hash, synced_seq, field_modified, updated_at)
             SELECT $1, $2, x.external_id, x.contact_id, x.base, x.pushed_hashes, x.remote_version, x.remote_hash,
               x.synced_seq, x.field_modified, $4
             FROM linked AS x
             ON CONFLICT (connection_id, external_id) DO UPDATE SET contact_id = excluded.contact_id,
               base = excluded.base, pushed_hashes = excluded.pushed_hashes, remote_version = excluded.remote_version,
               remote_hash = excluded.remote_hash, synced_seq = excluded.synced_seq,
               field_modified = excluded.field_modified, updated_at = excluded.updated_at`,
            [
              tenantId,
              connectionId,
              json(rows),
              now,
              rows.map((r) => r.external_id),
              rows.map((r) => r.contact_id),
            ],
          );
          return ok(undefined);
        },
        { not_found: `connection ${connectionId} or a linked contact is not this tenant's` },
      ),

    markSuppressed: ({ tenantId, connectionId, records, now }) =>
      guarded(
        async () => {
          const parsed = parseInput(z.array(suppressedRecordSchema), records);
          if (!parsed.ok) return parsed;
          const rows = [...new Map(parsed.value.map((r) => [r.externalId, r])).values()].map((r) => ({
            external_id: r.externalId,
            content_hash: r.contentHash,
            remote_version: r.remoteVersion,
          }));
          if (rows.length === 0) return ok(undefined);
          await client.query(
            `INSERT INTO suppressed_records (tenant_id, connection_id, external_id, content_hash, remote_version,
               updated_at)
             SELECT $1, $2, x.external_id, x.content_hash, x.remote_version, $4
             FROM jsonb_to_recordset($3::jsonb) AS x(external_id text, content_hash text, remote_version text)
             ON CONFLICT (connection_id, external_id) DO UPDATE SET content_hash = excluded.content_hash,
               remote_version = excluded.remote_version, updated_at = excluded.updated_at`,
            [tenantId, connectionId, json(rows), now],
          );
          return ok(undefined);
        },
        { not_found: `connection ${connectionId} is not this tenant's` },
      ),

    getSuppressed: ({ tenantId, connectionId, externalIds }) =>
      guarded(async () => {
        const { rows } = await client.query(
          `SELECT external_id AS "externalId", content_hash AS "contentHash", remote_version AS "remoteVersion",
             updated_at AS "suppressedAt"
           FROM suppressed_records
           WHERE connection_id = $2 AND tenant_id = $1 AND external_id = ANY($3::text[])`,
          [tenantId, connectionId, externalIds],
        );
        return parseRows(storedSuppressedRecordSchema, rows, 'suppressed record');
      }),
  };
}
