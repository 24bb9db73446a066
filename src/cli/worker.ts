import type { Command } from 'commander';
import { PROVIDER_CONCURRENCY } from '../inngest/functions/syncConnection.ts';
import { isSignalEcho } from '../server/serve.ts';
import { createEmbeddedWorker } from '../worker/embeddedWorker.ts';
import { openOwnApp } from './app.ts';
import { startHolderServer } from './holderServer.ts';
import { parseIntegerArg } from './usageError.ts';

interface WorkerFlags {
  tickMs: string;
  concurrency: string;
  graceMs: string;
}

/** How long closing the database may take after an abandoned run before the process exits anyway. */
const CLOSE_TIMEOUT_MS = 5_000;

/**
 * `worker [--tick-ms N] [--concurrency N] [--grace-ms N]`: the embedded scheduler for a single machine
 * without an Inngest server. Every tick it syncs the connections that are due, as the Inngest functions
 * would. On the embedded database it also serves the admin API on a free loopback port, published in the
 * lock file, so other commands go through it. SIGINT/SIGTERM stop it: no new work, running steps get
 * `--grace-ms` to finish, leases are released, the database is closed, exit 0. A second signal exits at once, 130
 * (the first one relayed by tsx is not one: `isSignalEcho`); whatever a killed worker leaves (a snapshot
 * mid-cycle, a lease) is resumed by the next run.
 */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('sync due connections every minute in this process (embedded mode, no Inngest server)')
    .option('--tick-ms <n>', 'milliseconds between ticks', '60000')
    .option(
      '--concurrency <n>',
      'steps running at once per provider (a run in backoff holds none)',
      String(PROVIDER_CONCURRENCY),
    )
    .option('--grace-ms <n>', 'on SIGINT/SIGTERM, how long running steps may take to finish', '30000')
    .action(async (flags: WorkerFlags) => {
      const tickMs = parseIntegerArg('--tick-ms', flags.tickMs, 100, 3_600_000);
      const providerConcurrency = parseIntegerArg('--concurrency', flags.concurrency, 1, 1_000);
      const graceMs = parseIntegerArg('--grace-ms', flags.graceMs, 0, 600_000);
      const { app, log } = await openOwnApp('worker', 'crm-sync worker');
      // Other commands on an embedded data directory go through this process (PGlite admits one), so it
      // listens on loopback; on Postgres they open the database themselves.
      const server =
        app.dataDir === null
          ? null
          : await startHolderServer(app, { port: 0, host: '127.0.0.1', inngestHandler: null }).catch(
              async (error: unknown) => {
                await app.close();
                throw error;
              },
            );
      const worker = createEmbeddedWorker(app.runner, { tickMs, providerConcurrency, log });

      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        worker.start();
        log(`started (pid ${process.pid}, ${app.store.backend}, tick ${tickMs} ms)`);
        if (server !== null)
          log(`admin API at ${server.url}/api; other commands on this data directory go through it`);
      });
      const signalledAt = Date.now();
      const now = (again: NodeJS.Signals) => {
        if (!isSignalEcho(signal, again, Date.now() - signalledAt)) process.exit(130);
      };
      process.on('SIGINT', now);
      process.on('SIGTERM', now);
      log(`${signal}: stopping; running steps have ${graceMs} ms to finish (signal again to exit now)`);
      const { abandoned } = await worker.stop({ graceMs });
      // Runs still in a phase, the worker's and any started through the admin API, stop where they were last
      // persisted and release their leases.
      await app.stopRuns();
      if (abandoned > 0) {
        log(`abandoned ${abandoned} run(s) mid-phase; each resumes from its snapshot on the next run`);
      }
      await server?.close();
      const closed = await Promise.race([
        app.close().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), CLOSE_TIMEOUT_MS)),
      ]);
      log(
        closed
          ? 'stopped'
          : `stopped without closing the database within ${CLOSE_TIMEOUT_MS} ms; the next process takes its lock over`,
      );
      process.exit(0);
    });
}
