import { parseEnv } from '../config/env.ts';
import { parseInterval } from '../core/interval.ts';
import type { Result } from '../core/result.ts';
import { type App, type AppError, type HolderApp, openApp, openThroughHolder } from '../main.ts';
import type { Connection, Tenant } from '../persistence/records.ts';
import type { RepairStore, Store, StoreError } from '../persistence/store.ts';
import type { ProviderName } from '../providers/provider.ts';
import { type ProviderEntry, registeredProviders } from '../providers/registry.ts';
import type { RunnerDeps } from '../runner/connectionRunner.ts';
import { pullInNextRun } from '../runner/nextRun.ts';
import { CommandFailed } from './commandFailed.ts';
import { diagnostics } from './diagnostics.ts';
import { UsageError } from './usageError.ts';

/**
 * What the operator commands share: opening the app with a one-line error, resolving names to rows, and
 * checking arguments before anything is opened or written. A bad argument is a `UsageError` (exit 2); a store
 * failure on a well-formed command is `CommandFailed` (exit 1).
 */

/** What a command works on: the database it opened, or the running `serve`/`worker` that holds it. */
export type CliApp = {
  store: Store;
  /** Stamps writes. */
  clock: () => Date;
} & ({ via: 'own'; runner: RunnerDeps } | { via: 'holder'; runConnection: HolderApp['runConnection'] });

/**
 * Opens the app (the database `CRM_SYNC_DATA_DIR` or `DATABASE_URL` names), runs `use`, and closes it.
 * `command` is recorded in the embedded database's lock file, so it names the command only, never its
 * arguments (they may carry credentials). When a running `serve` or `worker` holds the embedded database,
 * the command goes through it (one stderr line says so; stdout stays the command's own); when it cannot
 * (no admin URL, no token, another host), or the command passes `ownDatabaseOnly` (why it needs the database
 * itself), it is one line naming the holder, exit 2. `repair` runs on a database a pending migration refuses,
 * before the migrations are tried once more (`openStore`).
 */
export async function withApp<T>(
  command: string,
  use: (app: CliApp) => Promise<T>,
  options: { ownDatabaseOnly?: string; repair?: (store: RepairStore) => Promise<void> } = {},
): Promise<T> {
  const opened = await openApp({
    command: `crm-sync ${command}`,
    ...(options.repair === undefined ? {} : { repair: options.repair }),
  });
  if (opened.ok) {
    const app = opened.value;
    try {
      return await use({ via: 'own', store: app.store, clock: app.runner.clock, runner: app.runner });
    } finally {
      await app.close();
    }
  }
  if (opened.error.kind !== 'locked') throw openFailure(opened.error);
  const { holder } = opened.error;
  if (options.ownDatabaseOnly !== undefined) {
    throw new UsageError(
      `${command} cannot go through ${holder.command} (pid ${holder.pid}), which holds the database: ${options.ownDatabaseOnly}; stop it and run the command again`,
    );
  }
  const through = await openThroughHolder({ holder });
  if (!through.ok) throw new UsageError(`${opened.error.message} (cannot go through it: ${through.error})`);
  const { store, clock, runConnection } = through.value;
  process.stderr.write(
    `crm-sync: going through the running ${holder.command} (pid ${holder.pid}) at ${through.value.holder.adminUrl}\n`,
  );
  return use({ via: 'holder', store, clock, runConnection });
}

/**
 * Opens the app, and its diagnostic lines' logger, for a process that must hold the database itself (`serve`,
 * `worker`): a live holder is one line naming it, exit 2 — going through it, which other commands do, is no way to
 * run a second one. A one-time notice (a generated credentials key) is a warning among those diagnostic lines
 * (`LOG_LEVEL`, `LOG_FORMAT`), so a log collector reading JSON lines gets one too.
 */
