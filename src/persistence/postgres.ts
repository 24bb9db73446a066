import pg from 'pg';
import { err, ok, type Result } from '../core/result.ts';
import { loadMigrations, migrateRepairing } from './migrate.ts';
import type { SecretBox } from './secrets.ts';
import { type QueryOptions, type SessionLocks, type SqlClient, withSavepoint } from './sqlClient.ts';
import { createSqlStore, readDatabaseTime } from './sqlStore.ts';
import type { OpenError, RepairStore, StoreHandle } from './store.ts';

export interface PostgresStoreOptions {
  /** `postgres://` URL (DATABASE_URL). */
  url: string;
  secrets: SecretBox;
  isOwnerGone: (owner: string) => boolean;
  /** Pool size; default 10. */
  maxConnections?: number;
  /** How long to wait for a connection before reporting the server unreachable; default 5000 ms. */
  connectTimeoutMs?: number;
  /** How long a statement may run or wait, and a transaction sit idle, before the server ends it; default 60 s. */
  statementTimeoutMs?: number;
  /** Runs when a pending migration is refused, before they are tried once more (see `migrateRepairing`). */
  repair?: (store: RepairStore) => Promise<void>;
}

/** `host:port/database` of a URL, without user or password, for messages. */
function describeTarget(url: URL): string {
  return `${url.hostname || 'localhost'}:${url.port || '5432'}${url.pathname}`;
}

// A statement that runs, or waits (on a row another transaction holds, on a table an operator's DDL locks), this
// long is cancelled by the server, and a transaction left idle this long (its process paused) is ended: the run
// fails as the database unavailable and retries after a backoff, instead of holding its run, and with renewals going
// on its lease, until the process restarts. A cycle's statements each work on one page.
const DEFAULT_STATEMENT_TIMEOUT_MS = 60_000;
// The client's own limit, past the server's so that the server's cancel normally comes first: it bounds what the
// server cannot see, a connection whose network went silent without a reset, which TCP notices only after minutes.
export const READ_TIMEOUT_MARGIN_MS = 10_000;
// pg's wording when `query_timeout` passes; the statement may still be running on the server.
const readTimeoutMessage = 'Query read timeout';
// The longest a timer waits (2^31 - 1 ms, some 25 days): pg has no per-statement way to turn its read limit off.
const LONGEST_TIMER_MS = 2_147_483_647;

/** Set once a transaction's connection can no longer be used: reset under it, or a statement left unanswered. */
interface Breakage {
  error?: Error;
}

/** A statement as pg takes it; one that waits for a lock's holder without the read limit (`QueryOptions`). */
function statementOf(
  sql: string,
  params: readonly unknown[] | undefined,
  options: QueryOptions,
): pg.QueryConfig & { query_timeout?: number } {
  const statement = { text: sql, values: [...(params ?? [])] };
  // Given up on, a wait would also leave its server backend queued on the lock until the holder commits.
  return options.waitsForHolder ? { ...statement, query_timeout: LONGEST_TIMER_MS } : statement;
}

/**
 * One statement on a checked-out connection. A statement whose answer did not come in time leaves the connection
 * busy until it does, if ever: nothing more is sent on it (a ROLLBACK would only wait as long again).
 */
async function sendOn(
  conn: pg.PoolClient,
  broken: Breakage,
  sql: string,
  params?: readonly unknown[],
  options: QueryOptions = {},
) {
  if (broken.error !== undefined) throw broken.error;
  try {
    return await conn.query(statementOf(sql, params, options));
  } catch (error) {
    if (error instanceof Error && error.message === readTimeoutMessage) broken.error = error;
    throw error;
  }
}

function transactionClient(conn: pg.PoolClient, broken: Breakage, depth: number): SqlClient {
  const client: SqlClient = {
    async query(sql, params = [], options = {}) {
      const result = await sendOn(conn, broken, sql, params, options);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    },
    async exec(sql) {
      await sendOn(conn, broken, sql);
    },
    transaction: (fn) => withSavepoint(client, depth, () => fn(transactionClient(conn, broken, depth + 1))),
    sessionLocks: null,
  };
  return client;
}

