import type { Command } from 'commander';
import { must, requireConnection, requireProvider, requireTenant, withApp } from './app.ts';
import { formatStatuses, readStatus } from './connectionStatus.ts';
import { print } from './output.ts';

/**
 * `status --tenant T [--provider P]`: each connection's machine as persisted: state, cursor, cycle window,
 * attempt, `resumeAt`, last error, last completed cycle and next scheduled run. Reads only.
 */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("where each of a tenant's connections stands: state, cursor, backoff, errors, next run")
    .requiredOption('--tenant <name>', 'tenant name')
    .option('--provider <name>', 'only this connection')
    .option('--json', 'print an array of connection states as JSON')
    .action(async (flags: { tenant: string; provider?: string; json?: boolean }) => {
      const entry = flags.provider === undefined ? null : requireProvider(flags.provider);
      await withApp('status', async ({ store, clock }) => {
        const tenant = await requireTenant(store, flags.tenant);
        const connections =
          entry === null
            ? must(await store.listConnections({ tenantId: tenant.id }), 'listing connections')
            : [await requireConnection(store, tenant, entry.name)];
        const now = clock();
        const statuses = await Promise.all(connections.map((c) => readStatus(store, tenant, c, now)));
        print(flags.json, statuses, () =>
          statuses.length === 0
            ? `tenant ${tenant.name} has no connections (crm-sync connection add …)\n`
            : formatStatuses(statuses),
        );
      });
    });
}
