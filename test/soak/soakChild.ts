import { createInterface } from 'node:readline';
import { openApp } from '../../src/main.ts';
import type { LocalInputs } from './soakPlan.ts';
import {
  applyLocalInputs,
  ensureTenants,
  must,
  runTenantRound,
  type SeenMachine,
  SoakClock,
  type SoakTenant,
  soakSpec,
  type TenantSetup,
} from './soakWorld.ts';

/**
 * The faulted world's process: opens the data directory (CRM_SYNC_DATA_DIR) as any crm-sync process
 * would, then takes commands from the soak, one JSON line each on stdin, and answers on stdout. The soak
 * kills it with SIGKILL whenever it likes and starts another. Usage: soakChild.ts [SKEW_MS].
 */
export type ChildCommand =
  | { type: 'setup'; tenants: TenantSetup[] }
  /** `local: null`: the inputs were applied before a crash (the child said `inputs`); only run the cycles. */
  | {
      type: 'round';
      round: number;
      tenants: Array<{ name: string; local: LocalInputs | null }>;
      /** The cycle ids earlier (killed) processes were handed this round, per `tenant/provider`. */
      handed: Record<string, string[]>;
    }
  | { type: 'exit' };

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'inputs'; round: number }
  | { type: 'retry'; provider: string; state: string }
  | { type: 'resume'; provider: string; state: string }
  | { type: 'skew'; ms: number }
  /** Written before the runner gets the id (a pipe write is synchronous on Linux), so a SIGKILL cannot hide it. */
  | { type: 'cycle'; tenant: string; provider: string; cycleId: string }
  | ({ type: 'seen'; tenant: string; provider: string } & SeenMachine)
  | { type: 'done'; round: number }
  | { type: 'failed'; message: string };

const say = (message: ChildMessage): void => {
  process.stdout.write(`${JSON.stringify(message)}\n`);
};

const app = must(await openApp({ command: 'soak child', notice: () => {} }));
const clock = new SoakClock(Number(process.argv[2] ?? 0));
const deps = {
  ...app.runner,
  providerOptions: (c: { provider: Parameters<typeof soakSpec>[0] }) => ({ spec: soakSpec(c.provider) }),
};
let tenants: SoakTenant[] = [];

async function handle(command: ChildCommand): Promise<void> {
  switch (command.type) {
    case 'setup':
      tenants = await ensureTenants(app.store, command.tenants);
      return say({ type: 'ready' });
    case 'round': {
      for (const { name, local } of command.tenants) {
        const tenant = tenants.find((t) => t.name === name);
        if (tenant === undefined) throw new Error(`no tenant ${name}`);
        if (local !== null) await applyLocalInputs(app.store, tenant, local, clock.now());
      }
      say({ type: 'inputs', round: command.round });
      await Promise.all(
        tenants.map((tenant) =>
          runTenantRound(
            deps,
            clock,
            tenant,
            command.round,
            {
              onRetry: ({ provider, state }) => say({ type: 'retry', provider, state }),
              onResume: ({ provider, state }) => say({ type: 'resume', provider, state }),
              onSkew: (ms) => say({ type: 'skew', ms }),
              onCycleId: ({ provider, cycleId }) =>
                say({ type: 'cycle', tenant: tenant.name, provider, cycleId }),
              onSeen: ({ provider, ...seen }) =>
                say({ type: 'seen', tenant: tenant.name, provider, ...seen }),
            },
            (provider) => command.handed[`${tenant.name}/${provider}`] ?? [],
          ),
        ),
      );
      return say({ type: 'done', round: command.round });
    }
    case 'exit':
      await app.close();
      process.exit(0);
  }
}

// One command at a time, in order: the soak waits for each answer before it sends the next.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue
    .then(() => handle(JSON.parse(line) as ChildCommand))
    .catch((error: unknown) => {
      say({
        type: 'failed',
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      process.exit(1);
    });
});
