import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { StoreHandle } from '../persistence/store.ts';
import type { Severity } from '../worker/embeddedWorker.ts';

/** A listening admin server. */
export interface RunningServer {
  /** Where clients reach it, e.g. `http://127.0.0.1:3000`; also what the lock file publishes. */
  url: string;
  port: number;
  /**
   * Stops accepting connections, lets requests in flight finish (at most `graceMs`, then cuts them) and
   * withdraws the published admin URL. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Serves `app` with `@hono/node-server` on `host:port` (0 picks a free port) and publishes its URL through
 * the store (the embedded database's lock file), so other commands can go through this process.
 * Rejects with the listen error (e.g. `EADDRINUSE`).
 */
export async function startServer(params: {
  app: { fetch: (request: Request) => Response | Promise<Response> };
  store: Pick<StoreHandle, 'publishAdminUrl'>;
  port: number;
  host: string;
  /** How long `close` waits for requests in flight. Default 10 s. */
  graceMs?: number;
}): Promise<RunningServer> {
  const { store, host } = params;
  const server = await new Promise<Server>((resolve, reject) => {
    const created = serve({ fetch: params.app.fetch, port: params.port, hostname: host }, () =>
      resolve(created as Server),
    );
    created.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${clientHost(host)}:${port}`;
  await store.publishAdminUrl(url);
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), params.graceMs ?? 10_000);
      await closed;
      clearTimeout(grace);
      await store.publishAdminUrl(null);
    })();
    return closing;
  };
  return { url, port, close };
}

/** A wildcard listen address is reached through loopback; IPv6 literals need brackets in a URL. */
function clientHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * How soon the first signal coming again is the same one, not a second. One Ctrl-C reaches the whole process
 * group, and tsx (which `npm start` and `npm run crm-sync` go through) passes it on to its child too when the
 * child has not acknowledged it within 30 ms; a person asking again takes longer.
 */
const SIGNAL_ECHO_MS = 1_000;

/** Whether `signal`, arriving `sinceFirstMs` after `first`, is that one relayed rather than a second. */
export const isSignalEcho = (first: NodeJS.Signals, signal: NodeJS.Signals, sinceFirstMs: number): boolean =>
  signal === first && sinceFirstMs < SIGNAL_ECHO_MS;

/**
 * Runs `shutdown` once on the first SIGINT or SIGTERM, then exits (0, or 1 when shutdown failed). A second
 * signal while shutting down exits at once, 130 (the first one relayed is not a second: `SIGNAL_ECHO_MS`). Its
 * lines go to `log`: `serve` passes its diagnostics (`LOG_LEVEL`, `LOG_FORMAT`), the shutdown at `info`, the
 * second signal at `warn`, a failed shutdown at `error`; by default `crm-sync: line`.
 */
export function shutdownOnSignals(
  shutdown: () => Promise<void>,
  log: (line: string, severity: Severity) => void = (line) => process.stderr.write(`crm-sync: ${line}\n`),
): void {
  let first: { signal: NodeJS.Signals; at: number } | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (first !== null) {
      if (isSignalEcho(first.signal, signal, Date.now() - first.at)) return;
      log(`${signal} again: exiting without waiting`, 'warn');
      // 130, as worker exits on a second signal: 1 is a shutdown that failed.
      process.exit(130);
    }
    first = { signal, at: Date.now() };
    log(`${signal}: shutting down`, 'info');
    shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        log(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`, 'error');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
