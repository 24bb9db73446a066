import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { failureNote } from '../../src/actors/failures.ts';
import { ok } from '../../src/core/result.ts';
import { postgresAvailable } from '../support/postgresServer.ts';
import { postgresBackend, unwrap, useBackend } from './backends.ts';
import { at, tenantWithConnection } from './fixtures.ts';

/**
 * A run's writes under its lease (`holdLease`) lock the connection's row until they commit, so that no takeover comes
 * between. A row referring to the connection (a cycle note, a link) takes a key-share lock on it: with the fence's
 * FOR UPDATE, a run taking over marking a write sent and the old holder acknowledging that write (its ledger row
 * locked, then its note) waited on each other until PostgreSQL broke the deadlock, and the run it failed stopped
 * in error.
 */
describe.runIf(postgresAvailable('lease fence locks'))('the lease fence (PostgreSQL)', () => {
  const backend = useBackend(postgresBackend);

  it('lets a note of the connection be written while a run holds its fence, and still holds a takeover off', async () => {
    const database = await backend().createDatabase();
    const [mine, theirs] = [unwrap(await database.open()), unwrap(await database.open())];
    try {
      const { ref } = await tenantWithConnection(mine);
      const owner = `this-host:1:${randomUUID()}`;
      unwrap(await mine.acquireLease({ ...ref, owner, ttlMs: 1_000, now: at(0) }));
      const note = failureNote('pushing', {
        kind: 'transient',
        message: 'a note beside the fence',
        status: null,
        at: at(0).toISOString(),
      });
      const outcome = await mine.transaction(async (tx) => {
        unwrap(await tx.holdLease({ ...ref, owner }));
        const noted = await Promise.race([
          theirs.addCycleNotes({ ...ref, cycleId: randomUUID(), notes: [note] }).then(() => 'noted'),
          sleep(5_000).then(() => 'waited for the fence'),
        ]);
        // The lease run out, a takeover waits for the fence's commit all the same.
        const takingOver = theirs.acquireLease({
          ...ref,
          owner: `other-host:2:${randomUUID()}`,
          ttlMs: 1_000,
          now: at(5),
        });
        const beforeCommit = await Promise.race([
          takingOver.then(() => 'taken'),
          sleep(1_000).then(() => 'held off'),
        ]);
        return ok({ noted, beforeCommit, takingOver });
      });
      const { noted, beforeCommit, takingOver } = unwrap(outcome);
      expect(noted).toBe('noted');
      expect(beforeCommit).toBe('held off');
      expect(unwrap(await takingOver).owner).not.toBe(owner);
    } finally {
      await mine.close();
      await theirs.close();
      await database.drop();
    }
  }, 60_000);
});
