import type { Command } from 'commander';
import { z } from 'zod';
import { ok } from '../core/result.ts';
import { describeIssues } from '../core/zodIssues.ts';
import {
  CONFLICTING_REPEAT,
  conflictingRepeats,
  type EngagementEvent,
  engagementEventSchema,
  FUTURE_EVENT,
  isFutureEvent,
} from '../persistence/records.ts';
import type { Store, StoreError } from '../persistence/store.ts';
import { must, requireTenant, withApp } from './app.ts';
import { type NumberedLine, readJsonLines, refuseFile } from './jsonLines.ts';
import { plural, print, showControls } from './output.ts';
import { UsageError } from './usageError.ts';

/** Events sent to the store per call. */
const BATCH = 1000;
/** Event ids with an unknown contact listed in human output. */
const LISTED_UNKNOWN = 20;

const kindOf = { open: 'email_open', click: 'email_click' } as const;

/**
 * One engagement event as the operator writes it (the options of `engagement add`, a line of an import), read at
 * `now`: an event dated more than a day later is refused with the rest of the input.
 */
const engagementLineSchema = (now: Date) =>
  z
    .strictObject({
      eventId: engagementEventSchema.shape.eventId,
      contactId: engagementEventSchema.shape.contactId,
      type: z.enum(['open', 'click']),
      at: engagementEventSchema.shape.occurredAt.refine((at) => !isFutureEvent(at, now), FUTURE_EVENT),
    })
    .transform(
      (line): EngagementEvent => ({
        eventId: line.eventId,
        contactId: line.contactId,
        kind: kindOf[line.type],
        occurredAt: line.at,
      }),
    );

/** What ingesting a batch did, by event id. */
interface Ingested {
  inserted: string[];
  duplicates: string[];
  unknownContact: string[];
}

/**
 * `engagement add|import`: e-mail opens and clicks recorded in NurtureHub, idempotent by event id. New events
 * add to the contact's counters and last-open/click instants, which the next cycle pushes to the CRMs.
 */
export function registerEngagement(program: Command): void {
  const engagement = program
    .command('engagement')
    .description('record e-mail opens and clicks (idempotent by event id)');

  engagement
    .command('add')
    .description('record one open or click of a contact')
    .requiredOption('--tenant <name>', 'tenant name')
    .requiredOption('--contact <id>', 'local contact id (crm-sync contact list)')
    .requiredOption('--type <type>', 'open or click')
    .requiredOption('--at <instant>', 'when it happened: ISO 8601 with a zone, e.g. 2025-06-01T09:30:00Z')
    .requiredOption('--event-id <id>', "NurtureHub's id of the event; the same id twice is recorded once")
    .option('--json', 'print {inserted, duplicates, unknownContact} as JSON')
    .action(
      async (flags: {
        tenant: string;
        contact: string;
        type: string;
        at: string;
        eventId: string;
        json?: boolean;
      }) => {
        const parsed = engagementLineSchema(new Date()).safeParse({
          eventId: flags.eventId,
          contactId: flags.contact,
          type: flags.type,
          at: flags.at,
        });
        if (!parsed.success) throw new UsageError(describeFlags(parsed.error));
        const event = parsed.data;
        await withApp('engagement add', async ({ store, clock }) => {
          const tenant = await requireTenant(store, flags.tenant);
          const ingested = await store.ingestEngagementEvents({
            tenantId: tenant.id,
            events: [event],
            now: clock(),
          });
          if (!ingested.ok && ingested.error.kind === 'conflict')
            throw new UsageError(ingested.error.message);
          const result = must(ingested, 'recording the event');
          if (result.unknownContact.length > 0) {
            throw new UsageError(`tenant ${tenant.name} has no contact ${event.contactId}; nothing recorded`);
          }
          print(flags.json, result, () =>
            result.inserted.length > 0
              ? `recorded ${flags.type} ${event.eventId} of contact ${event.contactId}\n`
              : `event ${event.eventId} was already recorded; nothing changed\n`,
          );
        });
      },
    );

  engagement
    .command('import')
    .description('record events from JSONL: one {"eventId","contactId","type":"open"|"click","at"} per line')
    .requiredOption('--tenant <name>', 'tenant name')
    .argument('<file>', 'JSONL file of events')
    .option('--json', 'print {inserted, duplicates, unknownContact} (event ids) as JSON')
    .action(async (file: string, flags: { tenant: string; json?: boolean }) => {
      const lines = readJsonLines(file, engagementLineSchema(new Date()));
      refuseConflictingRepeats(file, lines);
      await withApp(
        'engagement import',
        async ({ store, clock }) => {
          const tenant = await requireTenant(store, flags.tenant);
          const result = await ingestAll(store, tenant.id, lines, clock());
          print(flags.json, result, () => {
            const listed = result.unknownContact.slice(0, LISTED_UNKNOWN);
            const more = result.unknownContact.length - listed.length;
            return (
              `${file}: ${plural(lines.length, 'event')}: inserted ${result.inserted.length}, ` +
              `duplicates ${result.duplicates.length}, unknown contact ${result.unknownContact.length}\n` +
              (listed.length > 0
                ? `  unknown contact: ${listed.map(showControls).join(', ')}${more > 0 ? ` … and ${more} more` : ''}\n`
                : '')
            );
          });
        },
        IN_ONE_TRANSACTION,
      );
    });
}

