import type { Command } from 'commander';
import type { ConflictReason } from '../core/merge.ts';
import type { AuditEntry, AuditItem, AuditListName } from '../persistence/audit.ts';
import type { Tenant } from '../persistence/records.ts';
import type { Store } from '../persistence/store.ts';
import { must, requireConnection, requireProvider, requireTenant, withApp } from './app.ts';
import { registerAuditPrune } from './auditPrune.ts';
import { clip, formatInstant, formatTable, printJsonStreamed, showControls } from './output.ts';
import { parseIntegerArg, UsageError } from './usageError.ts';

/** Cycles listed when `--limit` is not given. */
const DEFAULT_LIMIT = 20;
/** Detail lines of each kind shown per cycle in human output; `--json` has them all. */
const DETAILS_PER_KIND = 5;
/** Items `--json` reads of a list at a time (the store's largest page): what it holds of a list at once. */
export const ITEMS_PER_PAGE = 1000;

/**
 * `audit --tenant T [--provider P] [--limit N] [--json]`: what each cycle did, newest first: window, counts,
 * conflicts with both values and the winner, duplicates suppressed and why, errors. People get the first few of
 * each; `--json` gets every item, read and written a page at a time, so an entry of 200,000 duplicates costs
 * no more memory than a small one.
 */
export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description('what each sync cycle did, newest first: counts, conflicts, duplicates suppressed, errors')
    // `audit prune` has a --tenant of its own: options after `prune` are its (positional options), and this one is
    // checked below, since commander checks a required option of every command up to the one run.
    .enablePositionalOptions()
    .option('--tenant <name>', 'tenant name (required)')
    .option('--provider <name>', 'only this connection')
    .option('--limit <n>', `cycles to show, 1 to 1000 (default ${DEFAULT_LIMIT})`)
    .option('--json', 'print an array of audit entries as JSON, every item of every list')
    .action(async (flags: { tenant?: string; provider?: string; limit?: string; json?: boolean }) => {
      if (flags.tenant === undefined) throw new UsageError("required option '--tenant <name>' not specified");
      const tenantName = flags.tenant;
      const entry = flags.provider === undefined ? null : requireProvider(flags.provider);
      const limit =
        flags.limit === undefined ? DEFAULT_LIMIT : parseIntegerArg('--limit', flags.limit, 1, 1000);
      await withApp('audit', async ({ store }) => {
        const tenant = await requireTenant(store, tenantName);
        const connection = entry === null ? null : await requireConnection(store, tenant, entry.name);
        const page = must(
          await store.listAudit({
            tenantId: tenant.id,
            ...(connection === null ? {} : { connectionId: connection.id }),
            limit,
            // JSON pages through every list below; people see the first few items of each.
            itemsPerList: flags.json ? 0 : DETAILS_PER_KIND,
          }),
          'reading the audit log',
        );
        if (flags.json) {
          await printJsonStreamed(page.entries.map((e) => auditJson(store, tenant, e)));
        } else {
          process.stdout.write(
            page.entries.length === 0 ? 'no cycles audited yet\n' : formatAudit(page.entries),
          );
        }
      });
    });
  registerAuditPrune(audit);
}

/** An entry as `--json` prints it; its lists are read from the store as they are written. */
function auditJson(store: Store, tenant: Tenant, entry: AuditEntry) {
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
    conflicts: itemPages(store, entry, 'conflicts'),
    duplicatesSuppressed: itemPages(store, entry, 'duplicatesSuppressed'),
    errors: itemPages(store, entry, 'errors'),
    startedAt: body.startedAt,
    finishedAt: body.finishedAt,
  };
}

/** Every item of one list of an entry, one page at a time; an empty list needs no request. */
async function* itemPages(store: Store, entry: AuditEntry, list: AuditListName): AsyncGenerator<AuditItem[]> {
  let offset: number | null = entry.itemCounts[list] === 0 ? null : 0;
  while (offset !== null) {
    const page = must(
      await store.listAuditItems({
        tenantId: entry.tenantId,
        auditId: entry.id,
        list,
        offset,
        limit: ITEMS_PER_PAGE,
      }),
      `reading the ${list} of audit entry ${entry.id}`,
    );
    yield page.items;
    offset = page.nextOffset;
  }
}

/** One aligned line per cycle, each followed by its indented conflict, duplicate and error lines. */
export function formatAudit(entries: readonly AuditEntry[]): string {
  const table = formatTable<AuditEntry>(
    [
      { header: 'finished', cell: (e) => formatInstant(e.body.finishedAt) },
      { header: 'provider', cell: (e) => e.provider },
      { header: 'outcome', cell: (e) => e.body.outcome },
      { header: 'fetched', cell: (e) => String(e.body.fetched), alignRight: true },
      { header: 'created', cell: (e) => String(e.body.written.created), alignRight: true },
      { header: 'updated', cell: (e) => String(e.body.written.updated), alignRight: true },
      { header: 'unchanged', cell: (e) => String(e.body.written.unchanged), alignRight: true },
      { header: 'conflicts', cell: (e) => String(e.itemCounts.conflicts), alignRight: true },
      { header: 'duplicates', cell: (e) => String(e.itemCounts.duplicatesSuppressed), alignRight: true },
      { header: 'errors', cell: (e) => String(e.itemCounts.errors), alignRight: true },
      { header: 'cycle', cell: (e) => e.body.cycleId },
    ],
    entries,
  );
  const [header = '', ...lines] = table.split('\n');
  return [
    header,
    // Ids and values come from the CRMs: their control characters are shown, not obeyed by the terminal.
    ...entries.flatMap((entry, i) => [
      lines[i] ?? '',
      ...details(entry).map((d) => `    ${showControls(d)}`),
    ]),
  ]
    .map((line) => `${line}\n`)
    .join('');
}

const WON_BECAUSE: Record<ConflictReason, string> = {
  'both-changed-resolved-by-authority': " as the field's owner",
  'both-changed-resolved-by-recency': ', the later edit another CRM of the tenant holds',
  'both-changed-resolved-by-withdrawal': ', a withdrawal of consent kept',
};

/** The entry's first items of each kind (the body holds no more), then how many more there are. */
function details({ body, itemCounts }: AuditEntry): string[] {
  const conflicts = body.conflicts.map(
    (c) =>
      `conflict  ${c.contactId} ${c.field}: ${c.base === undefined ? '' : `was ${clip(JSON.stringify(c.base), 60)}, `}crm ${clip(JSON.stringify(c.crm), 60)}, local ${clip(JSON.stringify(c.local), 60)} → ${c.winner} wins${c.reason === undefined ? '' : WON_BECAUSE[c.reason]}`,
  );
  const duplicates = body.duplicatesSuppressed.map(
    (d) => `duplicate ${d.incoming} → ${d.matched}: ${clip(d.reason, 160)}`,
  );
  const errors = body.errors.map(
    (e) =>
      `error     ${e.status === null ? '' : `${e.status} `}${clip(e.message, 200)}${e.retry ? ' (retryable)' : ''}`,
  );
  return [
    ...withMore(conflicts, itemCounts.conflicts, 'conflicts'),
    ...withMore(duplicates, itemCounts.duplicatesSuppressed, 'duplicates'),
    ...withMore(errors, itemCounts.errors, 'errors'),
  ];
}

function withMore(lines: string[], total: number, noun: string): string[] {
  const more = total - lines.length;
  return more > 0 ? [...lines, `… ${more} more ${noun} (audit --json lists them all)`] : lines;
}
