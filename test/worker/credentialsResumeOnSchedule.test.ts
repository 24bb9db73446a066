import { describe, expect, it } from 'vitest';
import { credentialsSchema } from '../../src/persistence/records.ts';
import { createRemoteStore } from '../../src/persistence/remoteStore.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { createServerApp } from '../../src/server/app.ts';
import { startServer } from '../../src/server/serve.ts';
import { createEmbeddedWorker } from '../../src/worker/embeddedWorker.ts';
import { useSharedStore } from '../support/sharedStore.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

/**
 * A connection the CRM refused the credentials of stopped in `error` (`auth_failed`), and new credentials were not
 * enough: the schedule left it there until an operator also ran `crm-sync retry`, so one whose credentials were
 * mended at 2am and no retry stayed unsynced. Its next scheduled pass now resumes it (`credentials.updated`), due
 * at once: the same cycle and window, from the phase that failed. New credentials move no other `error`.
 */

// Each case its own tenant; a pass runs every due connection of the store, and neither leaves one due.
const store = useSharedStore();

/** One scheduled pass of the embedded worker: a tick, and every run it started to its end. */
async function scheduledPass(h: SyncHarness) {
  const worker = createEmbeddedWorker(h.deps, { log: () => {} });
  const { started } = await worker.tick();
  const reports = await worker.drain();
  await worker.stop();
  return { started: started.map((c) => c.connectionId), progress: reports[0]?.progress ?? null };
}

const refOf = (h: SyncHarness) => ({ tenantId: h.tenantId, connectionId: h.connectionId });

async function auditBodies(h: SyncHarness) {
  return must(await h.store.listAudit({ ...refOf(h) })).entries.map((e) => e.body);
}

describe('new credentials for a connection stopped by auth_failed', () => {
  it('resume it on its next scheduled pass, finishing the cycle from its committed cursor', async () => {
    const h = await createSyncHarness('reapit', {
      store: store(),
      simulator: { contacts: 6, seed: 11 },
    });
    try {
      const ref = refOf(h);
      const good = credentialsSchema.parse(h.sim.credentials);
      expect((await scheduledPass(h)).progress).toMatchObject({ state: 'idle' });
      const committed = must(await h.store.getConnection(ref)).cursor;
      expect(committed).not.toBeNull();

      const { changed } = await h.sim.control.edits({ count: 3, seed: 5 });
      must(
        await h.store.setConnectionCredentials({ ...ref, credentials: { ...good, clientSecret: 'revoked' } }),
      );
      must(await h.store.setNextRun({ ...ref, nextRunAt: new Date() }));
      const refused = await scheduledPass(h);
      expect(refused.progress).toMatchObject({ state: 'error', errorReason: 'auth_failed' });
      const failedCycle = refused.progress?.cycleId;
      // It waits for new credentials: the schedule looks again one interval on.
      expect(must(await h.store.getConnection(ref)).nextRunAt.getTime()).toBeGreaterThan(Date.now());
      expect((await scheduledPass(h)).started).toEqual([]);

      must(await h.store.setConnectionCredentials({ ...ref, credentials: good }));
      const resumed = await scheduledPass(h);
      expect(resumed.started).toEqual([h.connectionId]);
      expect(resumed.progress).toMatchObject({ state: 'idle', stopped: null, errorReason: null });
      expect(resumed.progress?.lastAudit?.cycleId).toBe(failedCycle);

      const [completed, failed, first] = await auditBodies(h);
      expect(first?.outcome).toBe('completed');
      expect(failed).toMatchObject({
        cycleId: `${failedCycle}/error@${refused.progress?.lastError?.at}`,
        outcome: 'failed',
      });
      expect(failed?.errors[0]?.message).toMatch(/^stopped in error \(auth_failed\)/);
      // The cycle that failed, completed: its window from the committed cursor, the refusal among its errors.
      expect(completed).toMatchObject({ cycleId: failedCycle, outcome: 'completed' });
      expect(completed?.window.from).toEqual(committed);
      expect(completed?.errors).toEqual([expect.objectContaining({ status: 401, retry: false })]);
      // Only what changed since the cursor was fetched again, and nobody was created twice.
      expect(completed).toMatchObject({ fetched: changed.length, written: { created: 0 } });

      // Every record of the CRM once, as it now stands: nothing lost or doubled.
      const contacts = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 100 }));
      expect(contacts).toHaveLength((await h.sim.control.records()).length);
      const linked = contacts.flatMap((c) => c.links.map((l) => l.externalId));
      expect(new Set(linked).size).toBe(linked.length);
      expect(must(await h.store.getConnection(ref)).cursor).not.toEqual(committed);
    } finally {
      await h.close();
    }
  });

  // The run read the earlier credentials before the operator stored new ones, and failed on them after: the new
  // ones, stamped before the failure, did not count as replacing them, and it stayed in error until a `retry`.
  it('resume it when stored while the run failing on the earlier ones was under way', async () => {
    let meanwhile: (() => Promise<void>) | null = null;
    const h = await createSyncHarness('reapit', {
      store: store(),
      simulator: { contacts: 3, seed: 14 },
      runner: {
        providerOptions: () => ({
          fetch: async (input, init) => {
            const before = meanwhile;
            meanwhile = null;
            await before?.();
            return fetch(input, init);
          },
        }),
      },
    });
    try {
      const ref = refOf(h);
      const good = credentialsSchema.parse(h.sim.credentials);
      must(
        await h.store.setConnectionCredentials({ ...ref, credentials: { ...good, clientSecret: 'revoked' } }),
      );
      meanwhile = async () => must(await h.store.setConnectionCredentials({ ...ref, credentials: good }));
      const refused = await scheduledPass(h);
      expect(refused.progress).toMatchObject({ state: 'error', errorReason: 'auth_failed' });
      expect(meanwhile).toBeNull();
      expect(must(await h.store.getConnection(ref)).nextRunAt.getTime()).toBeLessThanOrEqual(Date.now());

      const resumed = await scheduledPass(h);
      expect(resumed.started).toEqual([h.connectionId]);
      expect(resumed.progress).toMatchObject({ state: 'idle', lastAudit: { counts: { fetched: 3 } } });
    } finally {
      await h.close();
    }
  });

  it('resume it too when stored through the holder’s admin server, as the CLI stores them beside serve', async () => {
    const h = await createSyncHarness('reapit', { store: store(), simulator: { contacts: 3, seed: 13 } });
    const token = 'credentials-resume-admin-token-0123456789';
    const app = createServerApp({ store: h.store, runner: h.deps, adminToken: token });
    const server = await startServer({
      app,
      store: { publishAdminUrl: async () => {} },
      port: 0,
      host: '127.0.0.1',
    });
    try {
      const ref = refOf(h);
      const good = credentialsSchema.parse(h.sim.credentials);
      must(
        await h.store.setConnectionCredentials({ ...ref, credentials: { ...good, clientSecret: 'revoked' } }),
      );
      expect((await scheduledPass(h)).progress).toMatchObject({ state: 'error', errorReason: 'auth_failed' });

      const remote = createRemoteStore({ adminUrl: server.url, token, holderName: 'the test holder' });
      must(await remote.setConnectionCredentials({ ...ref, credentials: good }));
      const resumed = await scheduledPass(h);
      expect(resumed.started).toEqual([h.connectionId]);
      expect(resumed.progress).toMatchObject({ state: 'idle', lastAudit: { counts: { fetched: 3 } } });
    } finally {
      await server.close();
      await h.close();
    }
  });
});

