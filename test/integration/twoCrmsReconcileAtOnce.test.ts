import { describe, expect, it } from 'vitest';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * The store, with `between` run once right after the next `findCandidates`: another connection's cycle fitted
 * deterministically between a reconcile batch's looking for stored matches and its commit.
 */
function afterNextCandidates(store: StoreHandle) {
  let pending: (() => Promise<void>) | null = null;
  const wrapped: StoreHandle = new Proxy(store, {
    get(target, key) {
      if (key === 'findCandidates') {
        return (async (request) => {
          const found = await target.findCandidates(request);
          const run = pending;
          pending = null;
          if (run !== null) await run();
          return found;
        }) satisfies StoreHandle['findCandidates'];
      }
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    store: wrapped,
    between: (run: () => Promise<void>) => {
      pending = run;
    },
  };
}

/**
 * An agency connects Reapit and Loop, which hold the same people (the simulators are seeded alike), and both first
 * syncs run at once, as the worker runs connections of different CRMs. Each batch looked for stored matches, found
 * none (the other had not committed yet) and created its own contact of every person: NurtureHub held each person
 * twice, one per CRM, for good (a later cycle reads no change, and a contact from one CRM is never matched again).
 * A batch that creates contacts now checks, under the tenant's change lock, that no contact holding one of their
 * match keys came in since it looked; if one did, it is reconciled again and joins it.
 */
describe('two CRMs of one agency reconciling the same people at once', () => {
  it('make one contact of each person, linked to both', async () => {
    const store = must(await openMemoryStore());
    const interleave = afterNextCandidates(store);
    const reapit = await createSyncHarness('reapit', {
      store: interleave.store,
      simulator: { contacts: 10, seed: 4 },
    });
    const loop = await createSyncHarness('loop', {
      store,
      tenantId: reapit.tenantId,
      simulator: { contacts: 10, seed: 4 },
    });
    try {
      const { tenantId } = reapit;
      // Loop's whole first cycle commits after Reapit's first batch looked for matches and before it commits.
      let loopFirst: Awaited<ReturnType<typeof auditedCycle>>;
      interleave.between(async () => {
        loopFirst = await auditedCycle(loop);
      });
      const reapitFirst = await auditedCycle(reapit);
      expect(loopFirst).toBeDefined();

      const contacts = must(await store.listContacts({ tenantId, limit: 100 }));
      const people = new Set(contacts.map((c) => `${c.contact.firstName} ${c.contact.lastName}`));
      expect(contacts.length).toBe(people.size);
      expect(contacts.every((c) => c.links.length === 2)).toBe(true);
      expect(reapitFirst?.written).toMatchObject({ created: 0 });

      expect((await auditedCycle(loop))?.written).toMatchObject({ created: 0, updated: 0 });
      expect((await auditedCycle(reapit))?.written).toMatchObject({ created: 0, updated: 0 });
      expect(await reapit.sim.control.records()).toHaveLength(10);
      expect(await loop.sim.control.records()).toHaveLength(10);
    } finally {
      await loop.close();
      await reapit.close();
      await store.close();
    }
  });
});
