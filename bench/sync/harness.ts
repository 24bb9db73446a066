/** What the figures run on: stores, simulators (in this process or a child), connections timed by phase. */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, setPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FetchMode } from '../../src/actors/context.ts';
import type { CycleCounts } from '../../src/machines/phases.ts';
import { formatLeaseOwner, isPidAlive, ownerGoneOnHost } from '../../src/persistence/leaseOwner.ts';
import { openPgliteStore, PGLITE_SUBDIR } from '../../src/persistence/pglite.ts';
import { openPostgresStore } from '../../src/persistence/postgres.ts';
import { credentialsSchema } from '../../src/persistence/records.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';
import type { Store, StoreHandle } from '../../src/persistence/store.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { type SimControl, simControlClient } from '../../src/providers/simulator/server.ts';
import { noRateLimits, type ProviderLimits, type ProviderSpec } from '../../src/providers/spec.ts';
import { type RunnerDeps, runConnection } from '../../src/runner/connectionRunner.ts';
import { type StartedSimulator, startSimulator } from '../../test/support/simulators.ts';
import { must } from './args.ts';

/** The entry script: child processes (a simulator, a memory sync, a push) run it with a role flag. */
export const BENCH_ENTRY = fileURLToPath(new URL('../sync.ts', import.meta.url));

const secrets = createSecretBox(randomBytes(32));
const isOwnerGone = ownerGoneOnHost(hostname(), isPidAlive);

export type Backend = 'pglite' | 'postgres';

interface OpenedStore {
  store: StoreHandle;
  close(): Promise<void>;
}

const pgliteOptions = (dataDir: string) => ({
  dataDir,
  secrets,
  isOwnerGone,
  holder: { pid: process.pid, host: hostname(), command: 'bench:sync', startedAt: new Date().toISOString() },
  isPidAlive,
});

/** Where a bench process finds the template database its parent made (child processes inherit it). */
const TEMPLATE_ENV = 'CRM_SYNC_BENCH_PGLITE_TEMPLATE';
let templateMade: Promise<string> | null = null;

/**
 * A migrated, empty PGlite database that every bench store starts as a copy of. Creating one runs initdb inside
 * WebAssembly, about 9 s of CPU on this machine against 1.3 s to open a copy, and a `--quick` run opens ten; an
 * orchestrator in service opens its existing directory the same way.
 */
export async function pgliteTemplate(): Promise<string> {
  const inherited = process.env[TEMPLATE_ENV];
  if (inherited !== undefined) return inherited;
  templateMade ??= (async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'crm-sync-bench-template-'));
    const store = must(await openPgliteStore(pgliteOptions(dir)));
    await store.close();
    process.env[TEMPLATE_ENV] = dir;
    return dir;
  })();
  return templateMade;
}

/** Removes the template database, if this process made it (a failure to make it has been reported already). */
export async function removePgliteTemplate(): Promise<void> {
  const dir = await templateMade?.catch(() => null);
  if (dir !== undefined && dir !== null) rmSync(dir, { recursive: true, force: true });
}

