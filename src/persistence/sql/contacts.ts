import { z } from 'zod';
import { toMatchRecord } from '../../core/dedup/matchRecord.ts';
import { readStoredMatchRecord, storeMatchRecord } from '../../core/dedup/storedMatchRecord.ts';
import { err, ok } from '../../core/result.ts';
import {
  CONFLICTING_REPEAT,
  conflictingRepeats,
  contactUpsertSchema,
  type EngagementEvent,
  engagementEventSchema,
  FUTURE_EVENT,
  isFutureEvent,
  linkSchema,
  RECORDED_DIFFERENTLY,
  storedContactSchema,
} from '../records.ts';
import type { SqlClient } from '../sqlClient.ts';
import { guarded } from '../sqlClient.ts';
import type { ContactStore } from '../store.ts';
import { json, parseInput, parseRows, type SqlContext } from './context.ts';
import { linkColumns } from './links.ts';

export const contactColumns = `id, data AS contact, field_stamps AS "fieldStamps", change_seq AS "changeSeq",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/**
 * The most an engagement counter counts: the largest integer a contact's number holds exactly. Past it an open
 * counts no more; added past it, the contact no longer read back (its schema), and every cycle of the tenant
 * stopped in error.
 */
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/** ISO-8601 in UTC with milliseconds, as `Date.toISOString` writes it, whatever the session time zone. */
const isoSql = (expr: string) => `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Field → stamp for every top-level key whose value differs between two contact documents. */
const changedStampsSql = (oldData: string, newData: string, stamp: string) =>
  `coalesce((SELECT jsonb_object_agg(e.key, ${stamp}) FROM jsonb_each(${newData}) e
     WHERE ${oldData} -> e.key IS DISTINCT FROM e.value), '{}'::jsonb)`;

/**
 * Serialise a tenant's local-change writers until commit. Sequence numbers are handed out before
 * commit, so without this a reader could see seq 11 committed while seq 10 is still in flight,
 * move its local cursor past 10 and never see that change.
 *
 * The wait has neither the statement limit nor the driver's read limit (docs/scheduling.md): a `contact import` holds
 * the lock for its whole file, minutes for a few hundred thousand lines, each of its statements within the limits,
 * and a holder paused in its transaction is ended at the idle limit. With them, a cycle writing beside a long import
 * failed and backed off until it ran out of attempts. The statement limit is back for the rest of the transaction.
 */
export async function lockTenantChanges(client: SqlClient, tenantId: string): Promise<void> {
  const { rows } = await client.query(
    "SELECT current_setting('statement_timeout') AS limit, set_config('statement_timeout', '0', true)",
  );
  const key = `crm-sync:changes:${tenantId}`;
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key], {
    waitsForHolder: true,
  });
  await client.query("SELECT set_config('statement_timeout', $1, true)", [String(rows[0]?.limit ?? '0')]);
}

/**
 * A tenant's contacts changed in a range of change numbers; `ofConnection`: without those the connection ($5) synced
 * at their current change. The connection is compared as text, as in `linksByContactSql` (links.ts).
 */
export const localChangesSql = (ofConnection: boolean) => `SELECT ${contactColumns} FROM contacts c
  WHERE tenant_id = $1 AND change_seq > $2 AND change_seq <= $3
  ${
    ofConnection
      ? `AND NOT EXISTS (SELECT 1 FROM links l WHERE l.tenant_id = c.tenant_id AND l.contact_id = c.id
      AND l.connection_id::text = $5::uuid::text AND l.synced_seq = c.change_seq)`
      : ''
  }
  ORDER BY change_seq LIMIT $4`;

const upsertRowSchema = z.object({
  id: z.uuid(),
  inserted: z.boolean(),
  changeSeq: z.coerce.number().int(),
});
const clashRowSchema = z.object({ eventId: z.string() });
const ingestRowSchema = z.object({
  eventId: z.string(),
  outcome: z.enum(['inserted', 'duplicate', 'unknownContact']),
});
const matchRecordRowSchema = z.object({
  id: z.uuid(),
  changeSeq: z.coerce.number().int(),
  matchRecord: z.string().nullable(),
});
const changeSeqRowSchema = matchRecordRowSchema.pick({ id: true, changeSeq: true });
const highWaterSchema = z.object({ seq: z.coerce.number().int() });

type ContactMethods = Pick<
  ContactStore,
  | 'holdTenantChanges'
  | 'upsertContacts'
  | 'getContacts'
  | 'getMatchRecords'
  | 'listChangeSeqs'
  | 'listContacts'
  | 'localChangeHighWater'
  | 'listLocalChanges'
  | 'ingestEngagementEvents'
