import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { postgresAvailable } from '../support/postgresServer.ts';
import {
  type Backend,
  pgliteBackend,
  postgresBackend,
  type TestDatabase,
  unwrap,
  useBackend,
} from './backends.ts';

/**
 * A database as a crm-sync before 20250612000000_tenant_names_ignore_case left it, with the tenants it could hold:
 * opened by this version (all migrations), then rolled back to that schema with the rows written straight in.
 */
async function storeBeforeTenantNamesIgnoreCase(database: TestDatabase, names: string[]): Promise<void> {
  const store = unwrap(await database.open());
  await database.raw('DROP INDEX tenants_name_folded_idx');
  // Those three only (20250619000000 replaces 20250612000000's index): a later migration stays applied, as its
  // tables stay made.
  await database.raw(
    `DELETE FROM schema_migrations WHERE version IN ('20250612000000', '20250613000000', '20250619000000')`,
  );
  for (const name of names) {
    await database.raw(
      `INSERT INTO tenants (id, name, sync_interval_seconds, created_at, updated_at) VALUES ($1, $2, 900, now(), now())`,
      [randomUUID(), name],
    );
  }
  await store.close();
}

/** A database as a crm-sync before 20250619000000_tenant_names_final_sigma left it, holding `names`. */
async function storeBeforeFinalSigma(database: TestDatabase, names: string[]): Promise<void> {
  const store = unwrap(await database.open());
  await database.raw('DROP INDEX tenants_name_folded_idx');
  await database.raw('CREATE UNIQUE INDEX tenants_name_lower_idx ON tenants (lower(name))');
  await database.raw(`DELETE FROM schema_migrations WHERE version = '20250619000000'`);
  for (const name of names) {
    await database.raw(
      `INSERT INTO tenants (id, name, sync_interval_seconds, created_at, updated_at) VALUES ($1, $2, 900, now(), now())`,
      [randomUUID(), name],
    );
  }
  await store.close();
}

function describeUpgrade(name: string, backend: () => Backend): void {
  describe(`upgrading a store on ${name}`, () => {
    it('finds a tenant an earlier version stored with its name decomposed, and adds no second one', async () => {
      const database = await backend().createDatabase();
      try {
        // "José" typed as e + U+0301, as some keyboards send it: stored as typed before names were kept in NFC.
        await storeBeforeTenantNamesIgnoreCase(database, ['Jose\u0301 Lettings']);
        const store = unwrap(await database.open());
        const found = await store.getTenantByName({ name: 'Jos\u00e9 Lettings' });
        expect(found).toMatchObject({ ok: true, value: { name: 'Jos\u00e9 Lettings' } });
        const again = await store.createTenant({ name: 'Jos\u00e9 Lettings', syncIntervalSeconds: 900 });
        expect(again).toMatchObject({ ok: false, error: { kind: 'conflict' } });
        await store.close();
      } finally {
        await database.drop();
      }
    });

    it('refuses with one message naming the migration when a migration cannot apply, and changes nothing', async () => {
      const database = await backend().createDatabase();
      try {
        await storeBeforeTenantNamesIgnoreCase(database, ['Harbour', 'harbour']);
        const opened = await database.open();
        expect(opened).toMatchObject({ ok: false, error: { kind: 'migration_failed' } });
        if (!opened.ok) {
          expect(opened.error.message).toMatch(/20250612000000_tenant_names_ignore_case/);
          expect(opened.error.message).toMatch(/\(lower\(name\)\)=\(harbour\) is duplicated/);
          // The way on is a command, not SQL: the migration's own remedy.
          expect(opened.error.message).toContain('rename one of them: crm-sync tenant rename NAME NEW-NAME');
          expect(opened.error.message).not.toContain('\n');
        }
        // Rolled back whole, so nothing is recorded as applied: opened again, it is refused the same way.
        expect(await database.open()).toMatchObject({ ok: false, error: { kind: 'migration_failed' } });
      } finally {
        await database.drop();
      }
    });

    it('refuses two names apart only by a final sigma, naming the migration and the command that unblocks it', async () => {
      const database = await backend().createDatabase();
      try {
        await storeBeforeFinalSigma(database, ['Οδός Lettings', 'ΟΔΌΣ LETTINGS']);
        const opened = await database.open();
        expect(opened).toMatchObject({ ok: false, error: { kind: 'migration_failed' } });
        if (!opened.ok) {
          expect(opened.error.message).toMatch(/20250619000000_tenant_names_final_sigma/);
          expect(opened.error.message).toContain('rename one of them: crm-sync tenant rename NAME NEW-NAME');
        }
      } finally {
        await database.drop();
      }
    });
  });
}

describeUpgrade('PGlite', useBackend(pgliteBackend));
describe.runIf(postgresAvailable('the upgrade suite'))('PostgreSQL server', () => {
  describeUpgrade('Postgres', useBackend(postgresBackend));
});
