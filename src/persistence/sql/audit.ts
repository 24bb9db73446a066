import { z } from 'zod';
import { ok } from '../../core/result.ts';
import { cursorPositionSchema } from '../../providers/provider.ts';
import {
  type AuditListName,
  type AuditPruned,
  auditBodySchema,
  auditEntrySchema,
  auditItemSchemas,
  auditItemsQuerySchema,
  auditListNameSchema,
  auditPrunedSchema,
  auditPruneQuerySchema,
  auditQuerySchema,
} from '../audit.ts';
import { type AuditedNoteKind, auditedNoteKinds } from '../cycleWork.ts';
import { guarded } from '../sqlClient.ts';
import type { LedgerStore, StoreError } from '../store.ts';
import { json, parseInput, parseOne, parseRows, type SqlContext, transact } from './context.ts';

const commitInputSchema = z.object({
  cursor: cursorPositionSchema.optional(),
  localCursor: z.number().int().min(0).optional(),
  audit: auditBodySchema,
  notesOf: z
    .object({
      cycleId: z.string().min(1),
      kinds: z.array(z.enum(auditedNoteKinds)),
      exceptKeys: z.array(z.string()).default([]),
      afterMark: z.string().min(1).nullable().default(null),
    })
    .optional(),
});

/** The audit list each kind of note goes to. */
const listOfKind = {
  conflict: 'conflicts',
  duplicate: 'duplicatesSuppressed',
  error: 'errors',
} as const satisfies Record<AuditedNoteKind, AuditListName>;

/** The `audit_log` column holding each list's length (its items are rows of `audit_items`). */
const countColumnOf = {
  conflicts: 'conflict_count',
  duplicatesSuppressed: 'duplicate_count',
  errors: 'error_count',
} as const satisfies Record<AuditListName, string>;

const lists = auditListNameSchema.options;
const listOfNote = `CASE n.kind ${Object.entries(listOfKind)
  .map(([kind, list]) => `WHEN '${kind}' THEN '${list}'`)
  .join(' ')} END`;

/** One list's items of the entry `a` from `from` (inclusive) to `to` (exclusive), in order: a key range. */
const itemsOf = (list: string, from: string, to: string) =>
  `(SELECT coalesce(jsonb_agg(i.item ORDER BY i.position), '[]'::jsonb) FROM audit_items i
    WHERE i.audit_id = a.id AND i.list = ${list} AND i.position >= ${from} AND i.position < ${to})`;

/** An entry whose lists hold their first `$first` items, with each list's full length. */
const entryColumns = (first: string) => `a.id, a.tenant_id AS "tenantId", a.connection_id AS "connectionId",
  a.provider, a.body || jsonb_build_object(${lists.map((list) => `'${list}', ${itemsOf(`'${list}'`, '0', first)}`).join(', ')}) AS body,
  jsonb_build_object(${lists.map((list) => `'${list}', a.${countColumnOf[list]}`).join(', ')}) AS "itemCounts"`;

/** The sequence number of the cycle's latest meta note keyed with the prefix `mark` (0 for none or no prefix). */
const markSeq = (tenant: string, connection: string, cycle: string, mark: string) =>
  `coalesce((SELECT max(m.seq) FROM cycle_notes m WHERE ${mark}::text IS NOT NULL AND m.tenant_id = ${tenant}
    AND m.connection_id = ${connection} AND m.cycle_id = ${cycle} AND m.kind = 'meta'
    AND starts_with(m.note_key, ${mark}::text)), 0)`;

/**
 * The entries a prune takes (`$1` before, `$2` tenant or null): finished before the date, and neither the latest of
 * their connection nor its latest completed one (found through `audit_log_connection_idx`): a reset or an abandoned
 * run reads back to that one to tell whether the cycle in a stored snapshot completed (`completedEntry`), and
 * failed runs' entries may lie above it. Their items go with them (`ON DELETE CASCADE`).
 */
