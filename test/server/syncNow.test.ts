import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { readStatus } from '../../src/cli/connectionStatus.ts';
import { CONNECTION_MACHINE_VERSION } from '../../src/machines/connectionMachine.ts';
import { isPidAlive, ownerGoneOnHost } from '../../src/persistence/leaseOwner.ts';
import { openPgliteStore } from '../../src/persistence/pglite.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { beforeNextLease, runElsewhere } from '../support/leaseInterleaving.ts';
import { freshMemoryPglite } from '../support/pgliteTemplate.ts';
import { must } from '../support/syncHarness.ts';
import { createApiFixture, useSharedStore } from './apiFixture.ts';

const store = useSharedStore();

/**
 * A connection whose CRM answers every request 500, on a clock the test moves past each `resumeAt`. One request
 * per phase attempt (no client-side retries), so each sync spends exactly one attempt. `between` fits another
 * owner's run in after the route has read the connection and before its run takes the lease.
 */
async function failingConnection() {
  const spec = withSpec(getProvider('reapit')?.spec ?? expect.unreachable(), { retry: { maxAttempts: 1 } });
  const clock = { offsetMs: 0 };
  const interleaved = beforeNextLease(store());
  const f = await createApiFixture({
    store: store(),
    runner: {
      store: interleaved.store,
      clock: () => new Date(Date.now() + clock.offsetMs),
      providerOptions: () => ({ spec }),
    },
  });
  await f.h.sim.control.faults({ errorRate: 1 });
  const path = `${f.base}/connections/${f.h.connectionId}`;
  /** Moves the runner's (and the API's) clock just past `instant`. */
  const passInstant = (instant: string) => {
    clock.offsetMs = Date.parse(instant) - Date.now() + 1;
  };
  /** Moves the clock on, so that anything written later carries a later stamp. */
  const advance = (ms: number) => {
    clock.offsetMs += ms;
  };
  return { f, path, passInstant, advance, between: interleaved.between };
}

describe('"sync now" in backoff and in error', () => {
  it('leaves a backoff not yet due alone (409 saying until when, nothing written), and resumes one that is due', async () => {
    const { f, path, passInstant } = await failingConnection();
    try {
      const parked = await f.call('POST', `${path}/sync`);
      expect(parked.json.connection).toMatchObject({ state: 'backoff', attempt: 1, resumePhase: 'fetching' });
      const before = (await f.call('GET', path)).json.connection;

      const early = await f.call('POST', `${path}/sync`);
      expect(early.status).toBe(409);
      expect(early.json).toEqual({
        error: `connection is in backoff until ${before.resumeAt} after a transient failure in fetching; it resumes by itself then, and a sync from then on resumes it at once`,
      });
      // Not re-saved (stateUpdatedAt) and not rescheduled (nextRunAt).
      expect((await f.call('GET', path)).json.connection).toEqual(before);

      passInstant(before.resumeAt);
      await f.h.sim.control.faults({});
      const resumed = await f.call('POST', `${path}/sync`);
      expect(resumed.status).toBe(200);
      expect(resumed.json.connection).toMatchObject({ state: 'idle', attempt: 0, lastError: null });
      expect(resumed.json.connection.lastAudit.counts.fetched).toBe(30);
    } finally {
      await f.close();
    }
  });

  it('counts attempts made (5 when they ran out, in the API and the CLI status) and points a sync in error to retry, writing nothing', async () => {
    const { f, path, passInstant } = await failingConnection();
    try {
      const seen: Array<[string, number]> = [];
      for (let failure = 1; failure <= 5; failure += 1) {
        const { json } = await f.call('POST', `${path}/sync`);
        seen.push([json.connection.state, json.connection.attempt]);
        if (json.connection.resumeAt !== null) passInstant(json.connection.resumeAt);
      }
      expect(seen).toEqual([
        ['backoff', 1],
        ['backoff', 2],
        ['backoff', 3],
        ['backoff', 4],
        ['error', 5],
      ]);
      const stopped = (await f.call('GET', path)).json.connection;
      expect(stopped).toMatchObject({ errorReason: 'attempts_exhausted', resumePhase: 'fetching' });
      const tenant = must(await f.h.store.getTenant({ tenantId: f.h.tenantId }));
      const ref = { tenantId: f.h.tenantId, connectionId: f.h.connectionId };
      const connection = must(await f.h.store.getConnection(ref));
      expect((await readStatus(f.h.store, tenant, connection, f.h.deps.clock())).attempt).toBe(5);

      const sync = await f.call('POST', `${path}/sync`);
      expect(sync.status).toBe(409);
      expect(sync.json).toEqual({
        error: `connection is in error (attempts_exhausted): a sync does not lead it out; retry does (POST …/retry) now, and the schedule does at ${stopped.nextRunAt}`,
      });
      // Not re-saved (stateUpdatedAt) and not pushed an interval out (nextRunAt).
      expect((await f.call('GET', path)).json.connection).toEqual(stopped);

      await f.h.sim.control.faults({});
      const retried = await f.call('POST', `${path}/retry`);
      expect(retried.json.connection).toMatchObject({ state: 'idle', attempt: 0, errorReason: null });
    } finally {
      await f.close();
    }
  });
});

