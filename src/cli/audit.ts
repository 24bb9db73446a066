import type { Command } from 'commander';
import type { AuditEntry } from '../persistence/audit.ts';
import type { Tenant } from '../persistence/records.ts';
import { must, parseIntegerArg, requireConnection, requireProvider, requireTenant, withApp } from './app.ts';
import { clip, formatInstant, formatTable, print } from './output.ts';

/** Cycles listed when `--limit` is not given. */
const DEFAULT_LIMIT = 20;
/** Detail lines of each kind shown per cycle in human output; `--json` has them all. */
const DETAILS_PER_KIND = 5;

/**
 * `audit --tenant T [--provider P] [--limit N]`: what each cycle did, newest first: window, counts, every
 * conflict with both values and the winner, every duplicate suppressed and why, every error.
 */
export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('what each sync cycle did, newest first: counts, conflicts, duplicates suppressed, errors')
    .requiredOption('--tenant <name>', 'tenant name')
    .option('--provider <name>', 'only this connection')
    .option('--limit <n>', `cycles to show, 1 to 1000 (default ${DEFAULT_LIMIT})`)
    .option('--json', 'print an array of audit entries as JSON')
    .action(async (flags: { tenant: string; provider?: string; limit?: string; json?: boolean }) => {
      const entry = flags.provider === undefined ? null : requireProvider(flags.provider);
      const limit =
        flags.limit === undefined ? DEFAULT_LIMIT : parseIntegerArg('--limit', flags.limit, 1, 1000);
      await withApp('audit', async ({ store }) => {
        const tenant = await requireTenant(store, flags.tenant);
        const connection = entry === null ? null : await requireConnection(store, tenant, entry.name);
        const page = must(
          await store.listAudit({
            tenantId: tenant.id,
            ...(connection === null ? {} : { connectionId: connection.id }),
            limit,
          }),
          'reading the audit log',
        );
        print(
          flags.json,
          page.entries.map((e) => auditJson(tenant, e)),
          () => (page.entries.length === 0 ? 'no cycles audited yet\n' : formatAudit(page.entries)),
        );
      });
    });
}

function auditJson(tenant: Tenant, entry: AuditEntry) {
  const { body } = entry;
  return {
    id: entry.id,
    cycleId: body.cycleId,
    tenant: tenant.name,
    provider: entry.provider,
    connectionId: entry.connectionId,
    outcome: body.outcome,
    window: body.window,
    fetched: body.fetched,
    written: body.written,
    conflicts: body.conflicts,
    duplicatesSuppressed: body.duplicatesSuppressed,
    errors: body.errors,
    startedAt: body.startedAt,
    finishedAt: body.finishedAt,
  };
}

/** One aligned line per cycle, each followed by its indented conflict, duplicate and error lines. */
function formatAudit(entries: readonly AuditEntry[]): string {
  const table = formatTable<AuditEntry>(
    [
      { header: 'finished', cell: (e) => formatInstant(e.body.finishedAt) },
      { header: 'provider', cell: (e) => e.provider },
      { header: 'outcome', cell: (e) => e.body.outcome },
      { header: 'fetched', cell: (e) => String(e.body.fetched), alignRight: true },
      { header: 'created', cell: (e) => String(e.body.written.created), alignRight: true },
      { header: 'updated', cell: (e) => String(e.body.written.updated), alignRight: true },
      { header: 'unchanged', cell: (e) => String(e.body.written.unchanged), alignRight: true },
      { header: 'conflicts', cell: (e) => String(e.body.conflicts.length), alignRight: true },
      { header: 'duplicates', cell: (e) => String(e.body.duplicatesSuppressed.length), alignRight: true },
      { header: 'errors', cell: (e) => String(e.body.errors.length), alignRight: true },
      { header: 'cycle', cell: (e) => e.body.cycleId },
    ],
    entries,
  );
  const [header = '', ...lines] = table.split('\n');
  return [
    header,
    ...entries.flatMap((entry, i) => [lines[i] ?? '', ...details(entry).map((d) => `    ${d}`)]),
  ]
    .map((line) => `${line}\n`)
    .join('');
}

function details({ body }: AuditEntry): string[] {
  const conflicts = body.conflicts.map(
    (c) =>
      `conflict  ${c.contactId} ${c.field}: crm ${clip(JSON.stringify(c.crm), 60)}, local ${clip(JSON.stringify(c.local), 60)} → ${c.winner} wins`,
  );
  const duplicates = body.duplicatesSuppressed.map(
    (d) => `duplicate ${d.incoming} → ${d.matched}: ${clip(d.reason, 160)}`,
  );
  const errors = body.errors.map(
    (e) =>
      `error     ${e.status === null ? '' : `${e.status} `}${clip(e.message, 200)}${e.retry ? ' (retryable)' : ''}`,
  );
  return [
    ...capped(conflicts, 'conflicts'),
    ...capped(duplicates, 'duplicates'),
    ...capped(errors, 'errors'),
  ];
}

function capped(lines: string[], noun: string): string[] {
  if (lines.length <= DETAILS_PER_KIND) return lines;
  const more = lines.length - DETAILS_PER_KIND;
  return [...lines.slice(0, DETAILS_PER_KIND), `… ${more} more ${noun} (audit --json lists them all)`];
}
