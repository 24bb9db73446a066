import { describe, expect, it } from 'vitest';
import { postgresAvailable } from '../support/postgresServer.ts';
import { postgresBackend, unwrap, useBackend } from './backends.ts';
import { at, tenantWithConnection } from './fixtures.ts';

/**
 * A run saves its machine only while it holds the connection's lease. On a shared PostgreSQL the check read the lease
 * as committed when the save began: another worker's takeover written but not yet committed was not seen, and the
 * save went through, over the snapshot the new holder was about to load. The save now waits for the lease row and
 * reads it as the takeover left it.
 */
describe.runIf(postgresAvailable('a snapshot saved during a takeover'))(
  'a snapshot saved during a takeover',
  () => {
    const backend = useBackend(postgresBackend);

    it('waits for the takeover to commit and is refused as lease_lost, not saved over the new holder', async () => {
      const database = await backend().createDatabase();
      const store = unwrap(await database.open());
      try {
        const { ref } = await tenantWithConnection(store);
        unwrap(await store.acquireLease({ ...ref, owner: 'host-a:1:a', ttlMs: 60_000, now: at(0) }));
        const before = { machineVersion: '9', snapshot: { by: 'before' }, stateValue: 'idle', now: at(1) };
        unwrap(await store.saveSnapshot({ ...ref, ...before, leaseOwner: 'host-a:1:a' }));

        // Another worker's claim of the lease, written and not yet committed.
        await database.raw('BEGIN');
        await database.raw(
          `UPDATE connections SET lease_owner = 'host-b:2:b', lease_expires_at = $2 WHERE id = $1`,
          [ref.connectionId, at(120)],
        );
        let settled = false;
        const saving = store
          .saveSnapshot({
            ...ref,
            machineVersion: '9',
            snapshot: { by: 'host-a late' },
            stateValue: 'fetching',
            now: at(2),
            leaseOwner: 'host-a:1:a',
          })
          .finally(() => {
            settled = true;
          });
        // Until the save has either finished or is seen waiting on the claim's row lock.
        for (let waited = 0; !settled && waited < 200; waited++) {
          const waiting = await database.raw(
            `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
          );
          if (waiting.length > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await database.raw('COMMIT');

        expect(await saving).toMatchObject({ ok: false, error: { kind: 'lease_lost' } });
        expect(unwrap(await store.loadSnapshot(ref))).toMatchObject({ snapshot: { by: 'before' } });
      } finally {
        await store.close();
        await database.drop();
      }
    });
  },
);
