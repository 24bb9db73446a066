import { randomBytes } from 'node:crypto';
import type { InngestHandler } from '../inngest/serve.ts';
import type { App } from '../main.ts';
import { writeAdminTokenFile } from '../persistence/adminTokenFile.ts';
import { createServerApp } from '../server/app.ts';
import { startServer } from '../server/serve.ts';

/** A listening admin server of a long-running process (`serve`, `worker`). */
export interface HolderServer {
  url: string;
  /** `CRM_SYNC_ADMIN_TOKEN`, or one generated for this run. */
  adminToken: string;
  /** Whether `adminToken` is the configured one, a secret of the deployment that is never printed. */
  configured: boolean;
  /** Stops serving, withdraws the published URL and the token file. */
  close(): Promise<void>;
}

/**
 * Serves the admin API (and the store calls of other local commands) for `app`. A generated token is written
 * beside the embedded database's lock file before the URL is published there, so a command that finds the
 * URL also finds the token. Rejects with the listen error (e.g. `EADDRINUSE`), leaving nothing behind.
 */
export async function startHolderServer(
  app: App,
  params: { port: number; host: string; inngestHandler: InngestHandler | null },
): Promise<HolderServer> {
  const configured = app.env.CRM_SYNC_ADMIN_TOKEN;
  const adminToken = configured ?? randomBytes(24).toString('base64url');
  const server = createServerApp({
    store: app.store,
    runner: app.runner,
    adminToken,
    ...(params.inngestHandler === null ? {} : { inngestHandler: params.inngestHandler }),
  });
  const removeTokenFile =
    configured === undefined && app.dataDir !== null
      ? await writeAdminTokenFile(app.dataDir, adminToken)
      : async () => {};
  let running: Awaited<ReturnType<typeof startServer>>;
  try {
    running = await startServer({ app: server, store: app.store, port: params.port, host: params.host });
  } catch (error) {
    await removeTokenFile();
    throw error;
  }
  return {
    url: running.url,
    adminToken,
    configured: configured !== undefined,
    close: async () => {
      await running.close();
      await removeTokenFile();
    },
  };
}
