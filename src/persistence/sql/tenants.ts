import { err, ok } from '../../core/result.ts';
import { isStorableText } from '../../core/storableText.ts';
import {
  connectionInputSchema,
  connectionSchema,
  credentialsSchema,
  tenantInputSchema,
  tenantSchema,
} from '../records.ts';
import { guarded } from '../sqlClient.ts';
import type { ConnectionRef, TenantStore } from '../store.ts';
import { json, parseInput, parseOne, parseRows, type SqlContext } from './context.ts';

const tenantColumns = `id, name, sync_interval_seconds AS "syncIntervalSeconds", settings,
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Connection columns without the sealed credentials, which never leave through these reads. */
export const connectionSelect = `SELECT c.id, c.tenant_id AS "tenantId", c.provider, c.base_url AS "baseUrl",
  c.enabled, c.sync_interval_seconds AS "syncIntervalSeconds",
  coalesce(c.sync_interval_seconds, t.sync_interval_seconds) AS "effectiveIntervalSeconds",
  c.next_run_at AS "nextRunAt",
  CASE WHEN c.lease_owner IS NULL THEN NULL ELSE jsonb_build_object(
    'owner', c.lease_owner, 'expiresAt', c.lease_expires_at, 'heartbeatAt', c.lease_heartbeat_at) END AS lease,
  c.cursor, c.local_cursor AS "localCursor", c.cursor_committed_at AS "cursorCommittedAt",
  c.credentials_set_at AS "credentialsSetAt", c.created_at AS "createdAt", c.updated_at AS "updatedAt"
  FROM connections c JOIN tenants t ON t.id = c.tenant_id`;

const nameTaken = (name: string) =>
  `a tenant named "${name}" already exists (names are compared ignoring letter case)`;

/** A name as tenants_name_folded_idx compares names: lower case, with Greek's final sigma as σ. */
const foldedName = (sql: string) => `replace(lower(${sql}), 'ς', 'σ')`;

/** Associated data for the credentials cipher: a sealed value only opens on its own row. */
const credentialsContext = (ref: ConnectionRef) => `connection:${ref.tenantId}:${ref.connectionId}`;

const oneIntervalSql =
  '$1::timestamptz + make_interval(secs => coalesce(c.sync_interval_seconds, t.sync_interval_seconds))';

/**
 * Machines in backoff, with the latest resume they may have at `$1` (`bound`): their own wait (`resumeAt` less
 * the failure's `at`, a Retry-After honoured within it), or for a daily quota spent the next UTC midnight. One
 * whose run holds a live lease is its run's to schedule.
 */
const backoffBoundsSql = `SELECT c.id,
    CASE WHEN s.snapshot #>> '{context,lastError,kind}' = 'quota_exhausted'
      THEN (date_trunc('day', $1::timestamptz AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC'
      ELSE $1::timestamptz + ((s.snapshot #>> '{context,resumeAt}')::timestamptz
        - (s.snapshot #>> '{context,lastError,at}')::timestamptz)
    END AS bound
  FROM machine_snapshots s JOIN connections c ON c.id = s.connection_id
  WHERE s.state_value = '"backoff"'::jsonb AND c.enabled AND (c.lease_owner IS NULL OR c.lease_expires_at <= $1)`;

export function tenantMethods(ctx: SqlContext): TenantStore {
  const { client } = ctx;

  const getConnection: TenantStore['getConnection'] = (ref) =>
    guarded(async () => {
      const { rows } = await client.query(`${connectionSelect} WHERE c.tenant_id = $1 AND c.id = $2`, [
        ref.tenantId,
        ref.connectionId,
      ]);
      return parseOne(connectionSchema, rows, `connection ${ref.connectionId}`);
    });

  /** Apply an update to one connection of one tenant and read it back. */
  const updateConnection = (ref: ConnectionRef, set: string, params: unknown[]) =>
    guarded(async () => {
      const { rowCount } = await client.query(
        `UPDATE connections SET ${set}, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
        [ref.tenantId, ref.connectionId, ...params],
      );
      if (rowCount === 0) return parseOne(connectionSchema, [], `connection ${ref.connectionId}`);
      return getConnection(ref);
    });

  /**
   * The name of another tenant (than `exceptId`) that `name` would be taken for, as that tenant spells it.
   * Compared as tenants_name_folded_idx compares, and in NFC as 20250613000000 stores names (a database whose
   * migrations are refused may hold names in neither).
   */
  const nameHeldBy = async (name: string, exceptId: string | null): Promise<string | null> => {
    const { rows } = await client.query(
      `SELECT name FROM tenants WHERE id IS DISTINCT FROM $1
         AND ${foldedName('normalize(name, NFC)')} = ${foldedName('$2')} LIMIT 1`,
      [exceptId, name],
    );
    const [clash] = rows;
    return clash === undefined ? null : String(clash.name);
  };

  return {
    createTenant: (input) =>
      guarded(
        async () => {
          const parsed = parseInput(tenantInputSchema, input);
          if (!parsed.ok) return parsed;
          const { name, syncIntervalSeconds, settings } = parsed.value;
          // Named as the tenant holding it spells it; the index still refuses a create racing this one.
          const clash = await nameHeldBy(name, null);
          if (clash !== null) return err({ kind: 'conflict', message: nameTaken(clash) });
          const { rows } = await client.query(
            `INSERT INTO tenants (id, name, sync_interval_seconds, settings, created_at, updated_at)
             VALUES ($1, $2, $3, $4::jsonb, now(), now()) RETURNING ${tenantColumns}`,
            [ctx.newId(), name, syncIntervalSeconds, json(settings)],
          );
          return parseOne(tenantSchema, rows, 'tenant');
        },
        { conflict: nameTaken(input.name) },
      ),

    getTenant: ({ tenantId }) =>
      guarded(async () => {
        const { rows } = await client.query(`SELECT ${tenantColumns} FROM tenants WHERE id = $1`, [tenantId]);
        return parseOne(tenantSchema, rows, `tenant ${tenantId}`);
      }),

    getTenantByName: ({ name }) =>
      guarded(async () => {
        // No tenant has a name the store cannot hold, and asking for one would fail the statement.
        if (!isStorableText(name)) return err({ kind: 'not_found', message: `tenant "${name}" not found` });
        const wanted = name.normalize('NFC');
        // As names are kept unique: ignoring letter case (tenants_name_folded_idx), in NFC. Before that index is
        // made (a database its migration refuses) several may match: the one spelled as asked comes first.
        const { rows } = await client.query(
          `SELECT ${tenantColumns} FROM tenants WHERE ${foldedName('name')} = ${foldedName('$1')}
           ORDER BY name = $1 DESC`,
          [wanted],
        );
        const found = parseRows(tenantSchema, rows, 'tenant');
        if (!found.ok) return found;
        const [first, second] = found.value;
        if (first === undefined) return err({ kind: 'not_found', message: `tenant "${name}" not found` });
        if (second === undefined || first.name === wanted) return ok(first);
        const alike = found.value.map((t) => `"${t.name}"`).sort();
        return err({
          kind: 'conflict',
          message: `"${name}" names ${alike.length} tenants alike but for letter case (${alike.join(', ')}): name one as it is spelled`,
        });
      }),

    listTenants: () =>
      guarded(async () => {
        const { rows } = await client.query(
          `SELECT ${tenantColumns} FROM tenants ORDER BY ${foldedName('name')}`,
        );
        return parseRows(tenantSchema, rows, 'tenant');
      }),

    setTenantInterval: ({ tenantId, syncIntervalSeconds }) =>
      guarded(async () => {
        const parsed = parseInput(tenantInputSchema.shape.syncIntervalSeconds, syncIntervalSeconds);
        if (!parsed.ok) return parsed;
        const { rows } = await client.query(
          `UPDATE tenants SET sync_interval_seconds = $2, updated_at = now() WHERE id = $1 RETURNING ${tenantColumns}`,
          [tenantId, parsed.value],
        );
        return parseOne(tenantSchema, rows, `tenant ${tenantId}`);
      }),

    renameTenant: ({ tenantId, name }) =>
      guarded(
        async () => {
          // Parsed as a field, so a refusal names it (`name: …`), as `createTenant`'s does.
          const parsed = parseInput(tenantInputSchema.pick({ name: true }), { name });
          if (!parsed.ok) return parsed;
          const wanted = parsed.value.name;
          // On a database whose migrations are refused, where renaming is the way on, only this check keeps names
          // apart. Where they have been applied, the index also refuses a rename racing this one.
          const clash = await nameHeldBy(wanted, tenantId);
          if (clash !== null) return err({ kind: 'conflict', message: nameTaken(clash) });
          const { rows } = await client.query(
            `UPDATE tenants SET name = $2, updated_at = now() WHERE id = $1 RETURNING ${tenantColumns}`,
            [tenantId, wanted],
          );
          return parseOne(tenantSchema, rows, `tenant ${tenantId}`);
        },
        { conflict: nameTaken(name) },
      ),

    addConnection: (input) =>
      guarded(
        async () => {
          const parsed = parseInput(connectionInputSchema, input);
          if (!parsed.ok) return parsed;
          const value = parsed.value;
          const ref = { tenantId: value.tenantId, connectionId: ctx.newId() };
          const sealed = ctx.secrets.encrypt(JSON.stringify(value.credentials), credentialsContext(ref));
          await client.query(
            `INSERT INTO connections (id, tenant_id, provider, base_url, credentials_sealed, enabled,
               sync_interval_seconds, next_run_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now())`,
            [
              ref.connectionId,
              ref.tenantId,
              value.provider,
              value.baseUrl,
              sealed,
              value.enabled,
              value.syncIntervalSeconds,
              value.nextRunAt,
            ],
          );
          return getConnection(ref);
        },
        {
          conflict: `tenant ${input.tenantId} already has a ${input.provider} connection`,
          not_found: `tenant ${input.tenantId} not found`,
        },
      ),

    getConnection,

    listConnections: ({ tenantId }) =>
      guarded(async () => {
        const { rows } = await client.query(
          `${connectionSelect} WHERE c.tenant_id = $1 ORDER BY c.provider`,
          [tenantId],
        );
        return parseRows(connectionSchema, rows, 'connection');
      }),

    getConnectionCredentials: (ref) =>
      guarded(async () => {
        const { rows } = await client.query(
          'SELECT credentials_sealed AS sealed FROM connections WHERE tenant_id = $1 AND id = $2',
          [ref.tenantId, ref.connectionId],
        );
        const [row] = rows;
        if (row === undefined) return parseOne(credentialsSchema, [], `connection ${ref.connectionId}`);
        const opened = ctx.secrets.decrypt(String(row.sealed), credentialsContext(ref));
        if (!opened.ok) return err({ kind: 'decrypt_failed', message: opened.error.message });
        return parseOne(credentialsSchema, [JSON.parse(opened.value)], 'credentials');
      }),

    setConnectionCredentials: async (ref) => {
      const parsed = parseInput(credentialsSchema, ref.credentials);
      if (!parsed.ok) return parsed;
      const sealed = ctx.secrets.encrypt(JSON.stringify(parsed.value), credentialsContext(ref));
      // A machine stopped because the CRM refused the credentials is resumed by its next run
      // (`credentialsSetAt`): make that the next tick rather than up to an interval away. Keep in step with the
      // context's `errorReason`, set only in `error`; no other machine is moved (nothing resumes it).
      const updated = await updateConnection(
        ref,
        `credentials_sealed = $3, credentials_set_at = now(),
         next_run_at = CASE WHEN EXISTS (SELECT 1 FROM machine_snapshots s WHERE s.connection_id = connections.id
             AND s.snapshot #>> '{context,errorReason}' = 'auth_failed')
           THEN least(next_run_at, now()) ELSE next_run_at END`,
        [sealed],
      );
      return updated.ok ? ok(undefined) : updated;
    },

    // Compared at the millisecond the caller read it at (a `Date`), not at the column's microsecond.
    restampCredentials: (ref) =>
      guarded(async () => {
        await client.query(
          `UPDATE connections SET credentials_set_at = now(), next_run_at = least(next_run_at, now())
           WHERE tenant_id = $1 AND id = $2 AND date_trunc('milliseconds', credentials_set_at) = $3`,
          [ref.tenantId, ref.connectionId, ref.setAt],
        );
        return ok(undefined);
      }),

    setConnectionEnabled: (ref) => updateConnection(ref, 'enabled = $3', [ref.enabled]),

    setConnectionBaseUrl: (ref) => {
      // Parsed as a field, so a refusal names it (`baseUrl: must be https: …`), as `addConnection`'s does.
      const parsed = parseInput(connectionInputSchema.pick({ baseUrl: true }), { baseUrl: ref.baseUrl });
      if (!parsed.ok) return Promise.resolve(parsed);
      return updateConnection(ref, 'base_url = $3', [parsed.value.baseUrl]);
    },

    setConnectionInterval: (ref) => {
      const parsed = parseInput(connectionInputSchema.shape.syncIntervalSeconds, ref.syncIntervalSeconds);
      if (!parsed.ok) return Promise.resolve(parsed);
      return updateConnection(ref, 'sync_interval_seconds = $3', [parsed.value]);
    },

    setNextRun: async (ref) => {
      const updated = await updateConnection(ref, 'next_run_at = $3', [ref.nextRunAt]);
      return updated.ok ? ok(undefined) : updated;
    },

    listDueConnections: ({ now, leasesAt, limit }) =>
      guarded(async () => {
        const { rows } = await client.query(
          `${connectionSelect}
           WHERE c.enabled AND c.next_run_at <= $1 AND (c.lease_owner IS NULL OR c.lease_expires_at <= $3)
           ORDER BY c.next_run_at LIMIT $2`,
          [now, limit, leasesAt ?? now],
        );
        return parseRows(connectionSchema, rows, 'connection');
      }),

    boundNextRuns: ({ now }) =>
      guarded(async () => {
        // Two parts on disjoint connections, so that a tick reads only the snapshots of machines in backoff.
        const { rows } = await client.query(
          `WITH intervals AS (
               UPDATE connections c SET next_run_at = ${oneIntervalSql}, updated_at = now()
               FROM tenants t
               WHERE t.id = c.tenant_id AND c.enabled AND c.next_run_at > ${oneIntervalSql}
                 AND NOT EXISTS (SELECT 1 FROM machine_snapshots s
                                 WHERE s.connection_id = c.id AND s.state_value = '"backoff"'::jsonb)
               RETURNING 1),
             backoffs AS (${backoffBoundsSql}),
             resumed AS (
               -- The failure is dated now with it: dated as it was (after now, the clock stepped back), the wait
               -- read at the next tick (resumeAt less its date) was shorter by the step, and each tick brought the
               -- backoff in again until it was over within minutes, a Retry-After of hours with it.
               UPDATE machine_snapshots s
                 SET snapshot = jsonb_set(jsonb_set(s.snapshot, '{context,resumeAt}',
                   to_jsonb(to_char(b.bound AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
                   '{context,lastError,at}',
                   to_jsonb(to_char($1::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
               FROM backoffs b
               WHERE s.connection_id = b.id AND (s.snapshot #>> '{context,resumeAt}')::timestamptz > b.bound),
             waits AS (
               UPDATE connections c SET next_run_at = b.bound, updated_at = now()
               FROM backoffs b WHERE c.id = b.id AND c.next_run_at > b.bound RETURNING 1)
           SELECT (SELECT count(*) FROM intervals)::int + (SELECT count(*) FROM waits)::int AS moved`,
          [now],
        );
        return ok(Number(rows[0]?.moved ?? 0));
      }),
  };
}
