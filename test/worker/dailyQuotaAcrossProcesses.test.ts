import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, openApp } from '../../src/main.ts';
import { utcDay } from '../../src/providers/limiter.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgresServer.ts';
import { createSyncHarness, editContact, must, type SyncHarness } from '../support/syncHarness.ts';
import { tempDirs } from '../support/tempDirs.ts';

const newDataDir = tempDirs('crm-sync-daily-quota-');
const DAY_MS = 86_400_000;
const reapit = getProvider('reapit') ?? expect.unreachable();

/**
 * A CRM's daily quota (Reapit's 250,000 requests) is the customer's, whichever process spends it. Counted in each
 * process's memory, a restarted process began the day at 0, and workers taking a connection in turn each spent the
 * whole quota: the CRM then answered 429 for the rest of the day. The day's count is the store's.
 */
describe('the daily request quota', () => {
  /** The day's quota of every run of these tests, shrunk to what a test sets. */
  const quota = { perDay: 1_000 };
  const providerOptions = () => ({
    spec: withSpec(reapit.spec, { limits: { requestsPerDay: quota.perDay } }),
  });
  const withQuota = (app: App) => ({ ...app.runner, providerOptions });
  const nextUtcMidnight = (now: Date) => new Date((Math.floor(now.getTime() / DAY_MS) + 1) * DAY_MS);

  it('is counted from what an earlier process spent today: after a restart a spent quota sends nothing', async () => {
    const source = { CRM_SYNC_DATA_DIR: newDataDir(), CRM_SYNC_SECRET_KEY: randomBytes(32).toString('hex') };
    const first = must(await openApp({ command: 'test first', source, notice: () => {} }));
    const h = await createSyncHarness('reapit', { simulator: { contacts: 5, seed: 1 }, store: first.store });
    const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
    try {
      expect(must(await runConnection(withQuota(first), ref)).state).toBe('idle');
      const spent = (await h.sim.control.stats()).requests;
      await first.close();

      // The earlier process spent the whole day's quota.
      quota.perDay = spent;
      const second = must(await openApp({ command: 'test second', source, notice: () => {} }));
      try {
        const run = must(await runConnection(withQuota(second), ref));

        expect((await h.sim.control.stats()).requests).toBe(spent);
        expect(run.state).toBe('backoff');
        expect(run.context.lastError?.kind).toBe('quota_exhausted');
        expect(run.context.resumeAt).toBe(nextUtcMidnight(second.runner.clock()).toISOString());
      } finally {
        await second.close();
      }
    } finally {
      quota.perDay = 1_000;
      await h.close();
    }
  }, 60_000);

  // Saved only as each phase ended: a process killed in an hour-long push left every call of it uncounted.
  it('is counted in the store while a long phase runs, as often as the lease is renewed', async () => {
    const midPush: { stored: number | null } = { stored: null };
    let patches = 0;
    const storedToday = async (harness: SyncHarness) =>
      must(
        await harness.store.getDailyRequests({
          tenantId: harness.tenantId,
          connectionId: harness.connectionId,
          day: utcDay(harness.deps.clock().getTime()),
        }),
      );
    const harness = await createSyncHarness('reapit', {
      simulator: { contacts: 8, seed: 6 },
      runner: {
        // Renewed (and the count saved) every 200 ms.
        leaseTtlMs: 600,
        providerOptions: () => ({
          fetch: async (input, init) => {
            if (init?.method === 'PATCH' && ++patches === 3) {
              await new Promise((resolve) => setTimeout(resolve, 700));
              midPush.stored = await storedToday(harness);
            }
            return fetch(input, init);
          },
        }),
      },
    });
    try {
      expect(must(await harness.run()).state).toBe('idle');
      const linked = must(await harness.store.listContacts({ tenantId: harness.tenantId, limit: 10 }))
        .filter((c) => c.links.length === 1)
        .slice(0, 5);
      for (const c of linked) await editContact(harness, c.id, { firstName: `Renamed${c.id.slice(0, 4)}` });
      for (let phases = 0; phases < 3 && must(await harness.run('phase')).state !== 'pushing'; phases++);
      const beforePush = await storedToday(harness);
      expect(must(await harness.run('phase')).state).toBe('auditing');
      // The two writes started before the third were in the store's count while the push still ran.
      expect(midPush.stored).toBeGreaterThanOrEqual(beforePush + 2);
    } finally {
      await harness.close();
    }
  });

  it("turns the day by the runner's clock (the database's), not the host's", async () => {
    // The database's clock a day ahead of this host's: its today is the host's tomorrow.
    const clock = () => new Date(Date.now() + DAY_MS);
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 5, seed: 1 },
      runner: { clock, providerOptions },
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      must(
        await h.store.addDailyRequests({ ...ref, day: utcDay(clock().getTime()), requests: quota.perDay }),
      );

      const run = must(await h.run());

      expect((await h.sim.control.stats()).requests).toBe(0);
      expect(run.state).toBe('backoff');
      expect(run.context.resumeAt).toBe(nextUtcMidnight(clock()).toISOString());
    } finally {
      await h.close();
    }
  });

  describe.runIf(postgresAvailable('workers sharing a daily quota'))('on PostgreSQL', () => {
    let server: PostgresServer;
    beforeAll(async () => {
      server = await startPostgres();
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
    });

    it('two workers running one connection in turn spend one quota between them', async () => {
      const source = { DATABASE_URL: server.url, CRM_SYNC_SECRET_KEY: randomBytes(32).toString('hex') };
      const one = must(await openApp({ command: 'test one', source, notice: () => {} }));
      const other = must(await openApp({ command: 'test other', source, notice: () => {} }));
      const h = await createSyncHarness('reapit', { simulator: { contacts: 5, seed: 1 }, store: one.store });
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      quota.perDay = 4;
      try {
        // Turns alternate between the workers, as leases hand a connection from one to the other, until the
        // day's quota stops a cycle; each cycle costs at least one request.
        const workers = [one, other];
        const runs = [];
        for (let turn = 0; turn < 2 * quota.perDay; turn++) {
          const run = must(await runConnection(withQuota(workers[turn % 2] ?? one), ref));
          runs.push(run.state);
          if (run.state !== 'idle') {
            expect(run.context.lastError?.kind).toBe('quota_exhausted');
            expect(run.context.resumeAt).toBe(nextUtcMidnight(one.runner.clock()).toISOString());
            break;
          }
        }

        expect(runs.at(-1)).toBe('backoff');
        expect((await h.sim.control.stats()).requests).toBe(quota.perDay);
      } finally {
        quota.perDay = 1_000;
        await h.close();
        await other.close();
        await one.close();
      }
    }, 60_000);
  });
});
