import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { PGlite } from '@electric-sql/pglite';
import { isPidAlive, ownerGoneOnHost } from '../../src/persistence/leaseOwner.ts';
import { openPgliteStore } from '../../src/persistence/pglite.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { freshMemoryPglite } from './pgliteTemplate.ts';
import { must } from './syncHarness.ts';

/**
 * A store on an in-memory PGlite database that the test holds too, to leave rows with SQL as an earlier version
 * stored them; credentials are sealed with a key of its own.
 */
export async function openStoreWithDb(): Promise<{ db: PGlite; store: StoreHandle }> {
  const db = await freshMemoryPglite();
  const store = must(
    await openPgliteStore({
      dataDir: null,
      db,
      secrets: createSecretBox(randomBytes(32)),
      isOwnerGone: ownerGoneOnHost(hostname(), isPidAlive),
    }),
  );
  return { db, store };
}
