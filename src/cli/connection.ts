import type { Command } from 'commander';
import { formatInterval } from '../core/interval.ts';
import { describeIssues } from '../core/zodIssues.ts';
import type { Connection, Credentials, Tenant } from '../persistence/records.ts';
import {
  BASE_URL_QUERY_REFUSED,
  baseUrlProblem,
  isCredentialEndpoint,
  PLAIN_HTTP_REFUSED,
  quotedUrl,
  shownUrl,
} from '../providers/credentialEndpoint.ts';
import type { ProviderEntry } from '../providers/registry.ts';
import {
  bringForward,
  must,
  parseIntervalArg,
  requireConnection,
  requireProvider,
  requireTenant,
  withApp,
} from './app.ts';
import { setBaseUrlCommand } from './connectionStatus.ts';
import { formatCursor, formatInstant, formatTable, print, shellWord } from './output.ts';
import { readTextFile } from './textFile.ts';
import { UsageError } from './usageError.ts';

interface AddFlags {
  tenant: string;
  provider: string;
  baseUrl: string;
  credentials: string;
  interval?: string;
  disabled?: boolean;
  json?: boolean;
}

interface ConnectionFlags {
  tenant: string;
  provider: string;
}

/**
 * `connection add|list|enable|disable|set-credentials|set-base-url|set-interval`: a tenant's CRMs. Credentials go
 * in and never come out.
 */