const prunableSql = `SELECT a.id, a.tenant_id, a.connection_id, a.provider, a.finished_at,
    a.conflict_count + a.duplicate_count + a.error_count AS items
  FROM audit_log a
  WHERE a.finished_at < $1 AND ($2::uuid IS NULL OR a.tenant_id = $2::uuid)
    AND a.id < (SELECT max(l.id) FROM audit_log l WHERE l.connection_id = a.connection_id)
    AND a.id <> COALESCE((SELECT max(l.id) FROM audit_log l
      WHERE l.connection_id = a.connection_id AND l.outcome = 'completed'), 0)`;

/** What a prune took, per connection, from `pruned` (the entries themselves or, removed, their returned rows). */
const prunedPerConnectionSql = (
  pruned: string,
) => `SELECT tenant_id AS "tenantId", connection_id AS "connectionId",
    provider, count(*)::int AS entries, sum(items)::int AS items,
    min(finished_at) AS "oldestFinishedAt", max(finished_at) AS "newestFinishedAt"
  FROM ${pruned} GROUP BY tenant_id, connection_id, provider ORDER BY tenant_id, provider`;

/**
 * Entries a prune removes per statement, each its own transaction: a year of a busy tenant is hundreds of
 * thousands of entries, which one statement held in one transaction (PGlite's memory, Postgres's locks and
 * WAL) while the embedded store's other work waited behind it.
 */
export const PRUNE_BATCH_ENTRIES = 2_000;

/** One batch of a prune (`$3` the last id removed before it, `$4` its size), per connection, with its last id. */
const pruneBatchSql = `WITH batch AS (${prunableSql} AND a.id > $3 ORDER BY a.id LIMIT $4),
    removed AS (DELETE FROM audit_log a USING batch b WHERE a.id = b.id RETURNING b.*)
  SELECT tenant_id AS "tenantId", connection_id AS "connectionId", provider, count(*)::int AS entries,
    sum(items)::int AS items, min(finished_at) AS "oldestFinishedAt", max(finished_at) AS "newestFinishedAt",
    max(id)::text AS "lastId"
  FROM removed GROUP BY tenant_id, connection_id, provider`;

const prunedBatchRowSchema = auditPrunedSchema.extend({ lastId: z.coerce.bigint() });

/** The batches' per-connection counts as one prune's: summed, in the dry run's order (tenant, provider). */
function sumBatches(rows: Iterable<AuditPruned>): AuditPruned[] {
  const byConnection = new Map<string, AuditPruned>();
  for (const row of rows) {
    const seen = byConnection.get(row.connectionId);
    byConnection.set(
      row.connectionId,
      seen === undefined
        ? row
        : {
            ...seen,
            entries: seen.entries + row.entries,
            items: seen.items + row.items,
            oldestFinishedAt: new Date(
              Math.min(seen.oldestFinishedAt.getTime(), row.oldestFinishedAt.getTime()),
            ),
            newestFinishedAt: new Date(
              Math.max(seen.newestFinishedAt.getTime(), row.newestFinishedAt.getTime()),
            ),
          },
    );
  }
  const order = (a: AuditPruned, b: AuditPruned) =>
    a.tenantId === b.tenantId ? (a.provider < b.provider ? -1 : 1) : a.tenantId < b.tenantId ? -1 : 1;
  return [...byConnection.values()].sort(order);
}

const idRowSchema = z.object({ id: z.coerce.number().int() });
const providerRowSchema = z.object({ provider: z.string() });
const countRowSchema = z.object({ kind: z.enum(auditedNoteKinds), count: z.coerce.number().int() });

/**
 * The audit log: an entry per cycle, its lists (conflicts, suppressed duplicates, errors) one row per item, so
 * that neither committing nor reading an entry of 200,000 duplicates holds the list whole anywhere.
 */
