import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { parseEnv } from '../config/env.ts';
import { runDemo } from '../demo/runDemo.ts';
import { acquireDataDirLock, type DataDirLock, readDataDirLock } from '../persistence/dataDirLock.ts';
import { isPidAlive } from '../persistence/leaseOwner.ts';
import { shutdownOnSignals } from '../server/serve.ts';
import { type HolderServer, startHolderServer } from './holderServer.ts';
import { parseIntegerArg, UsageError } from './usageError.ts';

/**
 * `demo [--once] [--port N] [--contacts N]`: the main job (`npm start`) on the embedded database and the CRM
 * simulators; then, unless `--once`, the admin page over the demo's data until Ctrl-C.
 */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the end-to-end demo on the embedded database and the CRM simulators')
    .option('--once', 'run the demo and exit instead of serving the admin page')
    .option('--port <n>', 'port of the admin page after the demo (default: PORT, else 3000)')
    .option('--contacts <n>', 'contacts seeded per CRM simulator', '150')
    .action(async (options: { once?: boolean; port?: string; contacts: string }) => {
      const contacts = parseIntegerArg('--contacts', options.contacts, 10, 100_000);
      // Always the embedded database: DATABASE_URL is not the demo's to use (nor to refuse).
      const env = parseEnv({ ...process.env, DATABASE_URL: undefined });
      if (!env.ok) throw new UsageError(env.error.message);
      // As serve's: --port, else PORT (which parseEnv checked), else 3000.
      const port =
        options.port === undefined ? env.value.PORT : parseIntegerArg('--port', options.port, 0, 65_535);
      // Checked before the demo's half minute of work, which a taken port (another dev server on 3000) wasted.
      const listenError = options.once ? null : await probeListen(port);
      if (listenError !== null) throw cannotListen(port, listenError);
      const root = path.resolve(env.value.CRM_SYNC_DATA_DIR);
      const dataDir = path.join(root, 'demo');
      const runLock = await lockDemoRun(root, dataDir);
      let serving = false;
      try {
        // The demo deletes its directory first: never from under another process using its database.
        const holder = await readDataDirLock(dataDir);
        if (holder !== null && (holder.host !== hostname() || isPidAlive(holder.pid)))
          throw new UsageError(
            `the demo's database in ${dataDir} is in use by pid ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.startedAt}); stop it first, or set CRM_SYNC_DATA_DIR to run another demo elsewhere`,
          );
        const { checks, app, sims } = await runDemo({
          dataDir,
          contactsPerCrm: contacts,
          out: (line) => process.stdout.write(`${line}\n`),
          env: process.env,
        });
        const failed = checks.filter((c) => !c.holds);
        const stop = async () => {
          await app.close();
          for (const sim of sims) await sim.close();
        };
        if (failed.length > 0)
          process.stderr.write(`crm-sync demo: ${failed.length} claim(s) did not hold\n`);
        if (options.once || failed.length > 0) {
          await stop();
          process.exitCode = failed.length > 0 ? 1 : 0;
          return;
        }
        let server: HolderServer;
        try {
          server = await startHolderServer(app, { port, host: '127.0.0.1', inngestHandler: null });
        } catch (error) {
          await stop();
          // Taken while the demo ran.
          const code = (error as NodeJS.ErrnoException).code;
          if (code !== undefined) throw cannotListen(port, code);
          throw error;
        }
        process.stdout.write(
          `\nadmin page: ${server.url.replace('127.0.0.1', 'localhost')}/admin\n` +
            `admin token: ${server.configured ? '(CRM_SYNC_ADMIN_TOKEN)' : server.adminToken}\n` +
            'The simulators keep running, so "Sync now" works. Ctrl-C to stop.\n',
        );
        shutdownOnSignals(async () => {
          await server.close();
          await stop();
          await runLock.release();
        });
        serving = true;
      } finally {
        if (!serving) await runLock.release();
      }
    });
}

/**
 * The demo's run, from deleting its directory to its exit, under a lock of its own (`demo.lock` beside the
 * directory). Its database's lock alone did not keep a second demo out: the demo lets it go for its crash step, and
 * a second demo checking then found none (or the killed child's) and deleted the directory from under it.
 */
async function lockDemoRun(root: string, dataDir: string): Promise<DataDirLock> {
  const unusable = (error: unknown) =>
    new UsageError(
      `cannot use ${root} for the demo (${(error as NodeJS.ErrnoException).code ?? String(error)}); set CRM_SYNC_DATA_DIR to a directory this user can write`,
    );
  const taken = await mkdir(root, { recursive: true })
    .then(() =>
      acquireDataDirLock({
        dataDir: root,
        fileName: DEMO_LOCK_FILE_NAME,
        self: {
          pid: process.pid,
          host: hostname(),
          command: 'crm-sync demo',
          startedAt: new Date().toISOString(),
        },
        isPidAlive,
      }),
    )
    .catch((error: unknown) => {
      throw unusable(error);
    });
  if (taken.ok) return taken.value;
  const { holder } = taken.error;
  throw new UsageError(
    `a demo runs on ${dataDir} already: pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}; stop it first, or set CRM_SYNC_DATA_DIR to run another demo elsewhere`,
  );
}

const DEMO_LOCK_FILE_NAME = 'demo.lock';

const cannotListen = (port: number, code: string) =>
  new UsageError(
    `${code === 'EADDRINUSE' ? `port ${port} is in use` : `cannot listen on port ${port} (${code})`}; --port N serves the admin page on another (0: any free port)`,
  );

/** Why a listener could not take `port` on loopback now (`EADDRINUSE`, `EACCES`), or null when it could. */
function probeListen(port: number): Promise<string | null> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(null)));
  });
}
