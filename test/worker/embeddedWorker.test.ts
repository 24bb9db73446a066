import { describe, expect, it } from 'vitest';
import { credentialsSchema } from '../../src/persistence/records.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import type { RunnerDeps } from '../../src/runner/connectionRunner.ts';
import { createEmbeddedWorker } from '../../src/worker/embeddedWorker.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

const OTHER_WORKER = 'other-host:4242:7a1c';

function workerFor(h: Pick<SyncHarness, 'deps'>, lines: string[] = []) {
  return createEmbeddedWorker(h.deps, { log: (line) => lines.push(line) });
}

async function auditOutcomes(h: SyncHarness) {
  const audit = await h.store.listAudit({ tenantId: h.tenantId });
  if (!audit.ok) throw new Error(audit.error.message);
  return audit.value.entries.map((e) => e.body.outcome);
}

async function connectionOf(h: SyncHarness) {
  const connection = await h.store.getConnection({ tenantId: h.tenantId, connectionId: h.connectionId });
  if (!connection.ok) throw new Error(connection.error.message);
  return connection.value;
}

/** A Reapit connection whose CRM answers every request 500, one attempt a phase. */
async function failingConnection(runner: Partial<RunnerDeps> = {}) {
  const spec = withSpec(getProvider('reapit')?.spec ?? expect.unreachable(), { retry: { maxAttempts: 1 } });
  const h = await createSyncHarness('reapit', {
    simulator: { contacts: 5 },
    runner: { ...runner, providerOptions: () => ({ spec }) },
  });
  await h.sim.control.faults({ errorRate: 1 });
  return h;
}

