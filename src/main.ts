import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import path from 'node:path';
import { type Env, parseEnv } from './config/env.ts';
import { err, ok, type Result } from './core/result.ts';
import { readAdminTokenFile } from './persistence/adminTokenFile.ts';
import { formatLeaseOwner } from './persistence/leaseOwner.ts';
import { openStore } from './persistence/openStore.ts';
import { createRemoteStore } from './persistence/remoteStore.ts';
import type { ConnectionRef, LockHolder, RepairStore, Store, StoreHandle } from './persistence/store.ts';
import { ClientCredentialsTokenCache } from './providers/clientCredentials.ts';
import { isLoopback } from './providers/credentialEndpoint.ts';
import type { ConnectionLimiter } from './providers/limiter.ts';
import type { RunnerDeps } from './runner/connectionRunner.ts';
import { startDatabaseClock } from './runner/databaseClock.ts';
import { runConnectionInHolder } from './server/adminApiClient.ts';

/**
 * The composition root: parses the environment once, opens the store it names, and builds what runs
 * connections in this process. The only place that reads `process.env`, opens the database and owns the
 * per-connection limiters and OAuth tokens.
 */
export interface App {
  env: Env;
  /** The embedded database's directory (absolute); `null` on Postgres. */
  dataDir: string | null;
  store: StoreHandle;
  runner: RunnerDeps;
  /**
   * Stops the runs in progress (`RunnerDeps.stopping`) and waits for them to return, their leases released and
   * their machines left where they were last persisted. `close` does it first too.
   */
  stopRuns(): Promise<void>;
  close(): Promise<void>;
}

export type AppError =
  | { kind: 'env' | 'store'; message: string }
  /** The database could not be reached (down, restarting, or a wrong host): a retry may succeed. */
  | { kind: 'unreachable'; message: string }
  /** Another live process holds the embedded database; `openThroughHolder` may still reach it. */
  | { kind: 'locked'; message: string; holder: LockHolder };

export async function openApp(params: {
  /** This process's command line, recorded in the embedded database's lock file. */
  command: string;
  /** Where one-time notices go (a `crm-sync: ` line on stderr by default). */
  notice?: (message: string) => void;
  /** The environment; `process.env` by default. */
  source?: Record<string, string | undefined>;
  /** The host's wall clock in epoch ms, `Date.now` by default: used only if the database's time cannot be read. */
  wallClock?: () => number;
  /** Runs when a pending migration is refused, before they are tried once more (`openStore`). */
  repair?: (store: RepairStore) => Promise<void>;
}): Promise<Result<App, AppError>> {
  const env = parseEnv(params.source ?? process.env);
  if (!env.ok) return err({ kind: 'env', message: env.error.message });
  const notice = params.notice ?? ((message: string) => process.stderr.write(`crm-sync: ${message}\n`));
  const store = await openStore({
    env: env.value,
    command: params.command,
    notice,
    ...(params.repair === undefined ? {} : { repair: params.repair }),
  });
  if (!store.ok) {
    const { error } = store;
    return err(
      error.kind === 'locked'
        ? { kind: 'locked', message: error.message, holder: error.holder }
        : { kind: error.kind === 'unreachable' ? 'unreachable' : 'store', message: error.message },
    );
  }
  const clock = await startDatabaseClock({
    read: () => store.value.databaseTime(),
    wallClock: params.wallClock ?? Date.now,
  });
  const limiters = new Map<string, ConnectionLimiter>();
  const stopping = new AbortController();
  // Every run in progress listens to it: more than Node's default of 10 is no leak, and not to be warned of.
  setMaxListeners(0, stopping.signal);
  const activeRuns = new Set<Promise<unknown>>();
  const runner: RunnerDeps = {
    store: store.value,
    clock: clock.now,
    owner: formatLeaseOwner({ host: hostname(), pid: process.pid, id: randomUUID() }),
    newCycleId: randomUUID,
    limiters,
    tokenCache: new ClientCredentialsTokenCache(),
    stopping: stopping.signal,
    activeRuns,
  };
  const stopRuns = async () => {
    stopping.abort();
    await Promise.allSettled([...activeRuns]);
  };
  return ok({
    env: env.value,
    dataDir: env.value.DATABASE_URL === undefined ? path.resolve(env.value.CRM_SYNC_DATA_DIR) : null,
    store: store.value,
    runner,
    stopRuns,
    close: async () => {
      await stopRuns();
      clock.stop();
      for (const limiter of limiters.values()) await limiter.stop();
      await store.value.close();
    },
  });
}

/** A command going through the process that holds the embedded database, instead of opening it. */
export interface HolderApp {
  holder: LockHolder & { adminUrl: string };
  /** The holder's store: the data methods of `remoteStoreMethods`; the others and transactions fail. */
  store: Store;
  clock: () => Date;
  /** Runs a connection in the holder (its admin API's sync, retry or reset) until it settles; the failure's reason. */
  runConnection(ref: ConnectionRef, mode: 'cycle' | 'retry' | 'reset'): Promise<Result<void, string>>;
}

/**
 * Reaches `holder` (from a `locked` error) through its admin server: on this host, at its published URL, with
 * `CRM_SYNC_ADMIN_TOKEN` or else the token it wrote beside its lock file. The failure says why it cannot.
 */
export async function openThroughHolder(params: {
  holder: LockHolder;
  /** The environment; `process.env` by default. */
  source?: Record<string, string | undefined>;
}): Promise<Result<HolderApp, string>> {
  const { holder } = params;
  const env = parseEnv(params.source ?? process.env);
  if (!env.ok) return err(env.error.message);
  const { adminUrl } = holder;
  if (adminUrl === null) return err('it serves no admin API');
  // Its published address is a loopback one, meaningful only on its own host.
  if (holder.host !== hostname()) return err(`it runs on another host (${holder.host})`);
  // Its store is served to loopback only: bound to another address (`serve --host 192.0.2.2`), every call it was
  // sent was refused, and each command failed with exit 1 as if the holder had broken.
  const listening = URL.canParse(adminUrl) ? new URL(adminUrl) : null;
  if (listening === null || !isLoopback(listening.hostname))
    return err(
      `it listens on ${listening?.host ?? adminUrl}, not on loopback, and serves its store to loopback only: run it with --host 127.0.0.1 or 0.0.0.0`,
    );
  const token =
    env.value.CRM_SYNC_ADMIN_TOKEN ?? (await readAdminTokenFile(path.resolve(env.value.CRM_SYNC_DATA_DIR)));
  if (token === null) return err('no admin token to reach it: set CRM_SYNC_ADMIN_TOKEN');
  const address = {
    adminUrl,
    token,
    holderName: `the running ${holder.command} (pid ${holder.pid})`,
    tokenAccepted: false,
  };
  return ok({
    holder: { ...holder, adminUrl },
    store: createRemoteStore(address),
    clock: () => new Date(),
    runConnection: (ref, mode) => runConnectionInHolder(address, ref, mode),
  });
}
