import type { Result } from '../../src/core/result.ts';
import { openMemoryStore as openStoreOn } from '../../src/persistence/openStore.ts';
import type { OpenError, StoreHandle } from '../../src/persistence/store.ts';
import { freshMemoryPglite } from './pgliteTemplate.ts';

/** The product's in-memory store, on a database copied from an initialised cluster (see pgliteTemplate.ts). */
export async function openMemoryStore(): Promise<Result<StoreHandle, OpenError>> {
  return openStoreOn(await freshMemoryPglite());
}
