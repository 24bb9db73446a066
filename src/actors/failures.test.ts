import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../test/store/backends.ts';
import { at, tenantWithConnection } from '../../test/store/fixtures.ts';
import { openMemoryStore } from '../../test/support/memoryStore.ts';
import { addFailureNotes, failureNote } from './failures.ts';

describe('addFailureNotes', () => {
  it("notes a phase's failure only under the run's lease", async () => {
    // A run that lost its lease without knowing (its lock session's end unheard) noted the loss as a fatal error of
    // the cycle the run taking over was running.
    const store = unwrap(await openMemoryStore());
    try {
      const { ref } = await tenantWithConnection(store);
      const holder = `this-host:1:${randomUUID()}`;
      unwrap(await store.acquireLease({ ...ref, owner: holder, ttlMs: 60_000, now: at(0) }));
      const failure = {
        kind: 'fatal' as const,
        message: 'store: lease lost',
        status: null,
        at: at(1).toISOString(),
      };
      const cycle = { ...ref, cycleId: randomUUID() };
      const deps = (leaseOwner: string) => ({
        store,
        provider: null as never,
        clock: () => at(1),
        leaseOwner,
      });
      // Noted already, a note counts 0 when added again.
      const notedBefore = async () =>
        unwrap(await store.addCycleNotes({ ...cycle, notes: [failureNote('pushing', failure)] })) === 0;

      await addFailureNotes(deps(`other-host:2:${randomUUID()}`), cycle, [failureNote('pushing', failure)]);
      expect(await notedBefore()).toBe(false);
      const second = { ...cycle, cycleId: randomUUID() };
      await addFailureNotes(deps(holder), second, [failureNote('pushing', failure)]);
      expect(unwrap(await store.addCycleNotes({ ...second, notes: [failureNote('pushing', failure)] }))).toBe(
        0,
      );
    } finally {
      await store.close();
    }
  });
});
