import { matchKeys } from '../../core/dedup/blocking.ts';
import { toMatchRecord } from '../../core/dedup/matchRecord.ts';
import { MATCH_RECORD_VERSION, storeMatchRecord } from '../../core/dedup/storedMatchRecord.ts';
import { ok } from '../../core/result.ts';
import { storedContactSchema } from '../records.ts';
import { guarded } from '../sqlClient.ts';
import type { ContactStore } from '../store.ts';
import { parseRows, type SqlContext } from './context.ts';
import { deleteStaleKeysSql, insertMissingKeysSql } from './links.ts';

/**
 * The version of a contact's stored match record (0 when it has none), as `storeMatchRecord` writes it first.
 * Indexed with the tenant by this very expression (migration 20250616), so finding a tenant's contacts of an older
 * version is one index range, and an empty one once every contact is current.
 */
export const matchRecordVersionSql = `coalesce(substring(match_record from '^[{]"v":([0-9]+)[,}]')::int, 0)`;

const outdatedSql = `FROM contacts WHERE tenant_id = $1 AND ${matchRecordVersionSql} < $2`;

const outdatedRowSchema = storedContactSchema.pick({ id: true, contact: true });

type MatchVersionMethods = Pick<ContactStore, 'refreshMatchKeys'>;

export function matchVersionMethods(ctx: SqlContext): MatchVersionMethods {
  const { client } = ctx;

  return {
    refreshMatchKeys: ({ tenantId, limit }) =>
      guarded(async () => {
        // The common answer (every contact current) costs one probe of the index and no transaction.
        const probe = await client.query(`SELECT 1 ${outdatedSql} LIMIT 1`, [tenantId, MATCH_RECORD_VERSION]);
        if (probe.rows.length === 0) return ok({ refreshed: 0 });
        return client.transaction(async (tx) => {
          // Locked, so a writer of one of these contacts waits and then writes its own record and keys; a row
          // another process refreshed meanwhile is current when its lock is granted and is left out (Postgres
          // checks the condition again), so two processes never compute one contact twice.
          const { rows } = await tx.query(`SELECT id, data AS contact ${outdatedSql} LIMIT $3 FOR UPDATE`, [
            tenantId,
            MATCH_RECORD_VERSION,
            limit,
          ]);
          const parsed = parseRows(outdatedRowSchema, rows, 'contact');
          if (!parsed.ok) return parsed;
          const records = parsed.value.map(({ id, contact }) => toMatchRecord(id, contact));
          const ids = records.map((r) => r.id);
          const pairs = records.flatMap((r) => matchKeys(r).map((key) => ({ key, contactId: r.id })));
          // The document is unchanged, so its change number and field stamps are too: nothing to sync.
          await tx.query(
            `UPDATE contacts c SET match_record = x.match_record
             FROM unnest($2::uuid[], $3::text[]) AS x(id, match_record)
             WHERE c.tenant_id = $1 AND c.id = x.id`,
            [tenantId, ids, records.map(storeMatchRecord)],
          );
          const keys = pairs.map((p) => p.key);
          const holders = pairs.map((p) => p.contactId);
          await tx.query(deleteStaleKeysSql, [tenantId, ids, keys, holders]);
          await tx.query(insertMissingKeysSql, [tenantId, keys, holders, ids]);
          return ok({ refreshed: records.length });
        });
      }),
  };
}
