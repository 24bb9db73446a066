import type { Command } from 'commander';
import { err, ok, type Result } from '../core/result.ts';
import { stateInWords } from '../machines/connectionContext.ts';
import type { Connection, Tenant } from '../persistence/records.ts';
import { type RunnerDeps, runConnection } from '../runner/connectionRunner.ts';
import { retryRefusalUnderLease, syncRefusal, syncRefusalUnderLease } from '../runner/syncRefusal.ts';
import { type CliApp, must, requireConnection, requireProvider, requireTenant, withApp } from './app.ts';
import { type ConnectionStatus, formatStatuses, readStatus } from './connectionStatus.ts';
import { formatInstant, print, shellWord } from './output.ts';
import { UsageError } from './usageError.ts';

interface SyncFlags {
  tenant: string;
  provider?: string;
  json?: boolean;
}

/**
 * `sync --tenant T [--provider P]`: one cycle now for each enabled connection of the tenant, concurrently.
 * A machine stopped mid-cycle (a killed `sync`, a crashed worker) resumes where its snapshot left it, so a
 * killed `sync` is simply run again. Through a running `serve`/`worker`, the cycles run in that process (its
 * admin API's sync). Exit 1 when a connection did not end idle.
 */
export function registerSync(program: Command): void {
  program
    .command('sync')
    .description("run one sync cycle now for a tenant's enabled connections (resumes an interrupted cycle)")
    .requiredOption('--tenant <name>', 'tenant name')
    .option('--provider <name>', 'only this connection')
    .option('--json', 'print an array of connection states as JSON')
    .action(async (flags: SyncFlags) => {
      const entry = flags.provider === undefined ? null : requireProvider(flags.provider);
      await withApp('sync', async (app) => {
        const tenant = await requireTenant(app.store, flags.tenant);
        let connections: Connection[];
        if (entry === null) {
          const all = must(await app.store.listConnections({ tenantId: tenant.id }), 'listing connections');
          connections = all.filter((c) => c.enabled);
        } else {
          connections = [await requireEnabled(app, tenant, entry.name)];
        }
        const statuses = await runAll(app, tenant, connections, 'cycle');
        print(flags.json, statuses, () =>
          statuses.length === 0
            ? `tenant ${tenant.name} has no enabled connections\n`
            : formatStatuses(statuses),
        );
        if (statuses.some((s) => s.state !== 'idle' || s.runError !== undefined)) process.exitCode = 1;
      });
    });
}

/**
 * `retry --tenant T --provider P`: leads a connection out of `error` into the phase that failed, with a fresh
 * attempt budget, and runs on until it settles.
 */
export function registerRetry(program: Command): void {
  program
    .command('retry')
    .description('continue a connection stopped in error, from the phase that failed')
    .requiredOption('--tenant <name>', 'tenant name')
    .requiredOption('--provider <name>', 'provider of the connection')
    .option('--json', 'print the resulting connection state as JSON')
    .action(async (flags: SyncFlags & { provider: string }) => {
      const entry = requireProvider(flags.provider);
      await withApp('retry', async (app) => {
        const tenant = await requireTenant(app.store, flags.tenant);
        const connection = await requireEnabled(app, tenant, entry.name);
        const before = await readStatus(app.store, tenant, connection, app.clock());
        const refusal = retryRefusal(before);
        if (refusal !== null) throw new UsageError(refusal);
        const [status] = await runAll(app, tenant, [connection], 'retry');
        print(flags.json, status, () => (status === undefined ? '' : formatStatuses([status])));
        if (status === undefined || status.state !== 'idle' || status.runError !== undefined)
          process.exitCode = 1;
      });
    });
}

/** Why `sync` does not run a connection as `readStatus` reads it; `null` when it runs. */
function syncRefusalOf(status: ConnectionStatus, now: Date, retryHow: string): string | null {
  // An unreadable snapshot's saved state is no machine's: an older version's the run restarts, a newer one's needs a
  // reset (which the problem names), whatever state it was saved in.
  if (status.snapshotProblem !== null) return status.snapshotRestartsOnItsOwn ? null : status.snapshotProblem;
  return syncRefusal(status, now, retryHow);
}

/** Why `retry` has nothing to do for a connection as `readStatus` reads it; `null` when it is in error. */
export function retryRefusal(before: ConnectionStatus): string | null {
  const which = `the ${before.provider} connection of ${before.tenant}`;
  // The state an unreadable snapshot was saved in is no machine to retry: run, an older version's restarts idle (and
  // the retry refused after writing); a newer one's needs a reset, which the problem names.
  if (before.snapshotProblem !== null) {
    const next = before.snapshotRestartsOnItsOwn ? '; crm-sync sync runs it now' : '';
    return `${which} has a ${before.snapshotProblem}${next}; nothing to retry`;
  }
  if (before.state === 'error') return null;
  const hint =
    before.state === 'backoff'
      ? `it resumes by itself at ${formatInstant(before.resumeAt)}`
      : 'crm-sync sync runs a cycle';
  return `${which} is ${stateInWords(before.state)}, not in error; nothing to retry (${hint})`;
}

