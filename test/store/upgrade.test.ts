import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ConnectionRef, StoreHandle } from '../../src/persistence/store.ts';
import { postgresAvailable } from '../support/postgresServer.ts';
import {
  type Backend,
  pgliteBackend,
  postgresBackend,
  type TestDatabase,
  unwrap,
  useBackend,
} from './backends.ts';
import { contact, T0, tenantWithConnection } from './fixtures.ts';

/**
 * A database as a crm-sync before the migrations `versions` left it: opened by this version (all migrations), then
 * `change`d back to that schema or data (with SQL, or through the store), and `versions` marked not applied.
 */
async function rolledBackBefore<T>(
  database: TestDatabase,
  versions: string[],
  change: (store: StoreHandle) => Promise<T>,
): Promise<T> {
  const store = unwrap(await database.open());
  try {
    const changed = await change(store);
    await database.raw('DELETE FROM schema_migrations WHERE version = ANY($1)', [versions]);
    return changed;
  } finally {
    await store.close();
  }
}

async function insertTenants(database: TestDatabase, names: string[]): Promise<void> {
  for (const name of names) {
    await database.raw(
      `INSERT INTO tenants (id, name, sync_interval_seconds, created_at, updated_at) VALUES ($1, $2, 900, now(), now())`,
      [randomUUID(), name],
    );
  }
}

/** Before 20250612000000_tenant_names_ignore_case, holding `names`. */
function storeBeforeTenantNamesIgnoreCase(database: TestDatabase, names: string[]): Promise<void> {
  // Those three only (20250619000000 replaces 20250612000000's index): a later migration stays applied, as its
  // tables stay made.
  return rolledBackBefore(database, ['20250612000000', '20250613000000', '20250619000000'], async () => {
    await database.raw('DROP INDEX tenants_name_folded_idx');
    await insertTenants(database, names);
  });
}

/** Before 20250619000000_tenant_names_final_sigma, holding `names`. */
function storeBeforeFinalSigma(database: TestDatabase, names: string[]): Promise<void> {
  return rolledBackBefore(database, ['20250619000000'], async () => {
    await database.raw('DROP INDEX tenants_name_folded_idx');
    await database.raw('CREATE UNIQUE INDEX tenants_name_lower_idx ON tenants (lower(name))');
    await insertTenants(database, names);
  });
}

/**
 * Before 20250620000000_contact_instants_in_utc: a contact whose instants an edit stored as written, one of them in
 * 1 BC in UTC. Answers the contact's id and tenant.
 */
function storeBeforeInstantsInUtc(database: TestDatabase): Promise<{ tenantId: string; id: string }> {
  return rolledBackBefore(database, ['20250620000000'], async (store) => {
    const { tenant } = await tenantWithConnection(store);
    const id = randomUUID();
    unwrap(
      await store.upsertContacts({ tenantId: tenant.id, contacts: [{ id, contact: contact({}) }], now: T0 }),
    );
    await database.raw(`UPDATE contacts SET data = data || $2::jsonb WHERE id = $1`, [
      id,
      JSON.stringify({
        lastOpenedAt: '0001-01-01T00:00:00+14:00',
        lastClickedAt: '2025-06-02T11:00:00.0004+01:00',
        nurtureSequence: {
          sequenceId: 's',
          step: 1,
          state: 'active',
          enrolledAt: '9999-12-31T23:59:59-00:01',
        },
      }),
    ]);
    return { tenantId: tenant.id, id };
  });
}

/** Before 20250621000000_whole_minute_intervals: a tenant and a connection on 90 s. */
function storeBeforeWholeMinuteIntervals(database: TestDatabase): Promise<ConnectionRef> {
  return rolledBackBefore(database, ['20250621000000'], async (store) => {
    const { ref } = await tenantWithConnection(store);
    unwrap(await store.setTenantInterval({ tenantId: ref.tenantId, syncIntervalSeconds: 90 }));
    unwrap(await store.setConnectionInterval({ ...ref, syncIntervalSeconds: 150 }));
    return ref;
  });
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

    it('rewrites the instants an edit stored as written in UTC, one outside years 0001 to 9999 at the nearer end', async () => {
      const database = await backend().createDatabase();
      try {
        const { tenantId, id } = await storeBeforeInstantsInUtc(database);
        const store = unwrap(await database.open());
        const [stored] = unwrap(await store.getContacts({ tenantId, ids: [id] }));
        expect(stored?.contact).toMatchObject({
          lastOpenedAt: '0001-01-01T00:00:00.000Z',
          lastClickedAt: '2025-06-02T10:00:00.000Z',
          nurtureSequence: { enrolledAt: '9999-12-31T23:59:59.999Z' },
        });
        await store.close();
      } finally {
        await database.drop();
      }
    });

    it('sets an interval of seconds to the whole minutes it ran a cycle every', async () => {
      const database = await backend().createDatabase();
      try {
        const ref = await storeBeforeWholeMinuteIntervals(database);
        const store = unwrap(await database.open());
        expect(unwrap(await store.getTenant({ tenantId: ref.tenantId })).syncIntervalSeconds).toBe(60);
        expect(unwrap(await store.getConnection(ref)).syncIntervalSeconds).toBe(120);
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
