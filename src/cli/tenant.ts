import type { Command } from 'commander';
import { formatInterval } from '../core/interval.ts';
import type { Connection, Tenant } from '../persistence/records.ts';
import { bringForward, must, parseIntervalArg, requireTenant, withApp } from './app.ts';
import { formatInstant, formatTable, print } from './output.ts';
import { UsageError } from './usageError.ts';

/** Interval of a tenant added without `--interval`. */
const DEFAULT_INTERVAL = '15m';

/** `tenant add|list|set-interval`: the agencies crm-sync syncs and how often. */
export function registerTenant(program: Command): void {
  const tenant = program
    .command('tenant')
    .description('add and list tenants (agencies); set their sync interval');

  tenant
    .command('add')
    .description('add a tenant')
    .argument('<name>', 'unique name, e.g. the agency')
    .option('--interval <interval>', 'time between sync cycles: a number and s, m, h or d', DEFAULT_INTERVAL)
    .option('--json', 'print the tenant as JSON')
    .action(async (name: string, options: { interval: string; json?: boolean }) => {
      const seconds = parseIntervalArg(options.interval);
      if (name.trim() === '') throw new UsageError('the tenant name must not be empty');
      await withApp('tenant add', async ({ store }) => {
        const created = await store.createTenant({ name: name.trim(), syncIntervalSeconds: seconds });
        if (!created.ok && created.error.kind === 'conflict') throw new UsageError(created.error.message);
        if (!created.ok && created.error.kind === 'invalid_input')
          throw new UsageError(created.error.message);
        const row = must(created, 'adding the tenant');
        print(
          options.json,
          tenantJson(row, 0),
          () => `added tenant ${row.name} (${row.id}), syncing every ${formatInterval(seconds)}\n`,
        );
      });
    });

  tenant
    .command('list')
    .description('list tenants with their interval and connection counts')
    .option('--json', 'print an array of tenants as JSON')
    .action(async (options: { json?: boolean }) => {
      await withApp('tenant list', async ({ store }) => {
        const tenants = must(await store.listTenants(), 'listing tenants');
        const rows = await Promise.all(
          tenants.map(async (t) => ({
            tenant: t,
            connections: must(
              await store.listConnections({ tenantId: t.id }),
              `listing connections of "${t.name}"`,
            ),
          })),
        );
        print(
          options.json,
          rows.map((r) => tenantJson(r.tenant, r.connections.length)),
          () =>
            rows.length === 0
              ? 'no tenants yet (crm-sync tenant add NAME)\n'
              : formatTable(
                  [
                    { header: 'name', cell: (r) => r.tenant.name },
                    { header: 'interval', cell: (r) => formatInterval(r.tenant.syncIntervalSeconds) },
                    { header: 'connections', cell: (r) => describeConnections(r.connections) },
                    { header: 'id', cell: (r) => r.tenant.id },
                    { header: 'created', cell: (r) => formatInstant(r.tenant.createdAt) },
                  ],
                  rows,
                ),
        );
      });
    });

  tenant
    .command('set-interval')
    .description("set a tenant's sync interval (connections with their own interval keep it)")
    .argument('<name>', 'tenant name')
    .argument('<interval>', 'a number and s, m, h or d, e.g. 5m')
    .action(async (name: string, interval: string) => {
      const seconds = parseIntervalArg(interval);
      await withApp('tenant set-interval', async ({ store, clock }) => {
        const row = await requireTenant(store, name);
        must(
          await store.setTenantInterval({ tenantId: row.id, syncIntervalSeconds: seconds }),
          'setting the interval',
        );
        const connections = must(await store.listConnections({ tenantId: row.id }), 'listing connections');
        const following = connections.filter((c) => c.syncIntervalSeconds === null);
        const moved = await bringForward(store, following, seconds, clock());
        process.stdout.write(
          `tenant ${row.name} now syncs every ${formatInterval(seconds)}` +
            (moved > 0 ? `; ${moved} connection(s) rescheduled to run within it\n` : '\n'),
        );
      });
    });
}

function tenantJson(tenant: Tenant, connections: number) {
  return {
    id: tenant.id,
    name: tenant.name,
    interval: formatInterval(tenant.syncIntervalSeconds),
    intervalSeconds: tenant.syncIntervalSeconds,
    connections,
    createdAt: tenant.createdAt.toISOString(),
  };
}

function describeConnections(connections: Connection[]): string {
  if (connections.length === 0) return '-';
  return connections
    .map((c) => (c.enabled ? c.provider : `${c.provider} (disabled)`))
    .sort()
    .join(', ');
}