export function registerConnection(program: Command): void {
  const connection = program
    .command('connection')
    .description("add, list, enable and disable a tenant's CRM connections");

  connection
    .command('add')
    .description(
      "connect a tenant to a CRM; credentials are checked against the provider's schema and stored encrypted",
    )
    .requiredOption('--tenant <name>', 'tenant name')
    .requiredOption('--provider <name>', 'reapit, alto, street, agentos or loop')
    .requiredOption('--base-url <url>', "the CRM API's base URL")
    .requiredOption('--credentials <json>', 'credentials as a JSON object, or @FILE to read them from a file')
    .option('--interval <interval>', "this connection's own sync interval (default: the tenant's)")
    .option('--disabled', 'add it disabled (no scheduled or sync runs until enabled)')
    .option('--json', 'print the connection as JSON')
    .action(async (flags: AddFlags) => {
      const entry = requireProvider(flags.provider);
      const baseUrl = parseBaseUrl(flags.baseUrl, '--base-url');
      const credentials = parseCredentials(entry, flags.credentials);
      const seconds = flags.interval === undefined ? null : parseIntervalArg(flags.interval);
      await withApp('connection add', async ({ store, clock }) => {
        const tenant = await requireTenant(store, flags.tenant);
        const added = await store.addConnection({
          tenantId: tenant.id,
          provider: entry.name,
          baseUrl,
          credentials,
          enabled: flags.disabled !== true,
          syncIntervalSeconds: seconds,
          nextRunAt: clock(),
        });
        if (!added.ok && added.error.kind === 'conflict') {
          throw new UsageError(`tenant "${tenant.name}" already has a ${entry.name} connection`);
        }
        const row = must(added, 'adding the connection');
        print(
          flags.json,
          connectionJson(tenant, row),
          () =>
            `added ${row.provider} connection ${row.id} for tenant ${tenant.name}` +
            `${row.enabled ? '' : ' (disabled)'}; it syncs every ${formatInterval(row.effectiveIntervalSeconds)}\n`,
        );
      });
    });

  connection
    .command('list')
    .description('list connections (never their credentials)')
    .option('--tenant <name>', 'only this tenant')
    .option('--json', 'print an array of connections as JSON')
    .action(async (flags: { tenant?: string; json?: boolean }) => {
      await withApp('connection list', async ({ store }) => {
        const tenants =
          flags.tenant === undefined
            ? must(await store.listTenants(), 'listing tenants')
            : [await requireTenant(store, flags.tenant)];
        const rows: Array<{ tenant: Tenant; connection: Connection }> = [];
        for (const tenant of tenants) {
          const connections = must(
            await store.listConnections({ tenantId: tenant.id }),
            'listing connections',
          );
          for (const c of connections) rows.push({ tenant, connection: c });
        }
        print(
          flags.json,
          rows.map((r) => connectionJson(r.tenant, r.connection)),
          () =>
            rows.length === 0
              ? 'no connections (crm-sync connection add …)\n'
              : formatTable(
                  [
                    { header: 'tenant', cell: (r) => r.tenant.name },
                    { header: 'provider', cell: (r) => r.connection.provider },
                    { header: 'enabled', cell: (r) => (r.connection.enabled ? 'yes' : 'no') },
                    { header: 'interval', cell: (r) => describeInterval(r.connection) },
                    { header: 'next run', cell: (r) => formatInstant(r.connection.nextRunAt) },
                    { header: 'cursor', cell: (r) => formatCursor(r.connection.cursor) },
                    {
                      header: 'base url',
                      cell: (r) =>
                        `${shownUrl(r.connection.baseUrl)}${baseUrlProblem(r.connection.baseUrl) === null ? '' : ' (refused)'}`,
                    },
                  ],
                  rows,
                ) + rows.map(refusedBaseUrlLine).join(''),
        );
      });
    });

  for (const enabled of [true, false]) {
    const verb = enabled ? 'enable' : 'disable';
    connection
      .command(verb)
      .description(
        enabled
          ? 'let a connection run again'
          : 'stop scheduled and sync runs of a connection (its state is kept)',
      )
      .requiredOption('--tenant <name>', 'tenant name')
      .requiredOption('--provider <name>', 'provider of the connection')
      .action(async (flags: ConnectionFlags) => {
        const entry = requireProvider(flags.provider);
        await withApp(`connection ${verb}`, async ({ store }) => {
          const tenant = await requireTenant(store, flags.tenant);
          const row = await requireConnection(store, tenant, entry.name);
          const ref = { tenantId: tenant.id, connectionId: row.id };
          must(
            await store.setConnectionEnabled({ ...ref, enabled }),
            `${verb.slice(0, -1)}ing the connection`,
          );
          process.stdout.write(
            `${entry.name} connection of ${tenant.name} ${enabled ? 'enabled' : 'disabled'}\n`,
          );
        });
      });
  }

  connection
    .command('set-credentials')
    .description(
      "replace a connection's credentials (checked against the provider's schema, stored encrypted)",
    )
    .requiredOption('--tenant <name>', 'tenant name')
    .requiredOption('--provider <name>', 'provider of the connection')
    .requiredOption('--credentials <json>', 'credentials as a JSON object, or @FILE to read them from a file')
    .action(async (flags: ConnectionFlags & { credentials: string }) => {
      const entry = requireProvider(flags.provider);
      const credentials = parseCredentials(entry, flags.credentials);
      await withApp('connection set-credentials', async ({ store }) => {
        const tenant = await requireTenant(store, flags.tenant);
        const row = await requireConnection(store, tenant, entry.name);
        const ref = { tenantId: tenant.id, connectionId: row.id };
        must(await store.setConnectionCredentials({ ...ref, credentials }), 'storing the credentials');
        process.stdout.write(
          `credentials of the ${entry.name} connection of ${tenant.name} replaced; if the CRM had refused the ` +
            'earlier ones, its next scheduled run resumes it; a connection stopped in error continues now with ' +
            `crm-sync retry --tenant ${shellWord(tenant.name)} --provider ${entry.name}\n`,
        );
      });
    });

  connection
    .command('set-base-url')
    .description("replace a connection's base URL (https, or plain http to this machine only)")
    .requiredOption('--tenant <name>', 'tenant name')
    .requiredOption('--provider <name>', 'provider of the connection')
    .argument('<url>', "the CRM API's base URL")
    .action(async (text: string, flags: ConnectionFlags) => {
      const entry = requireProvider(flags.provider);
      const baseUrl = parseBaseUrl(text, 'base URL');
      await withApp('connection set-base-url', async ({ store }) => {
        const tenant = await requireTenant(store, flags.tenant);
        const row = await requireConnection(store, tenant, entry.name);
        const ref = { tenantId: tenant.id, connectionId: row.id };
        const updated = must(await store.setConnectionBaseUrl({ ...ref, baseUrl }), 'storing the base URL');
        process.stdout.write(
          `base URL of the ${entry.name} connection of ${tenant.name} is now ${updated.baseUrl}; a connection ` +
            `stopped in error continues with crm-sync retry --tenant ${shellWord(tenant.name)} --provider ${entry.name}\n`,
        );
      });
    });

  connection
    .command('set-interval')
    .description("give one connection its own sync interval, or 'tenant' to follow the tenant's again")
    .requiredOption('--tenant <name>', 'tenant name')
    .requiredOption('--provider <name>', 'provider of the connection')
    .argument('<interval>', "a number and s, m, h or d (e.g. 5m), or 'tenant'")
    .action(async (interval: string, flags: ConnectionFlags) => {
      const entry = requireProvider(flags.provider);
      const seconds = interval === 'tenant' ? null : parseIntervalArg(interval);
      await withApp('connection set-interval', async ({ store, clock }) => {
        const tenant = await requireTenant(store, flags.tenant);
        const row = await requireConnection(store, tenant, entry.name);
        const ref = { tenantId: tenant.id, connectionId: row.id };
        const updated = must(
          await store.setConnectionInterval({ ...ref, syncIntervalSeconds: seconds }),
          'setting the interval',
        );
        const moved = await bringForward(store, [updated], updated.effectiveIntervalSeconds, clock());
        process.stdout.write(
          `${entry.name} connection of ${tenant.name} now syncs every ${describeInterval(updated)}` +
            `${moved > 0 ? '; next run brought forward' : ''}\n`,
        );
      });
    });
}