export function auditMethods(
  ctx: SqlContext,
): Pick<LedgerStore, 'commitCycle' | 'listAudit' | 'listAuditItems' | 'pruneAudit'> {
  const { client } = ctx;
  return {
    commitCycle: (ref) =>
      guarded(async () => {
        const parsed = parseInput(commitInputSchema, {
          cursor: ref.cursor,
          localCursor: ref.localCursor,
          audit: ref.audit,
          notesOf: ref.notesOf,
        });
        if (!parsed.ok) return parsed;
        const { cursor, localCursor, audit, notesOf } = parsed.value;
        const { conflicts, duplicatesSuppressed, errors, ...body } = audit;
        const given = { conflicts, duplicatesSuppressed, errors };
        const notes = notesOf ?? { cycleId: null, kinds: [], exceptKeys: [], afterMark: null };
        return transact<{ auditId: number; alreadyCommitted: boolean }, StoreError>(client, async (tx) => {
          const connection = await tx.query(
            'SELECT provider FROM connections WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
            [ref.tenantId, ref.connectionId],
          );
          const provider = parseOne(providerRowSchema, connection.rows, `connection ${ref.connectionId}`);
          if (!provider.ok) return provider;
          const noted = await tx.query(
            `SELECT kind, count(*) AS count FROM cycle_notes
             WHERE tenant_id = $1 AND connection_id = $2 AND cycle_id = $3 AND kind = ANY($4::text[])
               AND note_key <> ALL($5::text[]) AND seq > ${markSeq('$1', '$2', '$3', '$6')}
             GROUP BY kind`,
            [ref.tenantId, ref.connectionId, notes.cycleId, notes.kinds, notes.exceptKeys, notes.afterMark],
          );
          const counts = parseRows(countRowSchema, noted.rows, 'note count');
          if (!counts.ok) return counts;
          const length = (list: AuditListName) =>
            given[list].length + (counts.value.find((c) => listOfKind[c.kind] === list)?.count ?? 0);
          const inserted = await tx.query(
            `INSERT INTO audit_log (tenant_id, connection_id, provider, cycle_id, outcome, started_at, finished_at, body,
               conflict_count, duplicate_count, error_count)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11)
             ON CONFLICT (connection_id, cycle_id) DO NOTHING RETURNING id`,
            [
              ref.tenantId,
              ref.connectionId,
              provider.value.provider,
              audit.cycleId,
              audit.outcome,
              audit.startedAt,
              audit.finishedAt,
              json(body),
              length('conflicts'),
              length('duplicatesSuppressed'),
              length('errors'),
            ],
          );
          if (inserted.rows.length === 0) {
            const existing = await tx.query(
              'SELECT id FROM audit_log WHERE connection_id = $1 AND cycle_id = $2',
              [ref.connectionId, audit.cycleId],
            );
            const entry = parseOne(idRowSchema, existing.rows, 'audit entry');
            return entry.ok ? ok({ auditId: entry.value.id, alreadyCommitted: true }) : entry;
          }
          const entry = parseOne(idRowSchema, inserted.rows, 'audit entry');
          if (!entry.ok) return entry;
          // Each list: the notes' bodies (validated as audit items when noted) in the order noted, then the
          // items given; copied row by row inside the database.
          await tx.query(
            `INSERT INTO audit_items (audit_id, list, position, item)
             SELECT $1, list, row_number() OVER (PARTITION BY list ORDER BY part, ord) - 1, item
             FROM (
               SELECT ${listOfNote} AS list, 0 AS part, n.seq AS ord, n.body AS item FROM cycle_notes n
               WHERE n.tenant_id = $2 AND n.connection_id = $3 AND n.cycle_id = $4 AND n.kind = ANY($5::text[])
                 AND n.note_key <> ALL($7::text[]) AND n.seq > ${markSeq('$2', '$3', '$4', '$8')}
               UNION ALL
               SELECT l.list, 1, e.ordinality, e.item
               FROM (VALUES ${lists.map((list) => `('${list}')`).join(', ')}) AS l(list)
               CROSS JOIN LATERAL jsonb_array_elements($6::jsonb -> l.list) WITH ORDINALITY AS e(item, ordinality)
             ) AS items`,
            [
              entry.value.id,
              ref.tenantId,
              ref.connectionId,
              notes.cycleId,
              notes.kinds,
              json(given),
              notes.exceptKeys,
              notes.afterMark,
            ],
          );
          await tx.query(
            `UPDATE connections SET cursor = coalesce($3::jsonb, cursor),
               local_cursor = greatest(local_cursor, coalesce($4::bigint, local_cursor)),
               cursor_committed_at = CASE WHEN $3::jsonb IS NULL AND $4::bigint IS NULL
                 THEN cursor_committed_at ELSE $5 END, updated_at = now()
             WHERE tenant_id = $1 AND id = $2`,
            [
              ref.tenantId,
              ref.connectionId,
              cursor === undefined ? null : json(cursor),
              localCursor ?? null,
              audit.finishedAt,
            ],
          );
          return ok({ auditId: entry.value.id, alreadyCommitted: false });
        });
      }),

    listAudit: (query) =>
      guarded(async () => {
        const parsed = parseInput(auditQuerySchema, query);
        if (!parsed.ok) return parsed;
        const q = parsed.value;
        const { rows } = await client.query(
          `SELECT ${entryColumns('$7::integer')} FROM audit_log a
           WHERE a.tenant_id = $1 AND ($2::uuid IS NULL OR a.connection_id = $2::uuid)
             AND ($3::text IS NULL OR a.provider = $3::text)
             AND ($4::timestamptz IS NULL OR a.finished_at >= $4::timestamptz)
             AND ($5::bigint IS NULL OR a.id < $5::bigint)
           ORDER BY a.id DESC LIMIT $6`,
          [
            q.tenantId,
            q.connectionId ?? null,
            q.provider ?? null,
            q.since ?? null,
            q.beforeId ?? null,
            q.limit + 1,
            q.itemsPerList,
          ],
        );
        const entries = parseRows(auditEntrySchema, rows, 'audit entry');
        if (!entries.ok) return entries;
        const page = entries.value.slice(0, q.limit);
        const last = page.at(-1);
        return ok({ entries: page, nextBeforeId: entries.value.length > q.limit && last ? last.id : null });
      }),

    listAuditItems: (query) =>
      guarded(async () => {
        const parsed = parseInput(auditItemsQuerySchema, query);
        if (!parsed.ok) return parsed;
        const { tenantId, auditId, list, offset, limit } = parsed.value;
        const { rows } = await client.query(
          `SELECT a.${countColumnOf[list]} AS total, ${itemsOf('$3::text', '$4::bigint', '$4::bigint + $5::bigint')} AS items
           FROM audit_log a WHERE a.tenant_id = $1 AND a.id = $2`,
          [tenantId, auditId, list, offset, limit],
        );
        const rowSchema = z.object({
          total: z.number().int().min(0),
          items: z.array(auditItemSchemas[list]),
        });
        const page = parseOne(rowSchema, rows, `audit entry ${auditId}`);
        if (!page.ok) return page;
        const { total, items } = page.value;
        const end = offset + items.length;
        return ok({ items, total, nextOffset: end < total ? end : null });
      }),

    pruneAudit: (query) =>
      guarded(async () => {
        const parsed = parseInput(auditPruneQuerySchema, query);
        if (!parsed.ok) return parsed;
        const { before, tenantId, dryRun } = parsed.value;
        if (dryRun) {
          const { rows } = await client.query(
            `WITH prunable AS (${prunableSql}) ${prunedPerConnectionSql('prunable')}`,
            [before, tenantId ?? null],
          );
          return parseRows(auditPrunedSchema, rows, 'pruned audit entries');
        }
        // A connection's latest entry is never prunable, so removing a batch never makes another entry its latest.
        const pruned: AuditPruned[] = [];
        let lastId = 0n;
        for (;;) {
          const { rows } = await client.query(pruneBatchSql, [
            before,
            tenantId ?? null,
            lastId.toString(),
            PRUNE_BATCH_ENTRIES,
          ]);
          const batch = parseRows(prunedBatchRowSchema, rows, 'pruned audit entries');
          if (!batch.ok) return batch;
          let removed = 0;
          for (const { lastId: batchLast, ...row } of batch.value) {
            pruned.push(row);
            removed += row.entries;
            if (batchLast > lastId) lastId = batchLast;
          }
          if (removed < PRUNE_BATCH_ENTRIES) return ok(sumBatches(pruned));
        }
      }),
  };
}
