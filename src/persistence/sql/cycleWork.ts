import { z } from 'zod';
import { latestPerRecord } from '../../core/cursor.ts';
import { ok } from '../../core/result.ts';
import {
  type CycleNoteTotals,
  type CycleWorkStore,
  cycleNoteSchema,
  HELD_WRITES_NOTE_KEY,
  INBOUND_NOTE_PREFIX,
  REFUSED_WRITE_NOTE_PREFIX,
  stagedRecordInputSchema,
  stagedRecordSchema,
} from '../cycleWork.ts';
import { guarded } from '../sqlClient.ts';
import { json, parseInput, parseOne, parseRows, type SqlContext } from './context.ts';

/** Adds the modified value as an instant when it parses as one (ordering only; the raw string is kept). */
function withInstant<T extends { modified: string }>(record: T): T & { modifiedAt: string | null } {
  const ms = Date.parse(record.modified);
  return { ...record, modifiedAt: Number.isNaN(ms) ? null : new Date(ms).toISOString() };
}

const idRowSchema = z.object({ id: z.uuid() });
const highWaterSchema = z.object({ modified: z.string(), externalId: z.string() });
const stagedIdRowSchema = z.object({ externalId: z.string(), removed: z.boolean() });
const countRowSchema = z.object({ count: z.number().int().nonnegative() });

/** The one count an aggregate statement answers. */
function countOf(rows: readonly unknown[], what: string) {
  const counted = parseOne(countRowSchema, rows, what);
  return counted.ok ? ok(counted.value.count) : counted;
}
const noteTotalsSchema = z.object({
  created: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  refused: z.number().int(),
  conflicts: z.number().int(),
  upserts: z.number().int(),
  plannedWrites: z.number().int(),
}) satisfies z.ZodType<CycleNoteTotals>;

/**
 * Contacts begun in NurtureHub with no link to the connection. The connection is compared as text, as in
 * `linksByContactSql`: a connection the statistics did not know had each contact's look-up read all its links
 * through the primary key (500 contacts beside 3,000 links: 2.2 s on PGlite, 194 ms on PostgreSQL).
 */
export const creationCandidatesSql = `SELECT c.id FROM contacts c
  WHERE c.tenant_id = $1 AND c.id = ANY($3::uuid[]) AND c.origin_connection_id IS NULL
    AND NOT EXISTS (SELECT 1 FROM links l
                    WHERE l.tenant_id = c.tenant_id AND l.contact_id = c.id AND l.connection_id::text = $2::uuid::text)
  ORDER BY c.id`;

/** The meta notes of committed batches of CRM records (`$4`: `INBOUND_NOTE_PREFIX`), in `cycleNoteTotals`. */
const inbound = `kind = 'meta' AND starts_with(note_key, $4)`;