async function requireEnabled(
  app: CliApp,
  tenant: Tenant,
  provider: Connection['provider'],
): Promise<Connection> {
  const connection = await requireConnection(app.store, tenant, provider);
  if (!connection.enabled) {
    throw new UsageError(
      `the ${provider} connection of ${tenant.name} is disabled (crm-sync connection enable --tenant ${shellWord(tenant.name)} --provider ${provider})`,
    );
  }
  return connection;
}

type Mode = 'cycle' | 'retry';

/**
 * Runs the connections concurrently (they are independent: one's slowness never delays another) and reads
 * back where each stands. A run that could not happen is reported on its row, not thrown.
 */
export async function runAll(
  app: CliApp,
  tenant: Tenant,
  connections: readonly Connection[],
  mode: Mode,
): Promise<ConnectionStatus[]> {
  const progress = process.stdout.isTTY
    ? (text: string) => process.stderr.write(`crm-sync: ${text}\n`)
    : null;
  const run = runnerOf(app, tenant, mode, progress);
  return Promise.all(
    connections.map(async (connection) => {
      const ref = { tenantId: tenant.id, connectionId: connection.id };
      const started = performance.now();
      progress?.(`${connection.provider}: running`);
      let runError: string | undefined;
      try {
        const outcome = await run(connection);
        if (!outcome.ok) runError = outcome.error;
      } catch (error) {
        runError = error instanceof Error ? error.message : String(error);
      }
      const current = must(await app.store.getConnection(ref), 'reading the connection');
      const status = await readStatus(app.store, tenant, current, app.clock());
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      progress?.(
        `${connection.provider}: ${runError === undefined ? status.state : 'not run'} after ${seconds} s`,
      );
      return runError === undefined ? status : { ...status, runError };
    }),
  );
}

/**
 * How one connection runs: here, with phase and push progress on a terminal; or in the holder, which answers
 * when the run has settled (its progress stays in that process).
 */
function runnerOf(
  app: CliApp,
  tenant: Tenant,
  mode: Mode,
  progress: ((text: string) => void) | null,
): (connection: Connection) => Promise<Result<void, string>> {
  const refOf = (connection: Connection) => ({ tenantId: tenant.id, connectionId: connection.id });
  const retryHow = (connection: Connection) =>
    `crm-sync retry --tenant ${shellWord(tenant.name)} --provider ${connection.provider}`;
  const run: (connection: Connection) => Promise<Result<void, string>> =
    app.via === 'holder'
      ? (connection) => app.runConnection(refOf(connection), mode)
      : async (connection) => {
          const runner =
            progress === null
              ? app.runner
              : {
                  ...app.runner,
                  onTransition: progressLine(connection.provider, progress),
                  onPushProgress: pushBar(connection.provider, progress),
                };
          const underLease =
            mode === 'cycle'
              ? syncRefusalUnderLease(app.clock, retryHow(connection))
              : retryRefusalUnderLease;
          const outcome = await runConnection(runner, refOf(connection), mode, underLease);
          return outcome.ok ? ok(undefined) : err(outcome.error.message);
        };
  if (mode !== 'cycle') return run;
  return async (connection) => {
    // As the API's Sync now: a backoff not yet due or an error is left as it is, not re-saved and rescheduled.
    // Checked here through a holder too, whose API's refusal would name its route, not the command to run; the
    // run decides again under the lease (a scheduled run may settle the machine after this reading).
    const status = await readStatus(app.store, tenant, connection, app.clock());
    const refusal = syncRefusalOf(status, app.clock(), retryHow(connection));
    return refusal === null ? run(connection) : err(refusal);
  };
}

/**
 * One stderr line per phase step: pages and records fetched, then reconcile, push and audit totals. Not idle: the
 * run's own `running` and `… after N s` lines open and close it.
 */
export function progressLine(
  provider: Connection['provider'],
  write: (text: string) => void,
): NonNullable<RunnerDeps['onTransition']> {
  return ({ state, context }) => {
    if (state === 'idle') return;
    const cycle = context.cycle;
    const detail =
      cycle === null
        ? ''
        : state === 'fetching'
          ? ` page ${cycle.fetch.pages + 1}, ${cycle.fetch.records} changed records so far`
          : state === 'pushing'
            ? ` ${cycle.reconcile?.plannedWrites ?? 0} writes planned`
            : state === 'auditing'
              ? ` ${cycle.push?.sent ?? 0} writes sent, ${cycle.push?.deferred ?? 0} deferred`
              : '';
    write(`${provider}: ${state}${detail}`);
  };
}

/** A bar per connection while its writes go out: every tenth and the last write redraw it. */
function pushBar(
  provider: Connection['provider'],
  write: (text: string) => void,
): NonNullable<RunnerDeps['onPushProgress']> {
  return ({ done, total }) => {
    if (done % 10 !== 0 && done !== total) return;
    const width = 30;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    write(`${provider}: [${bar}] ${done}/${total} writes`);
  };
}
