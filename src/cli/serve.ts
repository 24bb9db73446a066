import type { Command } from 'commander';
import { ok, type Result } from '../core/result.ts';
import { createInngestHandler, INNGEST_PATH, type InngestHandler } from '../inngest/serve.ts';
import type { App } from '../main.ts';
import { shutdownOnSignals } from '../server/serve.ts';
import { createEmbeddedWorker } from '../worker/embeddedWorker.ts';
import { openOwnApp } from './app.ts';
import { diagnostics, diagnosticsLogger } from './diagnostics.ts';
import { type HolderServer, startHolderServer } from './holderServer.ts';
import { listenRefused, parseIntegerArg, UsageError } from './usageError.ts';

interface ServeFlags {
  port?: string;
  host: string;
}

/**
 * `serve [--port N] [--host ADDRESS]`: the admin API and page over this process's store, and Inngest's
 * endpoint when Inngest is configured. Prints the admin page's URL and, when `CRM_SYNC_ADMIN_TOKEN` is unset,
 * a token generated for this run. SIGINT/SIGTERM stop it gracefully.
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the admin API (/api), the admin page (/admin) and Inngest (/api/inngest)')
    .option('--port <n>', 'TCP port (default: PORT, else 3000; 0 = any free port)')
    .option('--host <address>', 'address to listen on; 0.0.0.0 exposes it beyond this machine', '127.0.0.1')
    .action(async (flags: ServeFlags) => {
      const port = flags.port === undefined ? undefined : parseIntegerArg('--port', flags.port, 0, 65_535);
      const { app, log } = await openOwnApp('serve', 'crm-sync');
      const inngest = inngestHandlerFor(app);
      if (!inngest.ok) {
        await app.close();
        throw new UsageError(inngest.error);
      }
      const inngestHandler = inngest.value;
      let running: HolderServer;
      try {
        running = await startHolderServer(app, {
          port: port ?? app.env.PORT,
          host: flags.host,
          inngestHandler,
        });
      } catch (error) {
        await app.close();
        throw listenRefused(error, { host: flags.host, port: port ?? app.env.PORT }) ?? error;
      }
      process.stdout.write(`admin page: ${running.url}/admin\n`);
      // Without Inngest, this process schedules its own connections: the embedded database admits one
      // process, so a separate `worker` could not run beside it.
      const worker =
        inngestHandler === null
          ? createEmbeddedWorker(app.runner, {
              log: diagnostics(app.env, 'crm-sync worker'),
            })
          : null;
      if (inngestHandler !== null) process.stdout.write(`inngest: ${running.url}${INNGEST_PATH}\n`);
      else {
        log(
          `Inngest is not configured (INNGEST_DEV=1, or INNGEST_SIGNING_KEY and INNGEST_EVENT_KEY): ${INNGEST_PATH} is not served; the embedded scheduler runs due connections every minute in this process`,
          'warn',
        );
        worker?.start();
      }
      // A configured token is a secret of the deployment: never echo it into logs.
      process.stdout.write(
        `admin token: ${running.configured ? '(CRM_SYNC_ADMIN_TOKEN)' : running.adminToken}\n`,
      );
      shutdownOnSignals(async () => {
        await worker?.stop({ graceMs: 10_000 });
        await app.stopRuns();
        await running.close();
        await app.close();
      }, log);
    });
}

/**
 * Inngest's handler when any Inngest setting is present (dev server or cloud keys); `null` when none is (the
 * embedded default, which serves no `/api/inngest`). A half-configured cloud mode is an error.
 */
function inngestHandlerFor(app: App): Result<InngestHandler | null, string> {
  const { env } = app;
  const dev = env.INNGEST_DEV !== undefined && env.INNGEST_DEV !== '0' && env.INNGEST_DEV !== 'false';
  if (!dev && env.INNGEST_SIGNING_KEY === undefined && env.INNGEST_EVENT_KEY === undefined) return ok(null);
  // The SDK's own messages (a failed registration, a request it could not parse) are diagnostic lines too:
  // without a logger it wrote them to the console whatever LOG_LEVEL and LOG_FORMAT said.
  return createInngestHandler({
    env,
    runner: app.runner,
    logger: diagnosticsLogger(env, 'crm-sync inngest'),
  });
}
