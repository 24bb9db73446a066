import type { Command } from 'commander';
import { formatInterval } from '../core/interval.ts';
import { ok, type Result } from '../core/result.ts';
import { type Connection, type Tenant, tenantInputSchema } from '../persistence/records.ts';
import type { RepairStore, Store, StoreError } from '../persistence/store.ts';
import { bringForward, must, parseIntervalArg, requireTenant, unknownTenant, withApp } from './app.ts';
import { CommandFailed } from './commandFailed.ts';
import { type ConnectionStatus, readStatus } from './connectionStatus.ts';
import { formatInstant, formatTable, print } from './output.ts';
import { UsageError } from './usageError.ts';

/** Interval of a tenant added without `--interval`. */
const DEFAULT_INTERVAL = '15m';

/** `tenant add|list|set-interval|rename`: the agencies crm-sync syncs and how often. */
export function registerTenant(program: Command): void {
  const tenant = program
    .command('tenant')
    .description('add, list and rename tenants (agencies); set their sync interval');

  tenant
    .command('add')
    .description('add a tenant')
    .argument('<name>', 'unique name, e.g. the agency')
    .option('--interval <interval>', 'time between sync cycles: a number and s, m, h or d', DEFAULT_INTERVAL)
    .option('--json', 'print the tenant as JSON')
    .action(async (name: string, options: { interval: string; json?: boolean }) => {
      const seconds = parseIntervalArg(options.interval);
      const tenantName = parseTenantNameArg(name);
      await withApp('tenant add', async ({ store }) => {
        const created = await store.createTenant({ name: tenantName, syncIntervalSeconds: seconds });
        if (!created.ok && created.error.kind === 'conflict') throw new UsageError(created.error.message);
        if (!created.ok && created.error.kind === 'invalid_input')
          throw new UsageError(created.error.message);
        const row = must(created, 'adding the tenant');
        print(
          options.json,
          tenantJson(row, []),
          () => `added tenant ${row.name} (${row.id}), syncing every ${formatInterval(seconds)}\n`,
        );
      });
    });

  tenant
    .command('list')
    .description('list tenants with their interval and connections')
    .option('--json', 'print an array of tenants, each with its connections, as JSON')
    .action(async (options: { json?: boolean }) => {
      await withApp('tenant list', async ({ store, clock }) => {
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
        // Machines are read for the JSON only: the table names the providers.
        const listed = options.json
          ? await Promise.all(
              rows.map(async (r) =>
                tenantJson(r.tenant, await statusesOf(store, r.tenant, r.connections, clock())),
              ),
            )
          : [];
        print(options.json, listed, () =>
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

  tenant
    .command('rename')
    .description(
      'rename a tenant; its connections, contacts and audit stay. Also runs on a database an upgrade refuses for two names alike but for letter case',
    )
    .argument('<name>', 'tenant name')
    .argument('<new-name>', 'unique new name, as for tenant add')
    .option('--json', 'print the renamed tenant as JSON')
    .action(async (name: string, newName: string, options: { json?: boolean }) => {
      const wanted = parseTenantNameArg(newName);
      // On a database a migration refuses (names an earlier crm-sync allowed), the rename runs before the
      // migrations are tried once more, and is kept here: it stands whether or not they then apply.
      const before: { renamed?: Result<Renamed, StoreError> } = {};
      const repair = async (store: RepairStore) => {
        before.renamed = await renameByName(store, name, wanted);
      };
      try {
        await withApp(
          'tenant rename',
          async ({ store, clock }) => {
            const { tenant: row, previousName } = renamedOrThrow(
              before.renamed ?? (await renameByName(store, name, wanted)),
              name,
            );
            const connections = must(
              await store.listConnections({ tenantId: row.id }),
              'listing connections',
            );
            print(
              options.json,
              { ...tenantJson(row, await statusesOf(store, row, connections, clock())), previousName },
              () => `renamed tenant ${previousName} to ${row.name} (${row.id})\n`,
            );
          },
          { repair },
        );
      } catch (error) {
        if (before.renamed === undefined || !(error instanceof UsageError)) throw error;
        // Renamed, yet the migrations are still refused (another two names alike): the line says both.
        const { tenant: row, previousName } = renamedOrThrow(before.renamed, name);
        throw new CommandFailed(`renamed tenant ${previousName} to ${row.name}, but ${error.message}`);
      }
    });
}

/** A tenant as renamed, and the name it had. */
interface Renamed {
  tenant: Tenant;
  previousName: string;
}

/** Renames the tenant `name` to `newName` (already checked); what a store on a refused database can run too. */
async function renameByName(
  store: RepairStore,
  name: string,
  newName: string,
): Promise<Result<Renamed, StoreError>> {
  // Trimmed, as `tenant add` stores it.
  const found = await store.getTenantByName({ name: name.trim() });
  if (!found.ok) return found;
  const renamed = await store.renameTenant({ tenantId: found.value.id, name: newName });
  return renamed.ok ? ok({ tenant: renamed.value, previousName: found.value.name }) : renamed;
}

/** The rename's value; exit 2 for an unknown tenant, a name taken or ambiguous, exit 1 for a store failure. */
function renamedOrThrow(result: Result<Renamed, StoreError>, name: string): Renamed {
  if (result.ok) return result.value;
  if (result.error.kind === 'not_found') throw unknownTenant(name);
  if (result.error.kind === 'conflict' || result.error.kind === 'invalid_input') {
    throw new UsageError(result.error.message);
  }
  return must(result, `renaming tenant "${name}"`);
}

/**
 * A tenant name for `tenant add` and `tenant rename`, checked and normalised by the schema the store keeps names
 * with, before anything is opened: through a running holder, a name refused at its API would be a 400's
 * multi-line text. An empty name says so in words, not in the schema's (`Too small: expected string …`).
 */
function parseTenantNameArg(text: string): string {
  if (text.trim() === '') throw new UsageError('the tenant name must not be empty');
  const parsed = tenantInputSchema.shape.name.safeParse(text);
  if (parsed.success) return parsed.data;
  throw new UsageError(`name: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
}

/** Each connection's machine read as `status` reads it, for the connections' part of the JSON. */
function statusesOf(
  store: Store,
  tenant: Tenant,
  connections: readonly Connection[],
  now: Date,
): Promise<ConnectionStatus[]> {
  return Promise.all(connections.map((c) => readStatus(store, tenant, c, now)));
}

/**
 * A tenant as `tenant add|list|rename --json` print it: `connections` counts them and `connectionList` lists
 * them by provider, with the fields of `status --json` a script looks for first.
 */
function tenantJson(tenant: Tenant, statuses: readonly ConnectionStatus[]) {
  return {
    id: tenant.id,
    name: tenant.name,
    interval: formatInterval(tenant.syncIntervalSeconds),
    intervalSeconds: tenant.syncIntervalSeconds,
    connections: statuses.length,
    connectionList: statuses.map((s) => ({
      provider: s.provider,
      connectionId: s.connectionId,
      enabled: s.enabled,
      state: s.state,
      nextRunAt: s.nextRunAt,
    })),
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