describe('embedded worker', () => {
  it('picks up a due connection, runs its cycle and logs one line for the run', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 30, seed: 2 } });
    try {
      const lines: string[] = [];
      const worker = workerFor(h, lines);
      const { started } = await worker.tick();
      expect(started.map((c) => c.connectionId)).toEqual([h.connectionId]);
      const [report] = await worker.drain();
      expect(report?.progress).toMatchObject({ state: 'idle', stopped: null });
      expect(report?.steps).toBe(5);
      expect(lines).toEqual([
        `run tenant=${h.tenantId} provider=reapit connection=${h.connectionId} state=idle steps=5 fetched=30 upserts=${report?.progress?.lastAudit?.counts.upserts} sent=0`,
      ]);
      expect(await auditOutcomes(h)).toEqual(['completed']);
      expect((await connectionOf(h)).lease).toBeNull();

      // Its next run is one interval away: the next tick has nothing to do.
      expect((await worker.tick()).started).toEqual([]);
      await worker.stop();
    } finally {
      await h.close();
    }
  });

  it('skips a connection whose lease another live worker holds, also when it takes the lease after selection', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 5 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const held = await h.store.acquireLease({
        ...ref,
        owner: OTHER_WORKER,
        ttlMs: 60_000,
        now: new Date(),
      });
      expect(held.ok).toBe(true);
      const worker = workerFor(h);
      expect((await worker.tick()).started).toEqual([]);
      await h.store.releaseLease({ ...ref, owner: OTHER_WORKER });

      // The other worker wins the race between our selection and our run.
      const racing: StoreHandle = new Proxy(h.store, {
        get(target, key) {
          if (key === 'listDueConnections') {
            return (async (params) => {
              const due = await target.listDueConnections(params);
              await target.acquireLease({ ...ref, owner: OTHER_WORKER, ttlMs: 60_000, now: new Date() });
              return due;
            }) satisfies StoreHandle['listDueConnections'];
          }
          const value = Reflect.get(target, key);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const lines: string[] = [];
      const raced = workerFor({ deps: { ...h.deps, store: racing } }, lines);
      expect((await raced.tick()).started).toHaveLength(1);
      const [report] = await raced.drain();
      expect(report?.progress).toMatchObject({ state: 'idle', stopped: 'lease_held' });
      expect(lines[0]).toMatch(/state=idle steps=2 stopped=lease_held$/);
      expect(await auditOutcomes(h)).toEqual([]);
      expect((await connectionOf(h)).lease?.owner).toBe(OTHER_WORKER);
      await worker.stop();
      await raced.stop();
    } finally {
      await h.close();
    }
  });

  it('takes over a lease that expired (its worker died elsewhere) and completes the cycle', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 10 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      await h.store.acquireLease({
        ...ref,
        owner: OTHER_WORKER,
        ttlMs: 1_000,
        now: new Date(Date.now() - 5_000),
      });
      const worker = workerFor(h);
      expect((await worker.tick()).started).toHaveLength(1);
      const [report] = await worker.drain();
      expect(report?.progress).toMatchObject({ state: 'idle', stopped: null });
      expect(await auditOutcomes(h)).toEqual(['completed']);
      expect((await connectionOf(h)).lease).toBeNull();
      await worker.stop();
    } finally {
      await h.close();
    }
  });

  it('runs connections concurrently: a slow connection does not delay another', async () => {
    const opened = await openMemoryStore();
    if (!opened.ok) throw new Error(opened.error.message);
    const store = opened.value;
    const slow = await createSyncHarness('reapit', { store, simulator: { contacts: 60 } });
    const fast = await createSyncHarness('reapit', { store, simulator: { contacts: 5 } });
    try {
      // Each of the slow connection's requests waits 1 s: far longer than the fast one's whole cycle, even on a
      // loaded machine.
      await slow.sim.control.faults({ latencyMs: 1_000 });
      const lines: string[] = [];
      const worker = workerFor(slow, lines);
      expect((await worker.tick()).started).toHaveLength(2);
      await worker.drain();
      expect(lines).toHaveLength(2);
      expect(lines[0]).toContain(`connection=${fast.connectionId} state=idle`);
      expect(lines[1]).toContain(`connection=${slow.connectionId} state=idle`);
      await worker.stop();
    } finally {
      await slow.close();
      await fast.close();
      await store.close();
    }
  });

  it('hands a backoff longer than one tick back to the schedule: the run ends, the next run is due at resumeAt', async () => {
    const h = await failingConnection();
    try {
      const lines: string[] = [];
      const worker = createEmbeddedWorker(h.deps, { tickMs: 1_000, log: (line) => lines.push(line) });
      expect((await worker.tick()).started).toHaveLength(1);
      const [report] = await worker.drain();
      const resumeAt = report?.progress?.resumeAt ?? '';
      expect(report?.progress).toMatchObject({ state: 'backoff', resumePhase: 'fetching' });
      expect(report?.interrupted).toEqual({
        kind: 'deferred',
        message: `backoff until ${resumeAt}; a later tick resumes it`,
      });
      expect(lines[0]).toMatch(/state=backoff steps=2 deferred=/);
      expect((await connectionOf(h)).nextRunAt.toISOString()).toBe(resumeAt);
      expect((await connectionOf(h)).lease).toBeNull();
      await worker.stop();
    } finally {
      await h.close();
    }
  });

  it('ticking more often than once a minute, leaves a backoff due later in the minute alone until its tick', async () => {
    // The clock one second into a minute, so that the first backoff (15–30 s) ends within that minute.
    const offsetMs = 61_000 - (Date.now() % 60_000);
    const clock = () => new Date(Date.now() + offsetMs);
    const h = await failingConnection({ clock });
    try {
      const lines: string[] = [];
      const worker = createEmbeddedWorker(h.deps, { tickMs: 1_000, log: (line) => lines.push(line) });
      expect((await worker.tick()).started).toHaveLength(1);
      const [report] = await worker.drain();
      const resumeAt = Date.parse(report?.progress?.resumeAt ?? '');
      expect(Math.floor(resumeAt / 60_000)).toBe(Math.floor(clock().getTime() / 60_000));
      expect(resumeAt - clock().getTime()).toBeGreaterThan(1_000);

      // The next ticks, before the backoff ends: nothing selected, nothing run.
      expect(await worker.tick()).toEqual({ selected: 0, started: [] });
      expect(await worker.tick()).toEqual({ selected: 0, started: [] });
      expect(lines).toHaveLength(1);
      await worker.stop();
    } finally {
      await h.close();
    }
  });

  it('sleeps more runs in backoff at once than Node warns of, without a leak warning', async () => {
    // One CRM down for many agencies: each run waits out its backoff (15–30 s, within the minute's tick) in-process.
    const h = await failingConnection();
    const refs = [{ tenantId: h.tenantId, connectionId: h.connectionId }];
    for (let i = 0; i < 11; i++) {
      const tenant = must(await h.store.createTenant({ name: `agency-${i}`, syncIntervalSeconds: 900 }));
      const connection = await h.store.addConnection({
        tenantId: tenant.id,
        provider: 'reapit',
        baseUrl: h.sim.baseUrl,
        credentials: credentialsSchema.parse(h.sim.credentials),
        nextRunAt: new Date(),
      });
      refs.push({ tenantId: tenant.id, connectionId: must(connection).id });
    }
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const worker = createEmbeddedWorker(h.deps, { providerConcurrency: refs.length, log: () => {} });
    try {
      expect((await worker.tick()).started).toHaveLength(refs.length);
      // A run released its lease with its next run at the backoff's end: it went on to sleep.
      const sleeping = async () => {
        const connections = await Promise.all(refs.map((ref) => h.store.getConnection(ref)));
        return connections.filter((c) => c.ok && c.value.lease === null && c.value.nextRunAt > new Date())
          .length;
      };
      while ((await sleeping()) < refs.length) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setImmediate(resolve));
      expect(worker.running()).toHaveLength(refs.length);
      expect(warnings).toEqual([]);
    } finally {
      await worker.stop();
      process.off('warning', onWarning);
      await h.close();
    }
  });

  it('a tick whose store throws logs the failure and carries on: the timer-driven tick never rejects', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 5 } });
    try {
      let calls = 0;
      const broken: StoreHandle = new Proxy(h.store, {
        get(target, key) {
          if (key === 'listDueConnections') {
            return (async (params) => {
              calls += 1;
              if (calls === 1) throw new Error('the database system is in recovery mode');
              return target.listDueConnections(params);
            }) satisfies StoreHandle['listDueConnections'];
          }
          const value = Reflect.get(target, key);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const lines: string[] = [];
      const worker = workerFor({ deps: { ...h.deps, store: broken } }, lines);
      // `start` is how the CLI ticks: nothing awaits that tick, so a rejection would end the process.
      worker.start();
      await worker.stop();
      expect(lines).toEqual(['tick failed: the database system is in recovery mode']);

      const next = workerFor({ deps: { ...h.deps, store: broken } });
      expect((await next.tick()).started).toHaveLength(1);
      await next.drain();
      await next.stop();
    } finally {
      await h.close();
    }
  });

  it('on stop, lets the running phase finish, starts no further step, releases the lease; the next worker resumes', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 40 } });
    try {
      await h.sim.control.faults({ latencyMs: 1_500 });
      const lines: string[] = [];
      const worker = workerFor(h, lines);
      expect((await worker.tick()).started).toHaveLength(1);
      // Stop while the fetch phase is waiting on its first page.
      while ((await h.sim.control.stats()).requests < 1)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await worker.stop({ graceMs: 30_000 })).toEqual({ abandoned: 0 });
      expect(worker.running()).toEqual([]);
      expect(lines[0]).toMatch(/state=reconciling steps=2 stopping="stopped before step reconcile-2"$/);
      expect((await connectionOf(h)).lease).toBeNull();
      expect(await auditOutcomes(h)).toEqual([]);
      expect((await worker.tick()).started).toEqual([]);

      await h.sim.control.faults({});
      const next = workerFor(h);
      expect((await next.tick()).started).toHaveLength(1);
      const [report] = await next.drain();
      expect(report?.progress).toMatchObject({ state: 'idle', stopped: null });
      expect(report?.progress?.lastAudit?.counts.fetched).toBe(40);
      expect(await auditOutcomes(h)).toEqual(['completed']);
      await next.stop();
    } finally {
      await h.close();
    }
  });
});
