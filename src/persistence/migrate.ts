import { readdir, readFile } from 'node:fs/promises';
import { err, ok, type Result } from '../core/result.ts';
import type { SqlClient } from './sqlClient.ts';
import type { OpenError } from './store.ts';

/** One versioned migration file: `migrations/<yyyymmddhhmmss>_<name>.sql`. */
export interface Migration {
  version: string;
  name: string;
  sql: string;
  /** What to do when the database refuses it, told to the operator: its `-- remedy: …` line; `null` without one. */
  remedy: string | null;
}

const fileName = /^(\d{14})_([a-z0-9_]+)\.sql$/;
const remedyLine = /^-- remedy: (.+)$/m;
const migrationsDir = new URL('./migrations/', import.meta.url);

/** The migrations shipped with this version, oldest first. */
export async function loadMigrations(dir: URL = migrationsDir): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => fileName.test(f)).sort();
  // Two files of one version: a database that has the one applied would be sent the other's INSERT, refused.
  const versions = files.map((file) => file.slice(0, 14));
  const shared = versions.find((version, i) => versions.indexOf(version) !== i);
  if (shared !== undefined)
    throw new Error(`two migration files share version ${shared}: give the newer one its own`);
  return Promise.all(
    files.map(async (file) => {
      const [, version = '', name = ''] = fileName.exec(file) ?? [];
      const sql = await readFile(new URL(file, dir), 'utf8');
      return { version, name, sql, remedy: remedyLine.exec(sql)?.[1] ?? null };
    }),
  );
}

/**
 * Apply pending migrations in one transaction, recording each in `schema_migrations`. Idempotent,
 * and safe when several workers start at once (they queue on an advisory lock). Refuses a database
 * that holds a version this code does not know: a newer crm-sync wrote it.
 */
export async function migrate(
  client: SqlClient,
  migrations: readonly Migration[],
): Promise<Result<string[], Extract<OpenError, { kind: 'schema_too_new' | 'migration_failed' }>>> {
  // Set by the migration whose statement threw, read once the transaction has rolled back.
  const failed: { at?: { migration: Migration; error: unknown } } = {};
  try {
    return await client.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', ['crm-sync:migrate']);
      await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
      const { rows } = await tx.query('SELECT version FROM schema_migrations ORDER BY version');
      const applied = rows.map((row) => String(row.version));
      const known = new Set(migrations.map((m) => m.version));
      const unknown = applied.filter((v) => !known.has(v));
      if (unknown.length > 0) {
        const latest = migrations.at(-1)?.version ?? 'none';
        return err({
          kind: 'schema_too_new',
          message: `the database has schema version ${unknown.at(-1)}, which this crm-sync does not know (it knows up to ${latest}): it was written by a newer crm-sync; upgrade crm-sync to open it`,
        });
      }
      for (const migration of migrations) {
        if (applied.includes(migration.version)) continue;
        try {
          await tx.exec(migration.sql);
        } catch (error) {
          failed.at = { migration, error };
          throw error;
        }
        await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
      }
      return ok(migrations.map((m) => m.version));
    });
  } catch (error) {
    // The database refused a migration's statement (a row an earlier version allowed): the transaction rolled back,
    // so the version that wrote the database still opens it. Anything else (the connection lost) stays a throw.
    if (failed.at === undefined || !isDatabaseError(failed.at.error)) throw error;
    const { migration, error: cause } = failed.at;
    const detail = cause.detail ? ` (${cause.detail})` : '';
    const file = `${migration.version}_${migration.name}`;
    const remedy = migration.remedy ?? `src/persistence/migrations/${file}.sql says what to change first`;
    return err({
      kind: 'migration_failed',
      message: `cannot upgrade the database to this crm-sync: migration ${file} failed: ${cause.message}${detail}; nothing was changed, and the crm-sync that wrote it still opens it; ${remedy}`,
    });
  }
}

/**
 * `migrate`, and when a migration is refused and there is a `repair`: runs it (its own statements on the schema
 * as it is, kept whatever follows), then tries the migrations once more.
 */
export async function migrateRepairing(
  client: SqlClient,
  migrations: readonly Migration[],
  repair: (() => Promise<void>) | undefined,
): ReturnType<typeof migrate> {
  const migrated = await migrate(client, migrations);
  if (migrated.ok || migrated.error.kind !== 'migration_failed' || repair === undefined) return migrated;
  await repair();
  return migrate(client, migrations);
}

/** An error the database server answered with (pg's and PGlite's `DatabaseError`: a severity and an SQLSTATE). */
function isDatabaseError(error: unknown): error is Error & { code: string; detail?: string } {
  return (
    error instanceof Error && 'severity' in error && typeof (error as { code?: unknown }).code === 'string'
  );
}
