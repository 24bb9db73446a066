import { describe, expect, it } from 'vitest';
import { DEFAULT_BATCH_SIZE } from '../../src/actors/context.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { noRateLimits, withSpec } from '../../src/providers/spec.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { createSyncHarness } from '../support/syncHarness.ts';

/**
 * PGlite settles a query without a turn of the event loop, so a phase that loops over store batches must give the
 * loop one itself: otherwise, for the whole reconcile of a large first sync, the process's timers (the lease
 * heartbeat, other connections' paced pushes), sockets (admin and serve endpoints) and aborts wait.
 */
describe('a phase looping over store batches on PGlite', () => {
  it('lets the event loop turn before each batch, inbound and local', async () => {
    const opened = await openMemoryStore();
    if (!opened.ok) throw new Error(opened.error.message);
    const real = opened.value;
    // Turns of the loop so far: a callback that queues itself for the next turn counts them.
    let turns = 0;
    let counting = true;
    const count = () => {
      turns += 1;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    const turnsAtBatch: Record<'listStaged' | 'listLocalChanges', number[]> = {
      listStaged: [],
      listLocalChanges: [],
    };
    const store = new Proxy(real, {
      get(target, property, receiver) {
        if (property === 'listStaged' || property === 'listLocalChanges') {
          return (params: never) => {
            turnsAtBatch[property].push(turns);
            return target[property](params);
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
    const reapit = getProvider('reapit');
    if (reapit === undefined) throw new Error('reapit is not registered');
    // Rate limits off on both sides: the second cycle pushes an update per edited contact.
    const h = await createSyncHarness('reapit', {
      store,
      simulator: { contacts: 3 * DEFAULT_BATCH_SIZE + 10, seed: 23, limits: noRateLimits },
      runner: { providerOptions: () => ({ spec: withSpec(reapit.spec, { limits: noRateLimits }) }) },
    });
    try {
      const first = await h.run();
      if (!first.ok) throw new Error(first.error.message);
      // Four batches and the empty read that ends the loop.
      expect(turnsAtBatch.listStaged).toHaveLength(5);
      expectEachLater(turnsAtBatch.listStaged);

      const edited = await editThreeBatches(real, h.tenantId);
      expect(edited).toBe(2 * DEFAULT_BATCH_SIZE + 1);
      const second = await h.run();
      if (!second.ok) throw new Error(second.error.message);
      expect(turnsAtBatch.listLocalChanges).toHaveLength(Math.ceil(edited / DEFAULT_BATCH_SIZE));
      expectEachLater(turnsAtBatch.listLocalChanges);
    } finally {
      counting = false;
      await h.close();
      await real.close();
    }
    // A first sync of a few thousand contacts: about 15 s alone, over 60 s beside other CPU-bound work.
  }, 180_000);
});

function expectEachLater(turnsAt: number[]) {
  for (let i = 1; i < turnsAt.length; i++) {
    expect(turnsAt[i], `batch ${i} came without a turn of the loop`).toBeGreaterThan(turnsAt[i - 1] ?? 0);
  }
}

/** A NurtureHub-side edit of three batches' worth of contacts (their title): the next cycle plans their updates. */
async function editThreeBatches(store: StoreHandle, tenantId: string): Promise<number> {
  const listed = await store.listContacts({ tenantId, limit: 2 * DEFAULT_BATCH_SIZE + 1 });
  if (!listed.ok) throw new Error(listed.error.message);
  const saved = await store.upsertContacts({
    tenantId,
    contacts: listed.value.map((c) => ({
      id: c.id,
      contact: { ...c.contact, title: c.contact.title === 'Dr' ? 'Mx' : 'Dr' },
    })),
    now: new Date(),
  });
  if (!saved.ok) throw new Error(saved.error.message);
  return saved.value.updated.length;
}
