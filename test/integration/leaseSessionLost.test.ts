import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { reapitSpec } from '../../src/providers/reapit/spec.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { postgresBackend, unwrap, useBackend } from '../store/backends.ts';
import { at, tenantWithConnection } from '../store/fixtures.ts';
import { leadEmailsIn, newLeads } from '../support/leads.ts';
import { postgresAvailable } from '../support/postgresServer.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

const LEADS = 60;

/**
 * On PostgreSQL a lease is also a session advisory lock, and a run in another process takes over at once a live
 * lease whose lock is free: its holder's database session ended, so the holder is taken to be dead. A session
 * also ends under a live holder (the server restarted or failed over, a proxy or `idle_session_timeout` closed an
 * idle connection, an operator terminated it). The holder must then stop as the others take it to have: before,
 * it went on pushing beside the run that took over, and people were created twice in the CRM.
 */
describe.runIf(postgresAvailable('lease session loss'))('a run whose lock session ends under it', () => {
  const backend = useBackend(postgresBackend);

  it('stops at once, and the run that takes over creates every lead once', async () => {
    const database = await backend().createDatabase();
    const [mine, theirs] = [unwrap(await database.open()), unwrap(await database.open())];
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 5, seed: 2, latencyMs: 40 },
      store: mine,
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      must(await h.run());
      const leads = newLeads(LEADS, 'Adeyemi');
      must(await h.store.upsertContacts({ tenantId: h.tenantId, contacts: leads, now: new Date() }));

      const pushing = h.run();
      while ((await h.sim.control.stats()).creates === 0) await new Promise((r) => setTimeout(r, 20));
      // This process's lock session ends (the server side of a dropped connection) while the run pushes.
      const holders = await database.raw(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted`,
      );
      expect(holders).toHaveLength(1);

      // Another process asks for the connection (an operator's `crm-sync sync`): the lock is free, so it takes
      // the lease over at once and runs the rest of the cycle.
      const other = { ...h.deps, store: theirs, owner: `other-host:4242:${randomUUID()}` };
      must(await runConnection(other, ref));
      expect(await pushing).toMatchObject({ ok: false, error: { kind: 'lease_held' } });
      // Creates the stopped run had sent are looked for once they may show in Reapit (`createSettleMs`), not sent
      // again (test/integration/lostCreate.test.ts): the cycle ends on a later run.
      const later = { ...other, clock: () => new Date(Date.now() + reapitSpec.capabilities.createSettleMs) };
      expect(must(await runConnection(later, ref)).state).toBe('idle');

      const leadEmails = leadEmailsIn(await h.sim.control.records());
      expect(new Set(leadEmails).size).toBe(LEADS);
      expect(leadEmails).toHaveLength(LEADS);
    } finally {
      await h.close();
      await mine.close();
      await theirs.close();
      await database.drop();
    }
  }, 120_000);

  it('takes the lock again for a lease whose earlier lock went with its session, rather than claim it unlocked', async () => {
    const database = await backend().createDatabase();
    const [mine, theirs] = [unwrap(await database.open()), unwrap(await database.open())];
    try {
      const { ref } = await tenantWithConnection(mine);
      const [first, second] = [`this-host:1:${randomUUID()}`, `this-host:1:${randomUUID()}`];
      const lease = unwrap(await mine.acquireLease({ ...ref, owner: first, ttlMs: 1_000, now: at(0) }));
      // The session ends, and the release that would have followed fails with it (the database restarting).
      await database.raw(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted`,
      );
      const { sessionLost } = lease;
      if (sessionLost === undefined) throw new Error('a lease on PostgreSQL comes with its session lock');
      if (!sessionLost.aborted)
        await new Promise((resolve) => sessionLost.addEventListener('abort', resolve));
      // The lease expires; a later run of this process takes it, and must hold the lock it claims to.
      unwrap(await mine.acquireLease({ ...ref, owner: second, ttlMs: 60_000, now: at(2) }));
      expect(
        await theirs.acquireLease({
          ...ref,
          owner: `other-host:2:${randomUUID()}`,
          ttlMs: 60_000,
          now: at(3),
        }),
      ).toMatchObject({ ok: false, error: { kind: 'lease_held', owner: second } });
      unwrap(await mine.releaseLease({ ...ref, owner: second }));
    } finally {
      await mine.close();
      await theirs.close();
      await database.drop();
    }
  });
});