describe('"sync now" decided under the lease', () => {
  it('refuses a connection a scheduled run stopped in error after the route read it: 409, snapshot and next run as that run left them', async () => {
    const { f, path, passInstant, advance, between } = await failingConnection();
    try {
      for (let failure = 1; failure <= 4; failure += 1) {
        const { json } = await f.call('POST', `${path}/sync`);
        expect(json.connection).toMatchObject({ state: 'backoff', attempt: failure });
        passInstant(json.connection.resumeAt);
      }
      // The last backoff is due, so the route's own check lets the sync through; before its run takes the lease,
      // the scheduled run resumes the phase, fails a fifth time and stops in error.
      let stopped: Record<string, unknown> | null = null;
      between(async () => {
        expect(must(await runElsewhere(f.h, 'phase'))).toMatchObject({ state: 'error' });
        stopped = (await f.call('GET', path)).json.connection;
        advance(1_000);
      });

      const sync = await f.call('POST', `${path}/sync`);
      expect(stopped).toMatchObject({ state: 'error', errorReason: 'attempts_exhausted', running: false });
      const { nextRunAt } = stopped ?? expect.unreachable();
      expect(sync.status).toBe(409);
      expect(sync.json).toEqual({
        error: `connection is in error (attempts_exhausted): a sync does not lead it out; retry does (POST …/retry) now, and the schedule does at ${nextRunAt}`,
      });
      // Not re-saved (stateUpdatedAt) and the schedule's retry not pushed an interval on (nextRunAt).
      expect((await f.call('GET', path)).json.connection).toEqual(stopped);
    } finally {
      await f.close();
    }
  });

  it('refuses a connection a scheduled run parked in a backoff not yet due after the route read it idle', async () => {
    const { f, path, advance, between } = await failingConnection();
    try {
      let parked: Record<string, unknown> | null = null;
      between(async () => {
        expect(must(await runElsewhere(f.h, 'phase'))).toMatchObject({
          state: 'backoff',
          context: { attempt: 1 },
        });
        parked = (await f.call('GET', path)).json.connection;
        advance(1_000);
      });

      const sync = await f.call('POST', `${path}/sync`);
      const { resumeAt } = parked ?? expect.unreachable();
      expect(sync.status).toBe(409);
      expect(sync.json).toEqual({
        error: `connection is in backoff until ${resumeAt} after a transient failure in fetching; it resumes by itself then, and a sync from then on resumes it at once`,
      });
      expect((await f.call('GET', path)).json.connection).toEqual(parked);
    } finally {
      await f.close();
    }
  });
});

describe('"retry" decided under the lease', () => {
  it('answers 409 when a scheduled run retried the connection out of error after the route read it, writing nothing', async () => {
    const { f, path, passInstant, advance, between } = await failingConnection();
    try {
      for (let failure = 1; failure <= 5; failure += 1) {
        const { json } = await f.call('POST', `${path}/sync`);
        if (json.connection.resumeAt !== null) passInstant(json.connection.resumeAt);
      }
      expect((await f.call('GET', path)).json.connection).toMatchObject({ state: 'error' });
      // The route reads the connection in error; before its run takes the lease, the schedule's own retry runs
      // the cycle to idle.
      await f.h.sim.control.faults({});
      let retried: Record<string, unknown> | null = null;
      between(async () => {
        expect(must(await runElsewhere(f.h, 'retry'))).toMatchObject({ state: 'idle' });
        retried = (await f.call('GET', path)).json.connection;
        advance(1_000);
      });

      const retry = await f.call('POST', `${path}/retry`);
      expect(retried).toMatchObject({ state: 'idle', attempt: 0 });
      expect(retry.status).toBe(409);
      expect(retry.json).toEqual({ error: 'connection is idle, not in error: nothing to retry' });
      // Not re-saved (stateUpdatedAt) and not rescheduled (nextRunAt).
      expect((await f.call('GET', path)).json.connection).toEqual(retried);
    } finally {
      await f.close();
    }
  });
});

