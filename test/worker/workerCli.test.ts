import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { readDataDirLock } from '../../src/persistence/dataDirLock.ts';
import { formatLeaseOwner } from '../../src/persistence/leaseOwner.ts';
import { openStore } from '../../src/persistence/openStore.ts';
import { credentialsSchema } from '../../src/persistence/records.ts';
import type { ConnectionRef, StoreHandle } from '../../src/persistence/store.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { cliArgs } from '../support/cliProcess.ts';
import { type StartedSimulator, startSimulator } from '../support/simulators.ts';
import { tempDirs } from '../support/tempDirs.ts';

const secretKey = randomBytes(32).toString('hex');
const freshDataDir = tempDirs('crm-sync-worker-');

async function open(dataDir: string): Promise<StoreHandle> {
  const opened = await openStore({
    env: { CRM_SYNC_DATA_DIR: dataDir, DATABASE_URL: undefined, CRM_SYNC_SECRET_KEY: secretKey },
    command: 'crm-sync test',
    notice: () => {},
  });
  if (!opened.ok) throw new Error(opened.error.message);
  return opened.value;
}

/** An embedded database with one tenant and one due connection to `sim`; closed again for the worker. */
async function seed(sim: StartedSimulator) {
  const dataDir = freshDataDir();
  const store = await open(dataDir);
  try {
    const tenant = await store.createTenant({ name: 'agency-worker', syncIntervalSeconds: 900 });
    if (!tenant.ok) throw new Error(tenant.error.message);
    const connection = await store.addConnection({
      tenantId: tenant.value.id,
      provider: 'reapit',
      baseUrl: sim.baseUrl,
      credentials: credentialsSchema.parse(sim.credentials),
      nextRunAt: new Date(),
    });
    if (!connection.ok) throw new Error(connection.error.message);
    return { dataDir, ref: { tenantId: tenant.value.id, connectionId: connection.value.id } };
  } finally {
    await store.close();
  }
}

function startWorker(dataDir: string, graceMs = 20_000, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, cliArgs(['worker', '--tick-ms', '500', '--grace-ms', String(graceMs)]), {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CRM_SYNC_DATA_DIR: dataDir,
      CRM_SYNC_SECRET_KEY: secretKey,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** Collects stderr; `until` resolves once a line matches. */
function lines(proc: ChildProcess) {
  const seen: string[] = [];
  const waiters: Array<{ match: RegExp; resolve: (line: string) => void }> = [];
  let partial = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      seen.push(line);
      for (const waiter of waiters.filter((w) => w.match.test(line))) waiter.resolve(line);
    }
  });
  return {
    seen,
    until: (match: RegExp) =>
      new Promise<string>((resolve) => {
        const found = seen.find((line) => match.test(line));
        if (found !== undefined) resolve(found);
        else waiters.push({ match, resolve });
      }),
  };
}

const exited = (proc: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );

/** Resolves once the simulator has received a request (the first page, then in flight). */
async function firstRequest(sim: StartedSimulator): Promise<void> {
  while ((await sim.control.stats()).requests < 1) await new Promise((resolve) => setTimeout(resolve, 100));
}

/** A worker process over a database seeded with one due connection to a Reapit simulator; both stopped after `body`. */
async function withWorker(
  options: {
    contacts: number;
    seed: number;
    latencyMs?: number;
    graceMs?: number;
    env?: Record<string, string>;
  },
  body: (worker: {
    sim: StartedSimulator;
    dataDir: string;
    ref: ConnectionRef;
    proc: ChildProcess;
    exit: ReturnType<typeof exited>;
    out: ReturnType<typeof lines>;
  }) => Promise<void>,
): Promise<void> {
  const sim = await startSimulator('reapit', { contacts: options.contacts, seed: options.seed });
  try {
    if (options.latencyMs !== undefined) await sim.control.faults({ latencyMs: options.latencyMs });
    const { dataDir, ref } = await seed(sim);
    const proc = startWorker(dataDir, options.graceMs, options.env);
    await body({ sim, dataDir, ref, proc, exit: exited(proc), out: lines(proc) });
  } finally {
    await sim.close();
  }
}

/** The worker's database opened here, closed after `body`. */
async function inStore(dataDir: string, body: (store: StoreHandle) => Promise<void>): Promise<void> {
  const store = await open(dataDir);
  try {
    await body(store);
  } finally {
    await store.close();
  }
}

/** Runs the connection's cycle in this process and expects it to finish idle, having fetched `fetched`. */
async function expectResumedHere(store: StoreHandle, ref: ConnectionRef, fetched: number): Promise<void> {
  const deps = {
    store,
    clock: () => new Date(),
    owner: formatLeaseOwner({ host: hostname(), pid: process.pid, id: randomUUID() }),
    newCycleId: randomUUID,
  };
  const resumed = await runConnection(deps, ref, 'cycle');
  expect(resumed.ok && resumed.value.state).toBe('idle');
  expect(resumed.ok && resumed.value.context.lastAudit?.counts.fetched).toBe(fetched);
}