export function cycleWorkMethods(ctx: SqlContext): CycleWorkStore {
  const { client } = ctx;

  return {
    stageRecords: ({ tenantId, connectionId, cycleId, records }) =>
      guarded(async () => {
        const parsed = parseInput(z.array(stagedRecordInputSchema), records);
        if (!parsed.ok) return parsed;
        if (parsed.value.length === 0) return ok(0);
        // `xmax = 0` marks a row the statement inserted, not one its ON CONFLICT updated: a record the cycle had
        // already staged is not counted again.
        const { rows } = await client.query(
          `WITH written AS (
             INSERT INTO cycle_staging
               (tenant_id, connection_id, cycle_id, external_id, modified, modified_at, version, removed, contact, content_hash)
             SELECT $1, $2, $3, r."externalId", r.modified, r."modifiedAt", r.version, r.removed, r.contact, r."contentHash"
             FROM jsonb_to_recordset($4::jsonb)
               AS r("externalId" text, modified text, "modifiedAt" timestamptz, version text, removed boolean, contact jsonb, "contentHash" text)
             ON CONFLICT (connection_id, cycle_id, external_id) DO UPDATE SET
               modified = EXCLUDED.modified, modified_at = EXCLUDED.modified_at, version = EXCLUDED.version,
               removed = EXCLUDED.removed, contact = EXCLUDED.contact, content_hash = EXCLUDED.content_hash
             RETURNING xmax = 0 AS inserted)
           SELECT count(*) FILTER (WHERE inserted)::int AS count FROM written`,
          [tenantId, connectionId, cycleId, json(latestPerRecord(parsed.value).map(withInstant))],
        );
        return countOf(rows, 'newly staged records');
      }),

    unstageRecords: ({ tenantId, connectionId, cycleId, externalIds }) =>
      guarded(async () => {
        if (externalIds.length === 0) return ok(0);
        const { rows } = await client.query(
          `WITH gone AS (
             DELETE FROM cycle_staging
             WHERE connection_id = $2 AND cycle_id = $3 AND external_id = ANY($4::text[]) AND tenant_id = $1
             RETURNING 1)
           SELECT count(*)::int AS count FROM gone`,
          [tenantId, connectionId, cycleId, externalIds],
        );
        return countOf(rows, 'unstaged records');
      }),

    listStaged: ({ tenantId, connectionId, cycleId, afterExternalId, limit }) =>
      guarded(async () => {
        const after = afterExternalId === null ? '' : 'AND external_id > $5';
        const { rows } = await client.query(
          `SELECT external_id AS "externalId", modified, version, removed, contact, content_hash AS "contentHash"
           FROM cycle_staging
           WHERE tenant_id = $1 AND connection_id = $2 AND cycle_id = $3 ${after}
           ORDER BY external_id LIMIT $4`,
          [tenantId, connectionId, cycleId, limit, ...(afterExternalId === null ? [] : [afterExternalId])],
        );
        return parseRows(stagedRecordSchema, rows, 'staged record');
      }),

    stagedAmong: ({ tenantId, connectionId, cycleId, externalIds }) =>
      guarded(async () => {
        const { rows } = await client.query(
          `SELECT external_id AS "externalId", removed FROM cycle_staging
           WHERE connection_id = $2 AND cycle_id = $3 AND external_id = ANY($4::text[]) AND tenant_id = $1`,
          [tenantId, connectionId, cycleId, externalIds],
        );
        return parseRows(stagedIdRowSchema, rows, 'staged id');
      }),

    stagedHighWater: ({ tenantId, connectionId, cycleId }) =>
      guarded(async () => {
        const { rows } = await client.query(
          `SELECT modified, external_id AS "externalId" FROM cycle_staging
           WHERE tenant_id = $1 AND connection_id = $2 AND cycle_id = $3
           ORDER BY modified_at DESC NULLS LAST, external_id DESC LIMIT 1`,
          [tenantId, connectionId, cycleId],
        );
        const parsed = parseRows(highWaterSchema, rows, 'staged high water');
        if (!parsed.ok) return parsed;
        return ok(parsed.value[0] ?? null);
      }),

    addCycleNotes: ({ tenantId, connectionId, cycleId, notes }) =>
      guarded(async () => {
        const parsed = parseInput(z.array(cycleNoteSchema), notes);
        if (!parsed.ok) return parsed;
        if (parsed.value.length === 0) return ok(0);
        const { rowCount } = await client.query(
          `INSERT INTO cycle_notes (tenant_id, connection_id, cycle_id, kind, note_key, body)
           SELECT $1, $2, $3, n.kind, n.key, n.body
           FROM jsonb_to_recordset($4::jsonb) AS n(kind text, key text, body jsonb)
           ON CONFLICT DO NOTHING`,
          [tenantId, connectionId, cycleId, json(parsed.value)],
        );
        return ok(rowCount);
      }),

    latestCycleNote: ({ tenantId, connectionId, cycleId, kind, keyPrefix }) =>
      guarded(async () => {
        const { rows } = await client.query(
          `SELECT kind, note_key AS key, body FROM cycle_notes
           WHERE tenant_id = $1 AND connection_id = $2 AND cycle_id = $3 AND kind = $4
             AND starts_with(note_key, $5)
           ORDER BY seq DESC LIMIT 1`,
          [tenantId, connectionId, cycleId, kind, keyPrefix],
        );
        const parsed = parseRows(cycleNoteSchema, rows, 'cycle note');
        return parsed.ok ? ok(parsed.value[0] ?? null) : parsed;
      }),

    cycleNoteTotals: ({ tenantId, connectionId, cycleId }) =>
      guarded(async () => {
        const { rows } = await client.query(
          `SELECT count(*) FILTER (WHERE kind = 'written' AND body ->> 'op' = 'create')::int AS created,
             count(*) FILTER (WHERE kind = 'written' AND body ->> 'op' = 'update')::int AS updated,
             coalesce(sum((body ->> 'unchanged')::int) FILTER (WHERE ${inbound}), 0)::int AS unchanged,
             count(*) FILTER (WHERE kind = 'error' AND starts_with(note_key, $5) AND note_key <> $6)::int AS refused,
             count(*) FILTER (WHERE kind = 'conflict')::int AS conflicts,
             coalesce(sum((body ->> 'upserts')::int) FILTER (WHERE ${inbound}), 0)::int AS upserts,
             coalesce(sum((body ->> 'plannedWrites')::int) FILTER (WHERE ${inbound}), 0)::int AS "plannedWrites"
           FROM cycle_notes WHERE tenant_id = $1 AND connection_id = $2 AND cycle_id = $3`,
          [
            tenantId,
            connectionId,
            cycleId,
            INBOUND_NOTE_PREFIX,
            REFUSED_WRITE_NOTE_PREFIX,
            HELD_WRITES_NOTE_KEY,
          ],
        );
        const parsed = parseRows(noteTotalsSchema, rows, 'cycle note totals');
        if (!parsed.ok) return parsed;
        return ok(
          parsed.value[0] ?? {
            created: 0,
            updated: 0,
            unchanged: 0,
            refused: 0,
            conflicts: 0,
            upserts: 0,
            plannedWrites: 0,
          },
        );
      }),

    creationCandidates: ({ tenantId, connectionId, contactIds }) =>
      guarded(async () => {
        const { rows } = await client.query(creationCandidatesSql, [tenantId, connectionId, contactIds]);
        const parsed = parseRows(idRowSchema, rows, 'contact id');
        return parsed.ok ? ok(parsed.value.map((row) => row.id)) : parsed;
      }),

    clearCycleWork: ({ tenantId, connectionId, cycleId }) =>
      guarded(async () => {
        const params = [tenantId, connectionId, cycleId];
        await client.query(
          'DELETE FROM cycle_staging WHERE tenant_id = $1 AND connection_id = $2 AND cycle_id = $3',
          params,
        );
        await client.query(
          'DELETE FROM cycle_notes WHERE tenant_id = $1 AND connection_id = $2 AND cycle_id = $3',
          params,
        );
        return ok(undefined);
      }),
  };
}