function poolClient(pool: pg.Pool, sessionLocks: SessionLocks): SqlClient {
  return {
    async query(sql, params = [], options = {}) {
      const result = await pool.query(statementOf(sql, params, options));
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async transaction(fn) {
      const conn = await pool.connect();
      const broken: Breakage = {};
      // pg-pool drops its own listener while a client is checked out: without one, a connection reset
      // mid-transaction is an unhandled 'error' event that ends the process. The query under way
      // rejects with the same error, so here it only marks the client as not to be reused.
      const onError = (error: Error) => {
        broken.error = error;
      };
      conn.on('error', onError);
      try {
        await sendOn(conn, broken, 'BEGIN');
        const result = await fn(transactionClient(conn, broken, 1));
        await sendOn(conn, broken, 'COMMIT');
        return result;
      } catch (error) {
        await sendOn(conn, broken, 'ROLLBACK').catch((rollbackError: Error) => {
          broken.error = rollbackError;
        });
        throw error;
      } finally {
        conn.off('error', onError);
        // A connection that failed or could not roll back is dropped, not returned to the pool.
        conn.release(broken.error);
      }
    },
    sessionLocks,
  };
}

/**
 * Advisory locks on one dedicated session per process: when the process dies its connection drops,
 * the server releases every lock it held, and a run asked for directly (`crm-sync sync`, Sync now) may take over
 * its leases at once. The schedulers do not: they select only connections without a live lease, so a dead
 * worker's connections wait for their leases to expire (60 s). The session also ends under a live process (a
 * restart, a failover, a dropped connection, a statement not answered within `config.query_timeout`): `lost` tells
 * the runs holding its locks, which stop at once.
 */
export function dedicatedSessionLocks(config: pg.ClientConfig): SessionLocks & { end(): Promise<void> } {
  let session: Promise<{ client: pg.Client; lost: AbortSignal; drop: () => void }> | null = null;
  // The keys locked here, each with the signal of the session that took it.
  const held = new Map<string, AbortSignal>();
  // Leases are taken concurrently but the session is one connection: its statements go one at a
  // time (pg@8 warns on overlapping queries and pg@9 refuses them).
  let queue: Promise<unknown> = Promise.resolve();
  const connect = () => {
    const opening = (async () => {
      // TCP keepalive: a session a NAT or firewall drops silently is noticed within minutes, not when the server
      // reaps it (hours later, the locks then free while this process still believes it holds them).
      const client = new pg.Client({ ...config, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
      const lost = new AbortController();
      // A dropped session has lost its locks: their holders are told, and the next call opens a new session.
      const drop = () => {
        lost.abort();
        if (session === opening) session = null;
      };
      client.on('error', drop);
      client.on('end', drop);
      await client.connect();
      return { client, lost: lost.signal, drop };
    })().catch((error: unknown) => {
      if (session === opening) session = null;
      throw error;
    });
    session = opening;
    return opening;
  };
  let ended = false;
  const query = (sql: string, key: string) => {
    // As with the pool, a call after `end()` is a bug, and it must not open a session nobody ends.
    if (ended) return Promise.reject(new Error('the session lock connection has been ended'));
    const result = queue.then(async () => {
      const { client, lost, drop } = await (session ?? connect());
      try {
        return { rows: (await client.query(sql, [key])).rows, lost };
      } catch (error) {
        // Not answered within `query_timeout` (its network gone silent): whether it ran is unknown, and so is every
        // lock of the session. Its holders are told as for a dropped session, and the next call opens a new one.
        if (error instanceof Error && error.message === readTimeoutMessage) {
          drop();
          void client.end().catch(() => undefined);
        }
        throw error;
      }
    });
    queue = result.catch(() => undefined);
    return result;
  };
  return {
    async tryLock(key) {
      const { rows, lost } = await query(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
        key,
      );
      if (rows[0]?.locked !== true) return false;
      held.set(key, lost);
      return true;
    },
    async unlock(key) {
      held.delete(key);
      await query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', key);
    },
    lost: (key) => held.get(key) ?? null,
    async end() {
      ended = true;
      await queue;
      const current = session;
      session = null;
      if (current !== null) await (await current.catch(() => null))?.client.end();
    },
  };
}

function connectError(error: unknown, target: string): OpenError {
  const { code, message } = error as { code?: string; message?: string };
  if (code === '28P01' || code === '28000') {
    return {
      kind: 'auth_failed',
      message: `Postgres at ${target} refused the credentials in DATABASE_URL (${code})`,
    };
  }
  if (code === '3D000') return { kind: 'unreachable', message: `Postgres at ${target}: ${message}` };
  const reason = code ?? message ?? String(error);
  return { kind: 'unreachable', message: `cannot reach Postgres at ${target} (${reason})` };
}

/** Connect to a Postgres server, check it answers, and bring its schema up to date. */
export async function openPostgresStore(
  options: PostgresStoreOptions,
): Promise<Result<StoreHandle, OpenError>> {
  const url = URL.canParse(options.url) ? new URL(options.url) : null;
  if (url === null || !/^postgres(ql)?:$/.test(url.protocol)) {
    return err({
      kind: 'bad_connection_string',
      message: 'DATABASE_URL is not a postgres:// URL (expected postgres://user:password@host:5432/database)',
    });
  }
  const target = describeTarget(url);
  const config: pg.ClientConfig = {
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
  };
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const readTimeoutMs = statementTimeoutMs + READ_TIMEOUT_MARGIN_MS;
  const pool = new pg.Pool({
    ...config,
    max: options.maxConnections ?? 10,
    // Set by a statement on each new connection before the pool hands it out, not as startup parameters: a pooler in
    // front of the server (PgBouncer, a managed provider's pooled URL) refuses a startup parameter it does not know.
    onConnect: async (conn) => {
      await conn.query(
        "SELECT set_config('statement_timeout', $1, false), set_config('idle_in_transaction_session_timeout', $1, false)",
        [String(statementTimeoutMs)],
      );
    },
    query_timeout: readTimeoutMs,
    // As the lock session: an idle pooled connection whose network went silent is noticed in minutes.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // Idle clients that lose their server emit here; the pool replaces them, the next query reports.
  pool.on('error', () => {});
  const locks = dedicatedSessionLocks({
    ...config,
    query_timeout: readTimeoutMs,
  });
  let ended = false;
  const shutdown = async () => {
    if (ended) return;
    ended = true;
    await locks.end();
    await pool.end();
  };

  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await shutdown();
    return err(connectError(error, target));
  }

  const client = poolClient(pool, locks);
  const store = createSqlStore({ client, secrets: options.secrets, isOwnerGone: options.isOwnerGone });
  const { repair } = options;
  // Migrations go on a connection of their own, without the limits: one may rebuild an index of a large table, and a
  // worker starting beside another waits for the other's migrations to end.
  const migrationPool = new pg.Pool({ ...config, max: 1 });
  migrationPool.on('error', () => {});
  const migrated = await migrateRepairing(
    poolClient(migrationPool, locks),
    await loadMigrations(),
    repair && (() => repair(store)),
  ).finally(() => migrationPool.end());
  if (!migrated.ok) {
    await shutdown();
    return migrated;
  }
  return ok({
    ...store,
    backend: 'postgres',
    databaseTime: () => readDatabaseTime(client),
    schemaVersions: migrated.value,
    publishAdminUrl: async () => {},
    close: shutdown,
    [Symbol.asyncDispose]: shutdown,
  });
}