/**
 * A URL credentials may be sent to (`label` names it in the refusal); exit 2 otherwise. A refusal never shows a
 * user name or password typed into it (`quotedUrl`).
 */
export function parseBaseUrl(text: string, label: string): string {
  // A query may carry an API key (`?api_key=…`): every refusal shows the URL up to its `?` or `#`.
  const shown = quotedUrl(text.replace(/([?#])[\s\S]*$/, '$1…'));
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) {
    throw new UsageError(`${label} must be an http or https URL, got ${shown}`);
  }
  const url = new URL(text);
  // The URL is listed by `connection list`; secrets belong in --credentials, which is stored encrypted.
  if (url.username !== '' || url.password !== '') {
    throw new UsageError(
      `${label} must not hold a user name or password: it is listed in the clear; credentials go in the connection's --credentials (connection add, set-credentials)`,
    );
  }
  if (!isCredentialEndpoint(url)) throw new UsageError(`${label} ${PLAIN_HTTP_REFUSED}, got ${shown}`);
  if (/[?#]/.test(text)) throw new UsageError(`${label} ${BASE_URL_QUERY_REFUSED}, got ${shown}`);
  return text;
}

/** A line under the table for a base URL the runs refuse (stored as plain http by an earlier version). */
function refusedBaseUrlLine({ tenant, connection }: { tenant: Tenant; connection: Connection }): string {
  const problem = baseUrlProblem(connection.baseUrl);
  if (problem === null) return '';
  return (
    `  ${tenant.name} ${connection.provider}: base url refused: ${problem}; change it with ` +
    `${setBaseUrlCommand(tenant.name, connection.provider)}\n`
  );
}

/**
 * `--credentials` as a JSON object (inline, or `@FILE`), checked against the provider's schema. Messages name
 * the fields at fault, never their values.
 */
function parseCredentials(entry: ProviderEntry, text: string): Credentials {
  if (text === '@') throw new UsageError('--credentials @FILE: no file name after @');
  const source = text.startsWith('@') ? readTextFile(text.slice(1)) : text;
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch {
    throw new UsageError('--credentials is not valid JSON');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new UsageError('--credentials must be a JSON object');
  }
  const checked = entry.credentialsSchema.safeParse(json);
  if (!checked.success) {
    throw new UsageError(`--credentials do not fit ${entry.name}: ${describeIssues(checked.error)}`);
  }
  // Stored as given (validated), so the provider's defaults apply when the connection is used.
  return json as Credentials;
}

function describeInterval(connection: Connection): string {
  const interval = formatInterval(connection.effectiveIntervalSeconds);
  return connection.syncIntervalSeconds === null ? `${interval} (tenant)` : interval;
}

function connectionJson(tenant: Tenant, c: Connection) {
  return {
    id: c.id,
    tenant: tenant.name,
    tenantId: tenant.id,
    provider: c.provider,
    baseUrl: shownUrl(c.baseUrl),
    baseUrlProblem: baseUrlProblem(c.baseUrl),
    enabled: c.enabled,
    interval: formatInterval(c.effectiveIntervalSeconds),
    intervalSeconds: c.effectiveIntervalSeconds,
    intervalSource: c.syncIntervalSeconds === null ? 'tenant' : 'connection',
    nextRunAt: c.nextRunAt.toISOString(),
    cursor: c.cursor,
    cursorCommittedAt: c.cursorCommittedAt?.toISOString() ?? null,
    lease: c.lease === null ? null : { owner: c.lease.owner, expiresAt: c.lease.expiresAt.toISOString() },
  };
}
