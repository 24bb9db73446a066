import { z } from 'zod';
import { contentHash } from '../../core/canonicalJson.ts';
import { ok } from '../../core/result.ts';
import { pushEntrySchema, pushPlanSchema, quarantineEntrySchema, quarantineInputSchema } from '../records.ts';
import { guarded } from '../sqlClient.ts';
import type { ConnectionRef, LedgerStore } from '../store.ts';
import { json, parseInput, parseOne, parseRows, type SqlContext } from './context.ts';

const pushColumns = `idempotency_key AS "idempotencyKey", cycle_id AS "cycleId", kind, contact_id AS "contactId",
  external_id AS "externalId", payload, status, attempts, response_id AS "responseId",
  response_version AS "responseVersion", planned_at AS "plannedAt", sent_at AS "sentAt",
  acknowledged_at AS "acknowledgedAt"`;

const quarantineColumns = `connection_id AS "connectionId", external_id AS "externalId", payload, error, fields,
  seen_count AS "seenCount", first_seen_at AS "firstSeenAt", last_seen_at AS "lastSeenAt"`;

export function ledgerMethods(
  ctx: SqlContext,
): Omit<LedgerStore, 'commitCycle' | 'listAudit' | 'listAuditItems' | 'pruneAudit'> {
  const { client } = ctx;

  const readPush = async (ref: ConnectionRef, key: string) => {
    const { rows } = await client.query(
      `SELECT ${pushColumns} FROM push_ledger WHERE tenant_id = $1 AND connection_id = $2 AND idempotency_key = $3`,
      [ref.tenantId, ref.connectionId, key],
    );
    return parseOne(pushEntrySchema, rows, `push ${key}`);
  };

  return {
    planPushes: ({ tenantId, connectionId, entries, now }) =>
      guarded(
        async () => {
          const parsed = parseInput(z.array(pushPlanSchema), entries);
          if (!parsed.ok) return parsed;
          const rows = parsed.value.map((e) => ({
            idempotency_key: e.idempotencyKey,
            cycle_id: e.cycleId,
            kind: e.kind,
            contact_id: e.contactId,
            external_id: e.externalId,
            payload: e.payload,
          }));
          // A key already planned keeps its state: that is what makes a retried push skip acknowledged writes.
          // Only a deferred write is planned again, by the next cycle that still needs it, and a create never sent
          // (held by credentials that could not write) takes the contact as it is now: one key per contact, so it
          // kept the values it was first planned with, edited since, and the CRM was sent those.
          await client.query(
            `INSERT INTO push_ledger (tenant_id, connection_id, idempotency_key, cycle_id, kind, contact_id,
               external_id, payload, status, planned_at)
             SELECT $1, $2, x.idempotency_key, x.cycle_id, x.kind, x.contact_id, x.external_id, x.payload, 'planned', $4
             FROM jsonb_to_recordset($3::jsonb) AS x(idempotency_key text, cycle_id text, kind text,
               contact_id uuid, external_id text, payload jsonb)
             ON CONFLICT (connection_id, idempotency_key) DO UPDATE
               SET status = 'planned', cycle_id = EXCLUDED.cycle_id, payload = EXCLUDED.payload, planned_at = EXCLUDED.planned_at
               WHERE push_ledger.status = 'deferred'
                 OR (push_ledger.status = 'planned' AND push_ledger.kind = 'create')`,
            [tenantId, connectionId, json(rows), now],
          );
          const current = await client.query(
            `SELECT ${pushColumns} FROM push_ledger
             WHERE tenant_id = $1 AND connection_id = $2 AND idempotency_key = ANY($3::text[])
             ORDER BY planned_at, idempotency_key`,
            [tenantId, connectionId, rows.map((r) => r.idempotency_key)],
          );
          return parseRows(pushEntrySchema, current.rows, 'push');
        },
        { not_found: `connection ${connectionId} or a pushed contact is not this tenant's` },
      ),

    markPushSent: (ref) =>
      guarded(async () => {
        await client.query(
          `UPDATE push_ledger SET status = 'sent', attempts = attempts + 1, sent_at = $4
           WHERE tenant_id = $1 AND connection_id = $2 AND idempotency_key = $3 AND status <> 'acknowledged'`,
          [ref.tenantId, ref.connectionId, ref.idempotencyKey, ref.now],
        );
        return readPush(ref, ref.idempotencyKey);
      }),

    markPushAcknowledged: (ref) =>
      guarded(async () => {
        await client.query(
          `UPDATE push_ledger SET status = 'acknowledged', response_id = $4, response_version = $5, acknowledged_at = $6
           WHERE tenant_id = $1 AND connection_id = $2 AND idempotency_key = $3 AND status <> 'acknowledged'`,
          [ref.tenantId, ref.connectionId, ref.idempotencyKey, ref.responseId, ref.responseVersion, ref.now],
        );
        return readPush(ref, ref.idempotencyKey);
      }),

    markPushDeferred: (ref) =>
      guarded(async () => {
        await client.query(
          `UPDATE push_ledger SET status = 'deferred'
           WHERE tenant_id = $1 AND connection_id = $2 AND idempotency_key = $3 AND status <> 'acknowledged'`,
          [ref.tenantId, ref.connectionId, ref.idempotencyKey],
        );
        return readPush(ref, ref.idempotencyKey);
      }),

    markPushUnsent: (ref) =>
      guarded(async () => {
        await client.query(
          `UPDATE push_ledger SET status = 'planned', sent_at = NULL
           WHERE tenant_id = $1 AND connection_id = $2 AND idempotency_key = $3 AND status = 'sent'
             AND ($4::timestamptz IS NULL OR sent_at = $4)`,
          [ref.tenantId, ref.connectionId, ref.idempotencyKey, ref.sentAt ?? null],
        );
        return readPush(ref, ref.idempotencyKey);
      }),

    listPendingPushes: ({ tenantId, connectionId, cycleId }) =>
      guarded(async () => {
        const { rows } = await client.query(
          `SELECT ${pushColumns} FROM push_ledger
           WHERE tenant_id = $1 AND connection_id = $2 AND status IN ('planned', 'sent')
             AND ($3::text IS NULL OR cycle_id = $3::text)
           ORDER BY planned_at, idempotency_key`,
          [tenantId, connectionId, cycleId ?? null],
        );
        return parseRows(pushEntrySchema, rows, 'push');
      }),

    quarantineRecords: ({ tenantId, connectionId, records, now }) =>
      guarded(
        async () => {
          const parsed = parseInput(z.array(quarantineInputSchema), records);
          if (!parsed.ok) return parsed;
          const byKey = new Map(
            parsed.value.map((r) => [r.externalId ?? `sha256:${contentHash(r.payload)}`, r] as const),
          );
          const rows = [...byKey].map(([key, r]) => ({
            record_key: key,
            external_id: r.externalId,
            payload: r.payload,
            error: r.error,
            fields: r.fields,
          }));
          // A page element that is JSON null (no record at all) is a SQL NULL out of jsonb_to_recordset, which the
          // payload column refused: the cycle stopped in error over one bad element.
          await client.query(
            `INSERT INTO quarantine (tenant_id, connection_id, record_key, external_id, payload, error, fields,
               first_seen_at, last_seen_at)
             SELECT $1, $2, x.record_key, x.external_id, coalesce(x.payload, 'null'::jsonb), x.error, x.fields, $4, $4
             FROM jsonb_to_recordset($3::jsonb)
               AS x(record_key text, external_id text, payload jsonb, error text, fields jsonb)
             ON CONFLICT (connection_id, record_key) DO UPDATE SET payload = excluded.payload,
               error = excluded.error, fields = excluded.fields, seen_count = quarantine.seen_count + 1,
               last_seen_at = excluded.last_seen_at`,
            [tenantId, connectionId, json(rows), now],
          );
          return ok(undefined);
        },
        { not_found: `connection ${connectionId} not found` },
      ),

    listQuarantine: ({ tenantId, connectionId, limit }) =>
      guarded(async () => {
        const { rows } = await client.query(
          `SELECT ${quarantineColumns} FROM quarantine
           WHERE tenant_id = $1 AND ($2::uuid IS NULL OR connection_id = $2::uuid)
           ORDER BY last_seen_at DESC, record_key LIMIT $3`,
          [tenantId, connectionId ?? null, limit],
        );
        return parseRows(quarantineEntrySchema, rows, 'quarantine entry');
      }),

    releaseQuarantine: ({ tenantId, connectionId, externalIds }) =>
      guarded(async () => {
        const { rowCount } = await client.query(
          'DELETE FROM quarantine WHERE tenant_id = $1 AND connection_id = $2 AND external_id = ANY($3::text[])',
          [tenantId, connectionId, externalIds],
        );
        return ok(rowCount);
      }),
  };
}