describe('crm-sync worker', () => {
  it('syncs the due connection, then exits 0 promptly on SIGTERM, leaving no lease behind', async () => {
    await withWorker({ contacts: 25, seed: 4 }, async ({ dataDir, ref, proc, exit, out }) => {
      const run = await out.until(/run tenant=/);
      expect(run).toContain(
        `tenant=${ref.tenantId} provider=reapit connection=${ref.connectionId} state=idle`,
      );
      expect(run).toContain('fetched=25');

      const signalledAt = Date.now();
      proc.kill('SIGTERM');
      expect(await exit).toEqual({ code: 0, signal: null });
      // Promptly, not hung: closing the file-backed PGlite takes 1-3 s, more on a loaded machine.
      expect(Date.now() - signalledAt).toBeLessThan(20_000);
      expect(out.seen.at(-1)).toBe('crm-sync worker: stopped');

      await inStore(dataDir, async (store) => {
        const connection = await store.getConnection(ref);
        expect(connection.ok && connection.value.lease).toBeNull();
        const audit = await store.listAudit({ tenantId: ref.tenantId });
        expect(audit.ok && audit.value.entries.map((e) => e.body.outcome)).toEqual(['completed']);
      });
    });
  }, 120_000);

  // LOG_LEVEL was parsed and documented but applied to nothing: every line was written whatever it said.
  it('at LOG_LEVEL=warn writes none of its info lines (started, a run, stopped)', async () => {
    const env = { LOG_LEVEL: 'warn' };
    await withWorker({ contacts: 25, seed: 4, env }, async ({ sim, proc, exit, out }) => {
      // Started and ticking: its first run has reached the CRM.
      await firstRequest(sim);
      proc.kill('SIGTERM');
      expect(await exit).toEqual({ code: 0, signal: null });
      expect(out.seen.filter((line) => line !== '')).toEqual([]);
    });
  }, 60_000);

  it('at LOG_FORMAT=json writes each line as one JSON object, with its level, for a log collector', async () => {
    const env = { LOG_FORMAT: 'json' };
    await withWorker({ contacts: 25, seed: 4, env }, async ({ sim, proc, exit, out }) => {
      await firstRequest(sim);
      proc.kill('SIGTERM');
      expect(await exit).toEqual({ code: 0, signal: null });
      const written = out.seen.filter((line) => line !== '').map((line) => JSON.parse(line));
      expect(written[0]).toMatchObject({
        level: 30,
        name: 'crm-sync worker',
        pid: proc.pid,
        msg: expect.stringMatching(/^started \(pid \d+, pglite, tick 500 ms\)$/),
      });
      expect(written.at(-1)).toMatchObject({ level: 30, name: 'crm-sync worker', msg: 'stopped' });
      expect(written.every((entry) => typeof entry.time === 'number')).toBe(true);
    });
  }, 60_000);

  it('stopped with SIGTERM mid-phase past its grace, leaves the machine mid-cycle (not in error), no lease, no lock', async () => {
    const options = { contacts: 250, seed: 6, latencyMs: 5_000, graceMs: 300 };
    await withWorker(options, async ({ sim, dataDir, ref, proc, exit, out }) => {
      await firstRequest(sim);
      proc.kill('SIGTERM');
      expect(await exit).toEqual({ code: 0, signal: null });
      expect(out.seen).toContainEqual(expect.stringMatching(/abandoned 1 run\(s\) mid-phase/));
      expect(out.seen.at(-1)).toBe('crm-sync worker: stopped');
      expect(await readDataDirLock(dataDir)).toBeNull();
      await sim.control.faults({});
      await inStore(dataDir, async (store) => {
        const left = await store.getConnection(ref);
        expect(left.ok && left.value.lease).toBeNull();
        const snapshot = await store.loadSnapshot(ref);
        expect(snapshot.ok && snapshot.value?.stateValue).toBe('fetching');
        const audit = await store.listAudit({ tenantId: ref.tenantId });
        expect(audit.ok && audit.value.entries).toEqual([]);
        await expectResumedHere(store, ref, 250);
      });
    });
  }, 120_000);

  // One Ctrl-C reaches the whole process group, and tsx (which npm run crm-sync goes through) passes it on to its
  // child as well when the child has not acknowledged it within 30 ms: the worker read the echo as a second signal
  // and exited 130 at once, its phase cut without the grace and its lease left behind.
  it('takes a SIGINT repeated 50 ms later, as one Ctrl-C relayed by tsx, as the same one: stops gracefully', async () => {
    const options = { contacts: 50, seed: 6, latencyMs: 5_000, graceMs: 300 };
    await withWorker(options, async ({ sim, dataDir, ref, proc, exit, out }) => {
      await firstRequest(sim);
      proc.kill('SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 50));
      proc.kill('SIGINT');
      expect(await exit).toEqual({ code: 0, signal: null });
      expect(out.seen.at(-1)).toBe('crm-sync worker: stopped');
      expect(await readDataDirLock(dataDir)).toBeNull();
      await inStore(dataDir, async (store) => {
        const left = await store.getConnection(ref);
        expect(left.ok && left.value.lease).toBeNull();
      });
    });
  }, 120_000);

  it('killed mid-phase (SIGKILL), leaves a snapshot and a lease the next run resumes from at once', async () => {
    await withWorker(
      { contacts: 250, seed: 6, latencyMs: 5_000 },
      async ({ sim, dataDir, ref, proc, exit }) => {
        // Kill it while the first page is in flight (each response takes 5 s).
        await firstRequest(sim);
        proc.kill('SIGKILL');
        expect((await exit).signal).toBe('SIGKILL');
        await sim.control.faults({});
        await inStore(dataDir, async (store) => {
          const left = await store.getConnection(ref);
          expect(left.ok && left.value.lease?.owner).toMatch(new RegExp(`^${hostname()}:${proc.pid}:`));
          const snapshot = await store.loadSnapshot(ref);
          expect(snapshot.ok && snapshot.value?.stateValue).toBe('fetching');
          // The dead worker's lease is taken over at once (same host, pid gone); the cycle completes.
          await expectResumedHere(store, ref, 250);
          const audit = await store.listAudit({ tenantId: ref.tenantId });
          expect(audit.ok && audit.value.entries.map((e) => e.body.outcome)).toEqual(['completed']);
        });
      },
    );
  }, 120_000);
});
