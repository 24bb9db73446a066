import { describe, expect, it } from 'vitest';
import { loadMigrations } from '../../src/persistence/migrate.ts';
import { postgresBackend, unwrap, useBackend } from '../store/backends.ts';
import { postgresAvailable } from '../support/postgresServer.ts';

const PROCESSES = 4;

/**
 * Every `serve` and `worker` migrates the database it opens, and a deploy starts several at once on an empty or
 * older database. Each opens its own connections, as separate processes do; they queue on one advisory lock, so
 * every one of them opens, and each migration is applied once.
 */
describe.runIf(postgresAvailable('migrations at once'))(
  'several processes opening one new PostgreSQL database at once',
  () => {
    const backend = useBackend(postgresBackend);

    it('all open, and each migration is applied once', async () => {
      const database = await backend().createDatabase();
      const opened = await Promise.all(Array.from({ length: PROCESSES }, () => database.open()));
      try {
        const versions = (await loadMigrations()).map((m) => m.version);
        for (const result of opened) expect(unwrap(result).schemaVersions).toEqual(versions);
        const applied = await database.raw('SELECT version FROM schema_migrations ORDER BY version');
        expect(applied.map((row) => row.version)).toEqual(versions);
      } finally {
        for (const result of opened) if (result.ok) await result.value.close();
        await database.drop();
      }
    });
  },
);