describe('a connection disabled after the route read it', () => {
  it('is neither synced nor retried: 409 saying so, the machine as it was', async () => {
    const { f, path, passInstant, between } = await failingConnection();
    const disabled = 'connection is disabled; enable it first';
    const disableFirst = () =>
      between(async () => {
        expect((await f.call('PATCH', path, { body: { enabled: false } })).status).toBe(200);
      });
    try {
      disableFirst();
      const sync = await f.call('POST', `${path}/sync`);
      expect({ status: sync.status, json: sync.json }).toEqual({ status: 409, json: { error: disabled } });
      // Its CRM fails every request: a cycle that ran would have left it in backoff.
      expect((await f.call('GET', path)).json.connection).toMatchObject({ state: 'idle', attempt: 0 });

      expect((await f.call('PATCH', path, { body: { enabled: true } })).status).toBe(200);
      for (let failure = 1; failure <= 5; failure += 1) {
        const { json } = await f.call('POST', `${path}/sync`);
        if (json.connection.resumeAt !== null) passInstant(json.connection.resumeAt);
      }
      const stopped = (await f.call('GET', path)).json.connection;
      expect(stopped).toMatchObject({ state: 'error' });
      disableFirst();
      const retry = await f.call('POST', `${path}/retry`);
      expect({ status: retry.status, json: retry.json }).toEqual({ status: 409, json: { error: disabled } });
      expect((await f.call('GET', path)).json.connection).toEqual({ ...stopped, enabled: false });
    } finally {
      await f.close();
    }
  });
});

describe('credentials the server cannot decrypt', () => {
  it('answer 500 on sync, as the store maps decrypt_failed everywhere, and nothing runs', async () => {
    // Two stores on one database with different keys: what a changed CRM_SYNC_SECRET_KEY does.
    const db = await freshMemoryPglite();
    const isOwnerGone = ownerGoneOnHost(hostname(), isPidAlive);
    const open = () =>
      openPgliteStore({ dataDir: null, db, secrets: createSecretBox(randomBytes(32)), isOwnerGone });
    const savedWith = must(await open());
    const readWith = must(await open());
    const f = await createApiFixture({
      store: savedWith,
      runner: { store: readWith },
      server: { store: readWith },
    });
    const path = `${f.base}/connections/${f.h.connectionId}`;
    try {
      const sync = await f.call('POST', `${path}/sync`);
      expect(sync.status).toBe(500);
      expect(sync.json.error).toMatch(
        /^stored credentials cannot be decrypted with the credentials key, which is not the key they were saved with/,
      );
      const view = await f.call('GET', path);
      expect(view.status).toBe(200);
      expect(view.json.connection).toMatchObject({ state: 'idle', stateUpdatedAt: null, running: false });
      expect((await f.call('GET', `${f.base}/audit`)).json.entries).toEqual([]);
    } finally {
      await f.close();
      // Both close the one database; the second finds it closed.
      await savedWith.close();
      await readWith.close();
    }
  });
});

describe('"sync now" of a connection whose stored machine cannot be restored', () => {
  it("answers 409 naming the API's reset (POST …/reset), not the CLI's; after the reset it syncs", async () => {
    const f = await createApiFixture({ store: store() });
    const path = `${f.base}/connections/${f.h.connectionId}`;
    const ref = { tenantId: f.h.tenantId, connectionId: f.h.connectionId };
    try {
      expect((await f.call('POST', `${path}/sync`)).status).toBe(200);
      // As a newer crm-sync (one rolled back from) left it.
      const stored = must(await f.h.store.loadSnapshot(ref)) ?? expect.unreachable();
      must(
        await f.h.store.saveSnapshot({
          ...ref,
          machineVersion: String(CONNECTION_MACHINE_VERSION + 1),
          snapshot: stored.snapshot,
          stateValue: stored.stateValue,
          now: new Date(),
        }),
      );

      const refused = await f.call('POST', `${path}/sync`);
      expect(refused.status).toBe(409);
      expect(refused.json.error).toBe(
        `stored machine snapshot cannot be restored: it was written by machine version ${CONNECTION_MACHINE_VERSION + 1} and this crm-sync runs version ${CONNECTION_MACHINE_VERSION}; POST …/reset restarts it at its committed cursor (the window of a cycle it was in is fetched again)`,
      );
      // The same words as the connection's view, and as a retry's.
      expect((await f.call('GET', path)).json.connection).toMatchObject({
        snapshotError: refused.json.error,
        snapshotRestartsOnItsOwn: false,
      });
      const retried = await f.call('POST', `${path}/retry`);
      expect([retried.status, retried.json.error]).toEqual([409, refused.json.error]);

      expect((await f.call('POST', `${path}/reset`)).status).toBe(200);
      const synced = await f.call('POST', `${path}/sync`);
      expect(synced.status).toBe(200);
      expect(synced.json.connection).toMatchObject({ state: 'idle', snapshotError: null });
    } finally {
      await f.close();
    }
  });
});