/** A file-backed PGlite (a copy of the template) in a temp dir, or a fresh database on the bench's Postgres server. */
export async function openBackend(backend: Backend, postgresUrl: string | null): Promise<OpenedStore> {
  if (backend === 'pglite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'crm-sync-bench-'));
    cpSync(path.join(await pgliteTemplate(), PGLITE_SUBDIR), path.join(dir, PGLITE_SUBDIR), {
      recursive: true,
    });
    const store = must(await openPgliteStore(pgliteOptions(dir)));
    return {
      store,
      close: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (postgresUrl === null) throw new Error('no Postgres server');
  const store = must(await openPostgresStore({ url: postgresUrl, secrets, isOwnerGone }));
  return { store, close: () => store.close() };
}

/** Rate limits off: the figures measure the engine (the soak: faults), not pacing. */
export const unlimited = noRateLimits;

type SimOptions = { contacts: number; seed?: number; limits?: Partial<ProviderLimits> };

export type Sim = StartedSimulator;

/** A simulator in this process, its control API retried once (`retryingControl`). */
export async function startSim(provider: ProviderName, options: SimOptions): Promise<Sim> {
  const started = await startSimulator(provider, options);
  return { ...started, control: retryingControl(started.control) };
}

/**
 * A simulator in a process of its own: the provider stamps a request's arrival on a clock that the client's
 * own stalls (a garbage collection, a store write) do not hold back, as a real provider's does. In the client's
 * process, a request that a stall held between being sent and being read reached the window late and bunched
 * with the next, now and then a 429 (agentOS's costs a minute: efficiency 0.29 in one --quick run in two).
 */
export async function startSimProcess(
  provider: ProviderName,
  options: SimOptions,
  niceness = 0,
): Promise<Sim> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      BENCH_ENTRY,
      '--sim-child',
      provider,
      // A limit switched off is `undefined`, which JSON drops (the simulator would keep its documented one): null.
      JSON.stringify(options, (_key, value: unknown) => (value === undefined ? null : value)),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  if (niceness !== 0 && child.pid !== undefined) setPriority(child.pid, niceness);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const first = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
  if (first.done === true) throw new Error(`simulator child ${provider} exited ${await exited}`);
  const started = JSON.parse(first.value) as { baseUrl: string; credentials: Record<string, unknown> };
  return {
    ...started,
    control: retryingControl(simControlClient(started.baseUrl)),
    close: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

/** In the child: serves one simulator until stdin closes. */
export async function simChild(provider: ProviderName, options: SimOptions) {
  const limits = Object.fromEntries(
    Object.entries(options.limits ?? {}).map(([name, value]) => [name, value ?? undefined]),
  );
  const running = await startSimulator(provider, { ...options, limits });
  process.stdout.write(`${JSON.stringify({ baseUrl: running.baseUrl, credentials: running.credentials })}\n`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve));
  await running.close();
}

/**
 * The control API with one retry: a keep-alive socket the simulator's server is closing as idle can reset
 * the next request (ECONNRESET); every control call is safe to repeat except `edits`, which is only sent
 * again when no response came back (the reset happens before the request is read).
 */
export function retryingControl(control: SimControl): SimControl {
  const again =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch {
        await new Promise((r) => setTimeout(r, 50));
        return fn(...args);
      }
    };
  return {
    records: again(control.records),
    edits: again(control.edits),
    remove: again(control.remove),
    faults: again(control.faults),
    stats: again(control.stats),
    writeAccess: again(control.writeAccess),
  };
}

/** Time spent in each machine state, from the snapshot saved on every transition. */
class PhaseClock {
  private current: { state: string; since: number } | null = null;
  readonly totals = new Map<string, number>();

  see(state: string): void {
    const now = performance.now();
    if (this.current !== null && this.current.state !== state) {
      this.totals.set(
        this.current.state,
        (this.totals.get(this.current.state) ?? 0) + now - this.current.since,
      );
    }
    if (this.current?.state !== state) this.current = { state, since: now };
  }

  reset(): void {
    this.current = null;
    this.totals.clear();
  }

  ms(state: string): number {
    return this.totals.get(state) ?? 0;
  }
}

/**
 * Time spent inside the store (its SQL, and reading the rows back): by method, and in all, counting time when calls
 * overlapped once (a snapshot save may run beside a phase's own calls).
 */
class StoreClock {
  readonly totals = new Map<string, number>();
  private busyMs = 0;
  private active = 0;
  private busySince = 0;

  async time<T>(method: string, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    if (this.active++ === 0) this.busySince = started;
    try {
      return await call();
    } finally {
      const now = performance.now();
      this.totals.set(method, (this.totals.get(method) ?? 0) + now - started);
      if (--this.active === 0) this.busyMs += now - this.busySince;
    }
  }

  reset(): void {
    this.totals.clear();
    this.busyMs = 0;
  }

  /** Milliseconds the store was busy, and the methods taking the most, largest first. */
  summary(top: number): { ms: number; methods: Array<[string, number]> } {
    const methods = [...this.totals].sort((a, b) => b[1] - a[1]);
    return { ms: this.busyMs, methods: methods.slice(0, top) };
  }
}

/**
 * The store, with every snapshot save reported to `clock` (the runner saves one per transition) and every call
 * timed by `storeClock`.
 */
function timedStore(store: Store, clock: PhaseClock, storeClock: StoreClock): Store {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      const method = String(key);
      return (...args: unknown[]) => {
        if (method === 'saveSnapshot')
          clock.see(String((args[0] as Parameters<Store['saveSnapshot']>[0]).stateValue));
        return storeClock.time(method, () => value.apply(target, args));
      };
    },
  });
}

export interface Connection {
  ref: { tenantId: string; connectionId: string };
  deps: RunnerDeps;
  phases: PhaseClock;
  /** Time inside the store during the last cycle, by method. */
  storeTime: StoreClock;
  /** One cycle to settle; throws unless the machine ends idle. */
  cycle(fetchMode?: FetchMode): Promise<number>;
  /** The counts of the last cycle `cycle` ran, from the machine's own summary of it. */
  lastCounts(): CycleCounts | null;
}

export async function connect(
  store: StoreHandle,
  provider: ProviderName,
  sim: Sim,
  spec: ProviderSpec | undefined,
): Promise<Connection> {
  const tenant = must(await store.createTenant({ name: `bench-${randomUUID()}`, syncIntervalSeconds: 900 }));
  const connection = must(
    await store.addConnection({
      tenantId: tenant.id,
      provider,
      baseUrl: sim.baseUrl,
      credentials: credentialsSchema.parse(sim.credentials),
      nextRunAt: new Date(),
    }),
  );
  const ref = { tenantId: tenant.id, connectionId: connection.id };
  const phases = new PhaseClock();
  const storeTime = new StoreClock();
  let lastCounts: CycleCounts | null = null;
  const deps: RunnerDeps = {
    store: timedStore(store, phases, storeTime),
    clock: () => new Date(),
    owner: formatLeaseOwner({ host: hostname(), pid: process.pid, id: randomUUID() }),
    newCycleId: randomUUID,
    limiters: new Map(),
    ...(spec === undefined ? {} : { providerOptions: () => ({ spec }) }),
  };
  return {
    ref,
    deps,
    phases,
    storeTime,
    async cycle(fetchMode = 'delta') {
      phases.reset();
      storeTime.reset();
      const started = performance.now();
      const run = must(await runConnection({ ...deps, fetchMode }, ref));
      const seconds = (performance.now() - started) / 1000;
      phases.see('done');
      if (run.state !== 'idle')
        throw new Error(`cycle ended ${run.state}: ${JSON.stringify(run.context).slice(0, 2_000)}`);
      lastCounts = run.context.lastAudit?.counts ?? null;
      return seconds;
    },
    lastCounts: () => lastCounts,
  };
}

export function getReapitSpec(): ProviderSpec {
  const entry = getProvider('reapit');
  if (entry === undefined) throw new Error('reapit is not registered');
  return entry.spec;
}

export async function requestsDuring<T>(
  sim: Sim,
  run: () => Promise<T>,
): Promise<{ value: T; requests: number }> {
  const before = await sim.control.stats();
  const value = await run();
  const after = await sim.control.stats();
  return { value, requests: after.requests - before.requests };
}