export async function openOwnApp(
  command: 'serve' | 'worker',
  logPrefix: string,
): Promise<{ app: App; log: ReturnType<typeof diagnostics> }> {
  const env = parseEnv(process.env);
  const log = env.ok ? diagnostics(env.value, logPrefix) : undefined;
  const opened = await openApp({
    command: `crm-sync ${command}`,
    ...(log === undefined ? {} : { notice: (message: string) => log(message, 'warn') }),
  });
  if (opened.ok) return { app: opened.value, log: log ?? diagnostics(opened.value.env, logPrefix) };
  if (opened.error.kind !== 'locked') throw openFailure(opened.error);
  const { holder } = opened.error;
  throw new UsageError(
    `cannot start ${command}: ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}) holds the database, and one process serves it at a time; stop it first`,
  );
}

/**
 * Why the app could not be opened, as the exit code tells it: a database out of reach (down, restarting, or a
 * wrong host: a retry may succeed) is a failure of a well-formed command (1); anything else is configuration (2).
 */
function openFailure(error: Exclude<AppError, { kind: 'locked' }>): Error {
  return error.kind === 'unreachable' ? new CommandFailed(error.message) : new UsageError(error.message);
}

/**
 * The value of a store call, or `CommandFailed` with the store's message; `UsageError` when the holder gone through
 * refused the admin token: configuration, which running the command again cannot fix.
 */
export function must<T>(result: Result<T, StoreError>, doing: string): T {
  if (result.ok) return result.value;
  const { error } = result;
  if (error.kind === 'unavailable' && error.adminTokenRefused)
    throw new UsageError(`${doing}: ${error.message}`);
  throw new CommandFailed(`${doing}: ${error.message}`);
}

/** The tenant named `name`; exit 2 when there is none. */
export async function requireTenant(store: Store, name: string): Promise<Tenant> {
  // Trimmed, as `tenant add` stores it.
  const tenant = await store.getTenantByName({ name: name.trim() });
  if (!tenant.ok && tenant.error.kind === 'not_found') throw unknownTenant(name);
  return must(tenant, `reading tenant "${name}"`);
}

/** What a command names when no tenant is called `name`. */
export function unknownTenant(name: string): UsageError {
  return new UsageError(`unknown tenant "${name}" (crm-sync tenant list shows them)`);
}

/** A registered provider by name; exit 2 naming the known ones otherwise. Needs no database. */
export function requireProvider(name: string): ProviderEntry {
  const entry = registeredProviders().find((e) => e.name === name);
  if (entry === undefined) {
    const known = registeredProviders()
      .map((e) => e.name)
      .join(', ');
    throw new UsageError(`unknown provider "${name}" (known: ${known})`);
  }
  return entry;
}

/** The tenant's connection to `provider` (at most one per provider); exit 2 when it has none. */
export async function requireConnection(
  store: Store,
  tenant: Tenant,
  provider: ProviderName,
): Promise<Connection> {
  const connections = must(
    await store.listConnections({ tenantId: tenant.id }),
    `listing connections of "${tenant.name}"`,
  );
  const connection = connections.find((c) => c.provider === provider);
  if (connection === undefined) {
    throw new UsageError(`tenant "${tenant.name}" has no ${provider} connection (crm-sync connection list)`);
  }
  return connection;
}

/** A sync interval such as `15m` (1m to 1d, the bounds the store also enforces); exit 2 otherwise. */
export function parseIntervalArg(text: string): number {
  const seconds = parseInterval(text);
  if (!seconds.ok) throw new UsageError(seconds.error);
  return seconds.value;
}

/** Brings each connection's next run within one new interval of `now`; returns how many moved. */
export async function bringForward(
  store: Store,
  connections: readonly Connection[],
  seconds: number,
  now: Date,
): Promise<number> {
  let moved = 0;
  for (const connection of connections) {
    if (must(await pullInNextRun(store, connection, seconds, now), 'rescheduling the next run')) moved += 1;
  }
  return moved;
}
