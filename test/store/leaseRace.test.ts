import { randomBytes } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../src/persistence/migrate.ts';
import { pgliteClient } from '../../src/persistence/pglite.ts';
import { createTableUpkeep } from '../../src/persistence/pgliteUpkeep.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';
import type { SqlClient } from '../../src/persistence/sqlClient.ts';
import { createSqlStore } from '../../src/persistence/sqlStore.ts';
import type { Store } from '../../src/persistence/store.ts';
import { freshMemoryPglite } from '../support/pgliteTemplate.ts';
import { unwrap } from './backends.ts';
import { at, tenantWithConnection } from './fixtures.ts';

/**
 * Taking a lease is a compare-and-set over the lease as read. A holder that releases it between another owner's
 * read and its write (a run ending as an operator's `crm-sync sync` asks) beat the write: the lease, free, was
 * reported held "by another worker meanwhile", and the sync not run (found by a takeover test under load).
 */
describe('a lease released between a taker’s read and its claim', () => {
  let db: PGlite | null = null;
  afterEach(async () => {
    await db?.close();
    db = null;
  });

  it('is taken, not reported held by another worker', async () => {
    db = await freshMemoryPglite();
    const client = pgliteClient(db, await createTableUpkeep(db));
    unwrap(await migrate(client, await loadMigrations()));
    const storeOver = (over: SqlClient): Store =>
      createSqlStore({ client: over, secrets: createSecretBox(randomBytes(32)), isOwnerGone: () => false });
    const holder = storeOver(client);
    const { ref } = await tenantWithConnection(holder);
    unwrap(await holder.acquireLease({ ...ref, owner: 'host-a:1:a', ttlMs: 60_000, now: at(0) }));

    // The taker asks once the holder's lease has run out; the holder releases it just before the taker's claim.
    let releases = 0;
    const racing: SqlClient = {
      ...client,
      query: async (sql, params) => {
        if (releases === 0 && sql.includes('SET lease_owner = $3')) {
          releases += 1;
          unwrap(await holder.releaseLease({ ...ref, owner: 'host-a:1:a' }));
        }
        return client.query(sql, params);
      },
    };
    const taken = await storeOver(racing).acquireLease({
      ...ref,
      owner: 'host-b:2:b',
      ttlMs: 60_000,
      now: at(61),
    });
    expect(releases).toBe(1);
    expect(taken).toMatchObject({ ok: true, value: { owner: 'host-b:2:b' } });
    expect(unwrap(await holder.getConnection(ref)).lease?.owner).toBe('host-b:2:b');
  });
});