>;

export function contactMethods(ctx: SqlContext): ContactMethods {
  const { client } = ctx;

  return {
    holdTenantChanges: ({ tenantId }) =>
      guarded(async () => {
        const parsed = parseInput(z.uuid(), tenantId);
        if (!parsed.ok) return parsed;
        await lockTenantChanges(client, parsed.value);
        return ok(undefined);
      }),

    upsertContacts: ({ tenantId, contacts, now }) =>
      guarded(async () => {
        const parsed = parseInput(z.array(contactUpsertSchema), contacts);
        if (!parsed.ok) return parsed;
        // One statement cannot update a row twice: the last entry for an id wins.
        const byId = new Map(parsed.value.map((c) => [c.id, c]));
        const rows = [...byId.values()].map((c) => ({
          id: c.id,
          data: c.contact,
          origin: c.originConnectionId ?? null,
          match_record: storeMatchRecord(toMatchRecord(c.id, c.contact)),
        }));
        const stamp = now.toISOString();
        const expected = parsed.value.flatMap((c) =>
          c.expectedChangeSeq === undefined ? [] : [{ id: c.id, expected: c.expectedChangeSeq }],
        );
        const result = await client.transaction(async (tx) => {
          await lockTenantChanges(tx, tenantId);
          // Under the lock, so no writer of the tenant's contacts can come between this check and the write.
          if (expected.length > 0) {
            const moved = await tx.query(
              `SELECT c.id FROM jsonb_to_recordset($2::jsonb) AS i(id uuid, expected bigint)
               JOIN contacts c ON c.tenant_id = $1 AND c.id = i.id WHERE c.change_seq <> i.expected`,
              [tenantId, json(expected)],
            );
            if (moved.rows.length > 0) return { stale: moved.rows.map((row) => String(row.id)) };
          }
          return tx.query(
            `INSERT INTO contacts AS c (tenant_id, id, data, field_stamps, created_at, updated_at, origin_connection_id,
               match_record)
             SELECT $1, i.id, i.data, ${changedStampsSql("'{}'::jsonb", 'i.data', '$3::text')}, $4, $4, i.origin,
               i.match_record
             FROM jsonb_to_recordset($2::jsonb) AS i(id uuid, data jsonb, origin uuid, match_record text)
             ON CONFLICT (tenant_id, id) DO UPDATE SET
               data = excluded.data,
               match_record = excluded.match_record,
               origin_connection_id = coalesce(c.origin_connection_id, excluded.origin_connection_id),
               field_stamps = c.field_stamps || ${changedStampsSql('c.data', 'excluded.data', '$3::text')},
               change_seq = nextval('local_change_seq'),
               updated_at = excluded.updated_at
             WHERE c.data IS DISTINCT FROM excluded.data
             RETURNING c.id, (c.xmax::text = '0') AS inserted, c.change_seq AS "changeSeq"`,
            [tenantId, json(rows), stamp, now],
          );
        });
        if ('stale' in result)
          return err({
            kind: 'conflict',
            message: `contacts changed since they were read: ${result.stale.join(', ')}`,
          });
        const written = parseRows(upsertRowSchema, result.rows, 'upsert outcome');
        if (!written.ok) return written;
        const created = written.value.filter((r) => r.inserted).map((r) => r.id);
        const updated = written.value.filter((r) => !r.inserted).map((r) => r.id);
        const touched = new Set([...created, ...updated]);
        return ok({
          created,
          updated,
          unchanged: [...byId.keys()].filter((id) => !touched.has(id)),
          changeSeqs: Object.fromEntries(written.value.map((r) => [r.id, r.changeSeq])),
        });
      }),

    getMatchRecords: ({ tenantId, ids }) =>
      guarded(async () => {
        const { rows } = await client.query(
          `SELECT c.id, c.change_seq AS "changeSeq", c.match_record AS "matchRecord"
           FROM unnest($2::uuid[]) AS u(id)
           JOIN contacts c ON c.tenant_id = $1 AND c.id = u.id`,
          [tenantId, ids],
        );
        const parsed = parseRows(matchRecordRowSchema, rows, 'contact match record');
        if (!parsed.ok) return parsed;
        return ok(
          parsed.value.map((row) => ({
            id: row.id,
            changeSeq: row.changeSeq,
            matchRecord: readStoredMatchRecord(row.id, row.matchRecord),
          })),
        );
      }),

    listChangeSeqs: ({ tenantId, afterSeq, limit }) =>
      guarded(async () => {
        const { rows } = await client.query(
          `SELECT id, change_seq AS "changeSeq" FROM contacts
           WHERE tenant_id = $1 AND change_seq > $2 ORDER BY change_seq LIMIT $3`,
          [tenantId, afterSeq, limit],
        );
        return parseRows(changeSeqRowSchema, rows, 'contact change');
      }),

    getContacts: ({ tenantId, ids }) =>
      guarded(async () => {
        const { rows } = await client.query(
          `SELECT ${contactColumns} FROM contacts WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
          [tenantId, ids],
        );
        return parseRows(storedContactSchema, rows, 'contact');
      }),

    listContacts: ({ tenantId, afterId, limit }) =>
      guarded(async () => {
        const page = await client.query(
          `SELECT ${contactColumns} FROM contacts
           WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id > $2::uuid) ORDER BY id LIMIT $3`,
          [tenantId, afterId ?? null, limit],
        );
        const contacts = parseRows(storedContactSchema, page.rows, 'contact');
        if (!contacts.ok) return contacts;
        const linkRows = await client.query(
          `SELECT ${linkColumns} FROM links WHERE tenant_id = $1 AND contact_id = ANY($2::uuid[])`,
          [tenantId, contacts.value.map((c) => c.id)],
        );
        const links = parseRows(linkSchema, linkRows.rows, 'link');
        if (!links.ok) return links;
        return ok(
          contacts.value.map((c) => ({ ...c, links: links.value.filter((l) => l.contactId === c.id) })),
        );
      }),

    localChangeHighWater: ({ tenantId }) =>
      guarded(async () => {
        const { rows } = await client.query(
          'SELECT coalesce(max(change_seq), 0) AS seq FROM contacts WHERE tenant_id = $1',
          [tenantId],
        );
        const parsed = parseRows(highWaterSchema, rows, 'change sequence');
        if (!parsed.ok) return parsed;
        return ok(parsed.value[0]?.seq ?? 0);
      }),

    listLocalChanges: ({ tenantId, afterSeq, upToSeq, limit, connectionId }) =>
      guarded(async () => {
        const { rows } = await client.query(localChangesSql(connectionId !== undefined), [
          tenantId,
          afterSeq,
          upToSeq,
          limit,
          ...(connectionId === undefined ? [] : [connectionId]),
        ]);
        return parseRows(storedContactSchema, rows, 'contact');
      }),

    ingestEngagementEvents: ({ tenantId, events, now }) =>
      guarded(async () => {
        const parsed = parseInput(z.array(engagementEventSchema), events);
        if (!parsed.ok) return parsed;
        const future = parsed.value.findIndex((e) => isFutureEvent(e.occurredAt, now));
        if (future >= 0)
          return err({
            kind: 'invalid_input',
            message: `${future}.occurredAt: ${parsed.value[future]?.occurredAt} ${FUTURE_EVENT}`,
          });
        const conflicting = conflictingRepeats(parsed.value);
        if (conflicting.length > 0)
          return err({
            kind: 'invalid_input',
            message: conflicting
              .map(({ index, firstIndex }) => `${index}.eventId: ${CONFLICTING_REPEAT} (${firstIndex})`)
              .join('; '),
          });
        // The first of an event id counts; a repeat in the same call is a duplicate, as one sent again later is.
        const firstOf = new Map<string, EngagementEvent>();
        for (const e of parsed.value) if (!firstOf.has(e.eventId)) firstOf.set(e.eventId, e);
        const input = [...firstOf.values()].map((e, index) => ({
          event_index: index,
          event_id: e.eventId,
          contact_id: e.contactId,
          kind: e.kind,
          occurred_at: e.occurredAt,
        }));
        const greatest = (field: string, column: string) =>
          `CASE WHEN t.${column} IS NULL THEN c.data -> '${field}'
            ELSE to_jsonb(${isoSql(`greatest((c.data ->> '${field}')::timestamptz, t.${column})`)}) END`;
        const written = await client.transaction(async (tx) => {
          await lockTenantChanges(tx, tenantId);
          // An id recorded before with another contact, type or time is another event, not a repeat: counted a
          // duplicate, that open or click would be lost. Refused, the call writing nothing.
          const clashes = await tx.query(
            `SELECT i.event_id AS "eventId"
             FROM jsonb_to_recordset($2::jsonb) AS i(event_index int, event_id text, contact_id uuid, kind text, occurred_at timestamptz)
             JOIN engagement_events e ON e.tenant_id = $1 AND e.event_id = i.event_id
             WHERE (e.contact_id, e.kind, e.occurred_at) IS DISTINCT FROM (i.contact_id, i.kind, i.occurred_at)
             ORDER BY i.event_index`,
            [tenantId, json(input)],
          );
          if (clashes.rows.length > 0) return { clashes: clashes.rows };
          return tx.query(
            `WITH input AS (
               SELECT x.* FROM jsonb_to_recordset($2::jsonb)
                 AS x(event_id text, contact_id uuid, kind text, occurred_at timestamptz)
             ), known AS (
               SELECT i.* FROM input i JOIN contacts c ON c.tenant_id = $1 AND c.id = i.contact_id
             ), inserted AS (
               INSERT INTO engagement_events (tenant_id, event_id, contact_id, kind, occurred_at, recorded_at)
               SELECT $1, event_id, contact_id, kind, occurred_at, $3 FROM known
               ON CONFLICT (tenant_id, event_id) DO NOTHING
               RETURNING event_id, contact_id, kind, occurred_at
             ), totals AS (
               SELECT contact_id,
                 count(*) FILTER (WHERE kind = 'email_open') AS opens,
                 count(*) FILTER (WHERE kind = 'email_click') AS clicks,
                 max(occurred_at) FILTER (WHERE kind = 'email_open') AS last_open,
                 max(occurred_at) FILTER (WHERE kind = 'email_click') AS last_click
               FROM inserted GROUP BY contact_id
             ), next AS (
               SELECT c.id, c.data AS old_data, c.data || jsonb_build_object(
                 'emailOpens', least((c.data ->> 'emailOpens')::bigint + t.opens, ${MAX_COUNT}),
                 'emailClicks', least((c.data ->> 'emailClicks')::bigint + t.clicks, ${MAX_COUNT}),
                 'lastOpenedAt', ${greatest('lastOpenedAt', 'last_open')},
                 'lastClickedAt', ${greatest('lastClickedAt', 'last_click')}) AS new_data
               FROM contacts c JOIN totals t ON c.tenant_id = $1 AND c.id = t.contact_id
             ), bumped AS (
               UPDATE contacts c SET data = n.new_data,
                 field_stamps = c.field_stamps || ${changedStampsSql('n.old_data', 'n.new_data', '$4::text')},
                 change_seq = nextval('local_change_seq'), updated_at = $3
               FROM next n WHERE c.tenant_id = $1 AND c.id = n.id
               RETURNING c.id
             )
             SELECT i.event_id AS "eventId",
               CASE WHEN ins.event_id IS NOT NULL THEN 'inserted'
                    WHEN k.event_id IS NOT NULL THEN 'duplicate' ELSE 'unknownContact' END AS outcome
             FROM input i
             LEFT JOIN inserted ins ON ins.event_id = i.event_id
             LEFT JOIN known k ON k.event_id = i.event_id`,
            [tenantId, json(input), now, now.toISOString()],
          );
        });
        if ('clashes' in written) {
          const clashes = parseRows(clashRowSchema, written.clashes, 'engagement clash');
          if (!clashes.ok) return clashes;
          return err({
            kind: 'conflict',
            message: clashes.value
              .map(({ eventId }) => `event ${eventId} ${RECORDED_DIFFERENTLY}`)
              .join('; '),
          });
        }
        const outcomes = parseRows(ingestRowSchema, written.rows, 'ingest outcome');
        if (!outcomes.ok) return outcomes;
        // Each list in the order the events were sent, whatever order the statement answered in.
        const outcomeOf = new Map(outcomes.value.map((o) => [o.eventId, o.outcome]));
        const lists = { inserted: [] as string[], duplicate: [] as string[], unknownContact: [] as string[] };
        const seen = new Set<string>();
        for (const { eventId } of parsed.value) {
          const first = outcomeOf.get(eventId);
          // A repeat of a counted event is a duplicate where it was sent; one of an event for no contact was
          // never counted (no duplicate), and is listed once under unknownContact.
          const outcome = !seen.has(eventId) ? first : first === 'unknownContact' ? undefined : 'duplicate';
          seen.add(eventId);
          if (outcome !== undefined) lists[outcome].push(eventId);
        }
        return ok({
          inserted: lists.inserted,
          duplicates: lists.duplicate,
          unknownContact: lists.unknownContact,
        });
      }),
  };
}
