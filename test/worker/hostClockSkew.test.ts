import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp } from '../../src/main.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgresServer.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

const TWO_MINUTES = 120_000;

/**
 * Two workers on one PostgreSQL database, on hosts whose wall clocks disagree by two minutes (more than a
 * lease's 60 s). Leases are written by one and judged by the other, so both must go by one clock.
 */
describe.runIf(postgresAvailable('workers on hosts whose clocks disagree'))(
  'host clocks that disagree',
  () => {
    let server: PostgresServer;
    beforeAll(async () => {
      server = await startPostgres();
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
    });

    it('a worker whose host clock runs two minutes ahead leaves a live lease alone: no second run of the cycle', async () => {
      const source = { DATABASE_URL: server.url, CRM_SYNC_SECRET_KEY: randomBytes(32).toString('hex') };
      const holder = must(await openApp({ command: 'test holder', source, notice: () => {} }));
      const ahead = must(
        await openApp({
          command: 'test ahead',
          source,
          notice: () => {},
          wallClock: () => Date.now() + TWO_MINUTES,
        }),
      );
      const h = await createSyncHarness('reapit', {
        simulator: { contacts: 5, seed: 1 },
        store: holder.store,
      });
      try {
        const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
        // The holder is mid-cycle: its lease taken a moment ago, for 60 s, as its runs take it.
        must(
          await holder.store.acquireLease({
            ...ref,
            owner: holder.runner.owner,
            ttlMs: 60_000,
            now: holder.runner.clock(),
          }),
        );

        const run = await runConnection(ahead.runner, ref, 'cycle');

        expect(run).toMatchObject({ ok: false, error: { kind: 'lease_held' } });
        expect((await h.sim.control.stats()).requests).toBe(0);
        expect(must(await holder.store.getConnection(ref)).lease?.owner).toBe(holder.runner.owner);
        // Its clock is the database's (this host's, here), not its own host's two minutes ahead.
        expect(Math.abs(ahead.runner.clock().getTime() - Date.now())).toBeLessThan(5_000);
      } finally {
        await h.close();
        await ahead.close();
        await holder.close();
      }
    }, 60_000);
  },
);