/** An event id on two lines with another contact, type or time: the file is refused, naming both lines. */
function refuseConflictingRepeats(file: string, lines: readonly NumberedLine<EngagementEvent>[]): void {
  const conflicts = conflictingRepeats(lines.map((line) => line.value));
  if (conflicts.length === 0) return;
  const problems = conflicts.map(
    ({ index, firstIndex }) =>
      `${file}:${lines[index]?.line}: event ${lines[index]?.value.eventId} ${CONFLICTING_REPEAT} (line ${lines[firstIndex]?.line})`,
  );
  refuseFile(file, problems);
}

/** Why `engagement import` cannot go through a running holder. */
const IN_ONE_TRANSACTION = {
  ownDatabaseOnly:
    'it records the file in one transaction, and transactions run only in the process holding it',
};

/**
 * Ingests in batches, in one transaction; a repeat of an event id earlier in the file counts as a duplicate (the
 * store reports one in the same batch, or one an earlier batch of the transaction recorded). A repeat of an event
 * for no contact was never counted: listed once under unknownContact, as the store lists it within one batch.
 */
async function ingestAll(
  store: Store,
  tenantId: string,
  lines: readonly NumberedLine<EngagementEvent>[],
  now: Date,
): Promise<Ingested> {
  const events = lines.map((line) => line.value);
  const result = await store.transaction<Ingested, StoreError>(async (tx) => {
    const total: Ingested = { inserted: [], duplicates: [], unknownContact: [] };
    const unknown = new Set<string>();
    for (let start = 0; start < events.length; start += BATCH) {
      const ingested = await tx.ingestEngagementEvents({
        tenantId,
        events: events.slice(start, start + BATCH),
        now,
      });
      // An event id recorded earlier as another event: bad input, named; the transaction writes nothing.
      if (!ingested.ok && ingested.error.kind === 'conflict')
        throw new UsageError(`${ingested.error.message}; nothing imported`);
      const batch = must(ingested, 'recording events');
      total.inserted.push(...batch.inserted);
      total.duplicates.push(...batch.duplicates);
      // An earlier batch's unknown event again: the contacts did not change in between, so neither did its outcome.
      for (const eventId of batch.unknownContact) {
        if (unknown.has(eventId)) continue;
        unknown.add(eventId);
        total.unknownContact.push(eventId);
      }
    }
    return ok(total);
  });
  return must(result, 'recording events');
}

/** Zod issues on the `add` options, named by their flags. */
function describeFlags(error: z.ZodError): string {
  const flagOf: Record<string, string> = {
    eventId: '--event-id',
    contactId: '--contact',
    type: '--type',
    at: '--at',
  };
  const hints: Record<string, string> = {
    '--event-id': 'expected 1 to 200 characters',
    '--contact': 'expected a contact id (uuid)',
    '--type': 'expected open or click',
    '--at': 'expected an ISO 8601 instant with a zone, e.g. 2025-06-01T09:30:00Z',
  };
  // The first problem of each flag: a bad format before anything else. A refinement's own message (a date in
  // the future) says more than the flag's format hint.
  const byFlag = new Map<string, string>();
  for (const issue of error.issues) {
    const flag = flagOf[String(issue.path[0])] ?? String(issue.path[0]);
    if (!byFlag.has(flag))
      byFlag.set(flag, issue.code === 'custom' ? issue.message : (hints[flag] ?? 'invalid'));
  }
  return byFlag.size === 0
    ? describeIssues(error)
    : [...byFlag].map(([flag, problem]) => `${flag}: ${problem}`).join('; ');
}
