import type { Command } from 'commander';
import { z } from 'zod';
import { isoInstantSchema } from '../core/schemas.ts';
import type { AuditPruned } from '../persistence/audit.ts';
import { must, requireTenant, withApp } from './app.ts';
import { formatInstant, formatTable, plural, print } from './output.ts';
import { UsageError } from './usageError.ts';

/** A day (midnight UTC) or an instant with a zone, from year 0001 (the database's first): what `--before` takes. */
const beforeSchema = z.union([z.iso.date().refine((text) => !text.startsWith('0000')), isoInstantSchema]);

/** `--before` as an instant; exit 2 for anything else, before the database is opened. */
export function parseBeforeArg(text: string): Date {
  const parsed = beforeSchema.safeParse(text);
  const before = parsed.success ? new Date(text.length === 10 ? `${text}T00:00:00Z` : text) : null;
  if (before === null || Number.isNaN(before.getTime())) {
    throw new UsageError(
      `--before must be a date (2025-01-01, midnight UTC) or an ISO 8601 instant with a zone, got "${text}"`,
    );
  }
  return before;
}

/**
 * `audit prune --before DATE [--tenant T] [--dry-run] [--json]`: removes the audit entries of cycles that finished
 * before DATE, with their conflicts, duplicates and errors, and says what went. A connection's latest entry stays
 * (status and the admin page show it). Nothing else prunes the audit log: a schedule of 5 minutes adds about
 * 105,000 entries a connection a year, which the operator keeps for as long as they want them.
 */
export function registerAuditPrune(audit: Command): void {
  audit
    .command('prune')
    .description("remove audit entries of cycles finished before a date (never a connection's latest)")
    .requiredOption(
      '--before <date>',
      'a date (midnight UTC) or an ISO 8601 instant with a zone, not in the future',
    )
    .option('--tenant <name>', 'only this tenant (default every tenant)')
    .option('--dry-run', 'count what would be removed, remove nothing')
    .option('--json', 'print what was removed as JSON')
    .action(async (flags: { before: string; tenant?: string; dryRun?: boolean; json?: boolean }) => {
      // `audit --tenant T prune …` would otherwise prune every tenant: options go after `prune`.
      const misplaced = Object.keys(audit.opts());
      if (misplaced.length > 0) {
        throw new UsageError(
          `audit prune takes its options after "prune" (crm-sync audit prune --before DATE --tenant T); got ${misplaced.map((o) => `--${o}`).join(', ')} before it`,
        );
      }
      const before = parseBeforeArg(flags.before);
      const dryRun = flags.dryRun === true;
      await withApp('audit prune', async ({ store, clock }) => {
        if (before > clock()) {
          throw new UsageError(
            `--before ${flags.before} is in the future: that would remove every entry but each connection's latest`,
          );
        }
        const tenant = flags.tenant === undefined ? null : await requireTenant(store, flags.tenant);
        const pruned = must(
          await store.pruneAudit({ before, dryRun, ...(tenant === null ? {} : { tenantId: tenant.id }) }),
          dryRun ? 'counting audit entries to prune' : 'pruning the audit log',
        );
        const tenants = must(await store.listTenants(), 'listing tenants');
        const nameOf = new Map(tenants.map((t) => [t.id, t.name]));
        const connections = pruned.map((p) => ({ tenant: nameOf.get(p.tenantId) ?? p.tenantId, ...p }));
        const entries = pruned.reduce((sum, p) => sum + p.entries, 0);
        const items = pruned.reduce((sum, p) => sum + p.items, 0);
        print(
          flags.json,
          {
            before: before.toISOString(),
            tenant: tenant?.name ?? null,
            dryRun,
            entries,
            items,
            connections: connections.map(({ tenantId: _id, ...c }) => c),
          },
          () => prunedInWords({ before, dryRun, entries, items, connections }),
        );
      });
    });
}

function prunedInWords(params: {
  before: Date;
  dryRun: boolean;
  entries: number;
  items: number;
  connections: Array<AuditPruned & { tenant: string }>;
}): string {
  const { before, dryRun, entries, items, connections } = params;
  const what = `${entries} audit ${entries === 1 ? 'entry' : 'entries'} (${plural(items, 'item')})`;
  const line = `${dryRun ? 'would remove' : 'removed'} ${what} of cycles finished before ${formatInstant(before)}; each connection's latest entry is kept\n`;
  if (connections.length === 0) return line;
  return `${line}${formatTable<AuditPruned & { tenant: string }>(
    [
      { header: 'tenant', cell: (c) => c.tenant },
      { header: 'provider', cell: (c) => c.provider },
      { header: 'entries', cell: (c) => String(c.entries), alignRight: true },
      { header: 'items', cell: (c) => String(c.items), alignRight: true },
      { header: 'oldest', cell: (c) => formatInstant(c.oldestFinishedAt) },
      { header: 'newest', cell: (c) => formatInstant(c.newestFinishedAt) },
    ],
    connections,
  )}`;
}