describe('new credentials for a connection stopped for another reason', () => {
  it('leave a connection out of attempts to the schedule’s own retry, one interval on', async () => {
    const spec = withSpec(getProvider('reapit')?.spec ?? expect.unreachable(), { retry: { maxAttempts: 1 } });
    // Its five failures ran a few minutes ago, on a clock the test moves through the backoffs.
    const clock = { offsetMs: -9 * 60_000 };
    const h = await createSyncHarness('reapit', {
      store: store(),
      simulator: { contacts: 4, seed: 12 },
      runner: { clock: () => new Date(Date.now() + clock.offsetMs), providerOptions: () => ({ spec }) },
    });
    try {
      const ref = refOf(h);
      await h.sim.control.faults({ errorRate: 1 });
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        const { resumeAt } = must(await h.run()).context;
        if (resumeAt !== null) clock.offsetMs = Date.parse(resumeAt) - Date.now() + 1;
      }
      const stopped = must(await h.store.loadSnapshot(ref));
      expect(stopped?.stateValue).toBe('error');
      expect(stopped?.snapshot).toMatchObject({ context: { errorReason: 'attempts_exhausted' } });
      clock.offsetMs = 0;
      const nextRunAt = must(await h.store.getConnection(ref)).nextRunAt;
      expect(nextRunAt.getTime()).toBeGreaterThan(Date.now());

      await h.sim.control.faults({ errorRate: 0 });
      must(
        await h.store.setConnectionCredentials({
          ...ref,
          credentials: credentialsSchema.parse(h.sim.credentials),
        }),
      );
      expect(must(await h.store.getConnection(ref)).nextRunAt).toEqual(nextRunAt);
      expect((await scheduledPass(h)).started).toEqual([]);
      expect(must(await h.store.loadSnapshot(ref))).toEqual(stopped);
    } finally {
      await h.close();
    }
  });
});
