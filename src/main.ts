import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Env, parseEnv } from './config/env.ts';
import { err, ok, type Result } from './core/result.ts';
import { formatLeaseOwner } from './persistence/leaseOwner.ts';
import { openStore } from './persistence/openStore.ts';
import type { StoreHandle } from './persistence/store.ts';
import type { ConnectionLimiter } from './providers/limiter.ts';
import type { RunnerDeps } from './runner/connectionRunner.ts';

/**
 * The composition root: parses the environment once, opens the store it names, and builds what runs
 * connections in this process. The only place that reads `process.env`, opens the database and owns the
 * per-connection limiters.
 */
export interface App {
  env: Env;
  store: StoreHandle;
  runner: RunnerDeps;
  close(): Promise<void>;
}

export interface AppError {
  kind: 'env' | 'store';
  message: string;
}

export async function openApp(params: {
  /** This process's command line, recorded in the embedded database's lock file. */
  command: string;
  /** Where one-time notices go (stderr by default). */
  notice?: (message: string) => void;
  /** The environment; `process.env` by default. */
  source?: Record<string, string | undefined>;
}): Promise<Result<App, AppError>> {
  const env = parseEnv(params.source ?? process.env);
  if (!env.ok) return err({ kind: 'env', message: env.error.message });
  const notice = params.notice ?? ((message: string) => process.stderr.write(`${message}\n`));
  const store = await openStore({ env: env.value, command: params.command, notice });
  if (!store.ok) return err({ kind: 'store', message: store.error.message });
  const limiters = new Map<string, ConnectionLimiter>();
  const runner: RunnerDeps = {
    store: store.value,
    clock: () => new Date(),
    owner: formatLeaseOwner({ host: hostname(), pid: process.pid, id: randomUUID() }),
    newCycleId: randomUUID,
    limiters,
  };
  return ok({
    env: env.value,
    store: store.value,
    runner,
    close: async () => {
      for (const limiter of limiters.values()) await limiter.stop();
      await store.value.close();
    },
  });
}
