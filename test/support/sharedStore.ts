import { afterAll, beforeAll } from 'vitest';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { openMemoryStore } from './memoryStore.ts';

/**
 * One in-memory store for a test file (opening one migrates a fresh database, which takes seconds); each case
 * gets its own tenant in it, so cases stay independent. Call at the top of the file; the getter works in tests.
 */
export function useSharedStore(): () => StoreHandle {
  let store: StoreHandle | undefined;
  beforeAll(async () => {
    const opened = await openMemoryStore();
    if (!opened.ok) throw new Error(opened.error.message);
    store = opened.value;
  });
  afterAll(async () => {
    await store?.close();
  });
  return () => {
    if (store === undefined) throw new Error('the shared store is opened in beforeAll');
    return store;
  };
}
