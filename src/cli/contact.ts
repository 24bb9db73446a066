import type { Command } from 'commander';
import { type CanonicalContact, identifiableContactSchema } from '../core/schemas.ts';
import { FUTURE_EVENT, isFutureEvent, type Link, type StoredContact } from '../persistence/records.ts';
import type { ProviderName } from '../providers/provider.ts';
import { must, requireTenant, withApp } from './app.ts';
import { importContacts } from './importContacts.ts';
import { readJsonLines } from './jsonLines.ts';
import { type Column, clip, formatTable, plural, print } from './output.ts';

/** Contacts read per page from the store. */
const PAGE = 500;
/** Matched lines listed in human output; `--json` has them all. */
const LISTED_MATCHES = 20;

/** `contact list|import`: a tenant's local contacts, and leads that begin in NurtureHub. */
export function registerContact(program: Command): void {
  const contact = program.command('contact').description("list a tenant's contacts; import NurtureHub leads");

  contact
    .command('list')
    .description('list local contacts with their links (provider and external id)')
    .requiredOption('--tenant <name>', 'tenant name')
    .option('--json', 'print an array of contacts as JSON')
    .action(async (flags: { tenant: string; json?: boolean }) => {
      await withApp('contact list', async ({ store }) => {
        const tenant = await requireTenant(store, flags.tenant);
        const connections = must(await store.listConnections({ tenantId: tenant.id }), 'listing connections');
        const providerOf = new Map(connections.map((c) => [c.id, c.provider]));
        const contacts: Array<StoredContact & { links: Link[] }> = [];
        for (let afterId: string | undefined; ; ) {
          const page = must(
            await store.listContacts({ tenantId: tenant.id, limit: PAGE, ...(afterId ? { afterId } : {}) }),
            'listing contacts',
          );
          contacts.push(...page);
          afterId = page.at(-1)?.id;
          if (page.length < PAGE || afterId === undefined) break;
        }
        const rows: ContactRow[] = contacts.map((c) => ({
          id: c.id,
          contact: c.contact,
          links: c.links.map((l) => ({
            provider: providerOf.get(l.connectionId) ?? null,
            connectionId: l.connectionId,
            externalId: l.externalId,
          })),
          createdAt: c.createdAt.toISOString(),
          updatedAt: c.updatedAt.toISOString(),
        }));
        print(flags.json, rows, () =>
          rows.length === 0
            ? `tenant ${tenant.name} has no contacts yet\n`
            : `${formatTable(contactColumns, rows)}${plural(rows.length, 'contact')}\n`,
        );
      });
    });

  contact
    .command('import')
    .description(
      'import NurtureHub-originated contacts (e.g. web leads) from JSONL, one canonical contact per line; ' +
        'duplicates of stored contacts are not created but add the engagement they lack; ' +
        "the next cycle creates the new ones in the tenant's CRMs",
    )
    .requiredOption('--tenant <name>', 'tenant name')
    .argument('<file>', 'JSONL file: one canonical contact object per line')
    .option(
      '--json',
      'print {created, matched} with line numbers (and the engagement each match took) as JSON',
    )
    .action(async (file: string, flags: { tenant: string; json?: boolean }) => {
      const lines = readJsonLines(file, importedContactSchema(new Date()));
      await withApp(
        'contact import',
        async ({ store, clock }) => {
          const tenant = await requireTenant(store, flags.tenant);
          const outcome = await importContacts(store, { tenantId: tenant.id, lines, now: clock() });
          print(flags.json, outcome, () => {
            const listed = outcome.matched.slice(0, LISTED_MATCHES);
            const more = outcome.matched.length - listed.length;
            return (
              `${file}: ${plural(lines.length, 'contact')}: created ${outcome.created.length}, matched ${outcome.matched.length}\n` +
              listed
                .map(
                  (m) =>
                    `  line ${m.line}: matches ${m.matchedId}: ${m.reason}` +
                    (m.engagementAdded.length > 0
                      ? `; engagement added: ${m.engagementAdded.join(', ')}`
                      : '') +
                    (m.consentWithdrawn ? '; marketing consent withdrawn' : '') +
                    '\n',
                )
                .join('') +
              (more > 0 ? `  … and ${more} more (--json lists them all)\n` : '')
            );
          });
        },
        IN_ONE_TRANSACTION,
      );
    });
}

/**
 * A line of `contact import`, read at `now`: a contact that names or reaches someone, whose last open or click is
 * not dated more than a day ahead. Engagement only ever moves those instants later, so such a date would stay the
 * contact's for good and be pushed to every CRM; engagement ingest and the API's contact edit refuse it too.
 */
const importedContactSchema = (now: Date) =>
  identifiableContactSchema.superRefine((contact, ctx) => {
    for (const field of ['lastOpenedAt', 'lastClickedAt'] as const) {
      const at = contact[field];
      if (at !== null && isFutureEvent(at, now))
        ctx.addIssue({ code: 'custom', path: [field], message: FUTURE_EVENT });
    }
  });

/** Why `contact import` cannot go through a running holder. */
const IN_ONE_TRANSACTION = {
  ownDatabaseOnly:
    'it imports the file in one transaction, and transactions run only in the process holding it',
};

/** One contact as `contact list --json` prints it: the canonical contact and where it is linked. */
interface ContactRow {
  id: string;
  contact: CanonicalContact;
  /** `provider` is `null` only if the link's connection is gone. */
  links: Array<{ provider: ProviderName | null; connectionId: string; externalId: string }>;
  createdAt: string;
  updatedAt: string;
}

const contactColumns: Column<ContactRow>[] = [
  { header: 'id', cell: (r) => r.id },
  {
    header: 'name',
    cell: (r) => clip([r.contact.firstName, r.contact.lastName].filter(Boolean).join(' ') || '-', 40),
  },
  { header: 'email', cell: (r) => r.contact.email ?? '-' },
  { header: 'opens', cell: (r) => String(r.contact.emailOpens), alignRight: true },
  { header: 'clicks', cell: (r) => String(r.contact.emailClicks), alignRight: true },
  {
    header: 'links',
    cell: (r) => r.links.map((l) => `${l.provider ?? l.connectionId}:${l.externalId}`).join(', ') || '-',
  },
];
