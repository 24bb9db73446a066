import { err, type Result } from '../core/result.ts';
import type { StoreError } from './store.ts';

/** A row as the driver returns it; always parsed by a zod schema before use. */
export type Row = Record<string, unknown>;

/** A session-level lock held until released or until the holder's database session ends. */
export interface SessionLocks {
  /** `true` when taken (re-entrant within this process), `false` when another session holds it. */
  tryLock(key: string): Promise<boolean>;
  unlock(key: string): Promise<void>;
  /**
   * For a lock this process took, a signal aborted once the session holding it ends (a server restart or
   * failover, a dropped connection): the lock went with it, and another process may now take what it guarded.
   * `null` for a key this process does not hold.
   */
  lost(key: string): AbortSignal | null;
}

/** How one statement is run. */
export interface QueryOptions {
  /**
   * It waits for another writer for as long as that one holds a lock (a `contact import` its whole file, each of its
   * own statements within the limits): on PostgreSQL it has no read limit of its own. A connection that dies
   * meanwhile is still noticed (TCP keepalive).
   */
  waitsForHolder?: boolean;
}

/** The little the SQL store needs from a driver; PGlite and pg each implement it. */
export interface SqlClient {
  /** One parameterised statement. */
  query(
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<{ rows: Row[]; rowCount: number }>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Run `fn` in a transaction; inside one, runs `fn` in the same transaction. */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  /** Advisory locks tied to the process's database session; `null` where every user shares one process (PGlite). */
  readonly sessionLocks: SessionLocks | null;
}

type PlainKind = 'conflict' | 'not_found' | 'invalid_input';

const sqlStateKinds: Record<string, PlainKind> = {
  '23505': 'conflict',
  '23503': 'not_found',
  '23514': 'invalid_input',
  '23502': 'invalid_input',
  '22P02': 'invalid_input',
  '22007': 'invalid_input',
  '22008': 'invalid_input',
  '22003': 'invalid_input',
};

/**
 * A transaction nested in another runs under a savepoint, so a failing inner part rolls back alone
 * and the outer transaction can still commit or roll back as a whole.
 */
export async function withSavepoint<T>(tx: SqlClient, depth: number, fn: () => Promise<T>): Promise<T> {
  const name = `crm_sync_sp_${depth}`;
  await tx.query(`SAVEPOINT ${name}`);
  try {
    const result = await fn();
    await tx.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (error) {
    await tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
    throw error;
  }
}

// The connection went, or could not be made: the socket, the server restarting (57P01 admin shutdown,
// 57P02 crash shutdown, 57P03 starting up or shutting down, 57P05 idle session timeout), every slot
// taken (53300). Or it did not answer in time: a statement cancelled (57014: the statement timeout, or an
// operator's cancel), a transaction ended idle (25P03), pg's own read timeout. The next attempt may well
// succeed, so these are `unavailable`, never bugs.
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
// 40P01 and 40001: a deadlock or serialization failure broken by the server, which a retry gets past.
const unavailableSqlStates = new Set([
  '57P01',
  '57P02',
  '57P03',
  '57P05',
  '53300',
  '57014',
  '25P03',
  '40P01',
  '40001',
]);
// pg and pg-pool raise these without a code: a socket that ended, a pool that could not connect in time, a
// statement not answered in time.
const unavailableMessage =
  /Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Query read timeout|PGlite is closed/i;

/** Map a driver error to an expected store failure, or `null` when it is a bug to be thrown. */
export function classifyDbError(error: unknown): StoreError | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, message, detail } = error as { code?: unknown; message?: unknown; detail?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  if (typeof code === 'string') {
    const kind = sqlStateKinds[code];
    if (kind !== undefined) {
      const extra = typeof detail === 'string' && kind !== 'invalid_input' ? ` (${detail})` : '';
      return { kind, message: `${text}${extra}` };
    }
    if (code.startsWith('08') || unavailableSqlStates.has(code) || networkCodes.has(code)) {
      return { kind: 'unavailable', message: `database unavailable: ${text}` };
    }
  }
  if (unavailableMessage.test(text)) {
    return { kind: 'unavailable', message: `database unavailable: ${text}` };
  }
  return null;
}

/**
 * Run a store operation, turning expected driver errors into `err` values; `messages` replaces the
 * driver's wording for a kind with one the caller can act on.
 */
export async function guarded<T>(
  op: () => Promise<Result<T, StoreError>>,
  messages: Partial<Record<PlainKind, string>> = {},
): Promise<Result<T, StoreError>> {
  try {
    return await op();
  } catch (error) {
    const known = classifyDbError(error);
    if (known === null) throw error;
    const message =
      known.kind === 'conflict' || known.kind === 'not_found' || known.kind === 'invalid_input'
        ? messages[known.kind]
        : undefined;
    return err(message === undefined ? known : { ...known, message });
  }
}
