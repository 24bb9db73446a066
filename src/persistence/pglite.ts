import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { err, ok, type Result } from '../core/result.ts';
import { acquireDataDirLock, type DataDirLock } from './dataDirLock.ts';
import { loadMigrations, migrateRepairing } from './migrate.ts';
import { createTableUpkeep, type TableUpkeep } from './pgliteUpkeep.ts';
import type { SecretBox } from './secrets.ts';
import { type Row, type SqlClient, withSavepoint } from './sqlClient.ts';
import { createSqlStore, readDatabaseTime } from './sqlStore.ts';
import type { LockHolder, OpenError, RepairStore, StoreHandle } from './store.ts';

/** Directory of the PGlite database inside the data directory. */
export const PGLITE_SUBDIR = 'db';

type Queryable = Pick<Transaction, 'query' | 'exec'>;

function queries(db: Queryable, upkeep: TableUpkeep): Pick<SqlClient, 'query' | 'exec'> {
  return {
    async query(sql, params = []) {
      const result = await db.query<Row>(sql, [...params]);
      upkeep.noteWrite(sql, result.affectedRows ?? 0);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql) {
      await db.exec(sql);
    },
  };
}

function transactionClient(tx: Transaction, depth: number, upkeep: TableUpkeep): SqlClient {
  const client: SqlClient = {
    ...queries(tx, upkeep),
    transaction: (fn) => withSavepoint(client, depth, () => fn(transactionClient(tx, depth + 1, upkeep))),
    sessionLocks: null,
  };
  return client;
}

/** Statements and transactions at the top level are followed by the upkeep autovacuum would do. */
export function pgliteClient(db: PGlite, upkeep: TableUpkeep): SqlClient {
  const top = queries(db, upkeep);
  return {
    query: async (sql, params) => {
      const result = await top.query(sql, params);
      await upkeep.runDue();
      return result;
    },
    exec: top.exec,
    transaction: async (fn) => {
      const result = await db.transaction((tx) => fn(transactionClient(tx, 1, upkeep)));
      await upkeep.runDue();
      return result;
    },
    // One process owns the directory (see dataDirLock.ts), so leases rely on the row and on pids.
    sessionLocks: null,
  };
}

export type PgliteStoreOptions = {
  secrets: SecretBox;
  isOwnerGone: (owner: string) => boolean;
  /** Runs when a pending migration is refused, before they are tried once more (see `migrateRepairing`). */
  repair?: (store: RepairStore) => Promise<void>;
} & (
  | {
      /** In memory; gone when closed. */
      dataDir: null;
      /** Use this PGlite instead of creating one (tests that also need raw SQL). Closed with the store. */
      db?: PGlite;
    }
  | {
      /** The database lives in `<dataDir>/db`, beside the lock file. */
      dataDir: string;
      /** Who is opening the directory, written to its lock file. */
      holder: Omit<LockHolder, 'adminUrl'>;
      isPidAlive: (pid: number) => boolean;
    }
);

/**
 * `dir`, created or narrowed to its owner (0700): PGlite writes the database's files readable and writable by every
 * user (0666), and they hold every agency's contacts and sealed credentials.
 */
async function ownerOnlyDirectory(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  return dir;
}

/** Open (creating if needed) the embedded store and bring its schema up to date. */
export async function openPgliteStore(options: PgliteStoreOptions): Promise<Result<StoreHandle, OpenError>> {
  let lock: DataDirLock | null = null;
  if (options.dataDir !== null) {
    try {
      await mkdir(options.dataDir, { recursive: true });
    } catch (error) {
      return err({
        kind: 'data_dir',
        message: `cannot create data directory ${options.dataDir}: ${String(error)}`,
      });
    }
    const acquired = await acquireDataDirLock({
      dataDir: options.dataDir,
      self: options.holder,
      isPidAlive: options.isPidAlive,
    });
    if (!acquired.ok) return acquired;
    lock = acquired.value;
  }

  let db: PGlite;
  try {
    db =
      options.dataDir === null
        ? (options.db ?? (await PGlite.create()))
        : await PGlite.create(await ownerOnlyDirectory(path.join(options.dataDir, PGLITE_SUBDIR)));
  } catch (error) {
    await lock?.release();
    return err({
      kind: 'data_dir',
      message: `cannot open the database in ${options.dataDir}: ${String(error)}`,
    });
  }

  const client = pgliteClient(db, await createTableUpkeep(db));
  const store = createSqlStore({ client, secrets: options.secrets, isOwnerGone: options.isOwnerGone });
  const { repair } = options;
  const migrated = await migrateRepairing(client, await loadMigrations(), repair && (() => repair(store)));
  if (!migrated.ok) {
    await db.close();
    await lock?.release();
    return migrated;
  }

  const close = async () => {
    if (db.closed) return;
    await db.close();
    await lock?.release();
  };
  return ok({
    ...store,
    backend: 'pglite',
    databaseTime: () => readDatabaseTime(client),
    schemaVersions: migrated.value,
    publishAdminUrl: async (url) => {
      await lock?.setAdminUrl(url);
    },
    close,
    [Symbol.asyncDispose]: close,
  });
}
