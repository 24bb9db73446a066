import { formatInstant } from '../cli/output.ts';
import { formatInterval } from '../core/interval.ts';
import { parsePersistedConnection } from '../machines/persistence.ts';
import type { App } from '../main.ts';

/** Aligned columns: each column as wide as its widest cell. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** Every tenant's connections: machine state, cursor, attempt, last error, next run. */
export async function printStatusTable(app: Pick<App, 'store'>, out: (line: string) => void): Promise<void> {
  const tenants = await app.store.listTenants();
  if (!tenants.ok) throw new Error(tenants.error.message);
  const rows = [['TENANT', 'PROVIDER', 'STATE', 'CURSOR', 'ATTEMPT', 'INTERVAL', 'NEXT RUN', 'LAST ERROR']];
  for (const tenant of tenants.value) {
    const connections = await app.store.listConnections({ tenantId: tenant.id });
    if (!connections.ok) throw new Error(connections.error.message);
    for (const c of connections.value) {
      const stored = await app.store.loadSnapshot({ tenantId: tenant.id, connectionId: c.id });
      const restored =
        stored.ok && stored.value !== null
          ? parsePersistedConnection({
              machineVersion: Number(stored.value.machineVersion),
              snapshot: stored.value.snapshot,
            })
          : null;
      const context = restored?.ok ? restored.value.context : null;
      rows.push([
        tenant.name,
        c.provider,
        restored?.ok ? restored.value.state : 'idle',
        c.cursor ? `${c.cursor.modified} ${c.cursor.externalId}` : '-',
        String(context?.attempt ?? 0),
        formatInterval(c.effectiveIntervalSeconds),
        formatInstant(c.nextRunAt),
        context?.lastError ? `${context.lastError.kind}: ${context.lastError.message}`.slice(0, 60) : '-',
      ]);
    }
  }
  for (const line of table(rows)) out(line);
}

/** The newest audit entries of every tenant, one line each. */
export async function printAuditSummary(app: Pick<App, 'store'>, out: (line: string) => void): Promise<void> {
  const tenants = await app.store.listTenants();
  if (!tenants.ok) throw new Error(tenants.error.message);
  const rows = [
    [
      'TENANT',
      'PROVIDER',
      'OUTCOME',
      'FETCHED',
      'CREATED',
      'UPDATED',
      'UNCHANGED',
      'CONFLICTS',
      'DUPLICATES',
      'ERRORS',
      'FINISHED',
    ],
  ];
  for (const tenant of tenants.value) {
    const audit = await app.store.listAudit({ tenantId: tenant.id, limit: 50 });
    if (!audit.ok) throw new Error(audit.error.message);
    for (const { provider, body, itemCounts } of audit.value.entries) {
      rows.push([
        tenant.name,
        provider,
        body.outcome,
        String(body.fetched),
        String(body.written.created),
        String(body.written.updated),
        String(body.written.unchanged),
        String(itemCounts.conflicts),
        String(itemCounts.duplicatesSuppressed),
        String(itemCounts.errors),
        formatInstant(body.finishedAt),
      ]);
    }
  }
  for (const line of table(rows)) out(line);
}
