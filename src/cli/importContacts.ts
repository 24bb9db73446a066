import { refreshOutdatedMatchKeys } from '../actors/currentMatchKeys.ts';
import { describeMatch } from '../actors/inboundOwners.ts';
import { contentHash } from '../core/canonicalJson.ts';
import { MAX_HOLDERS_PER_KEY, matchKeys } from '../core/dedup/blocking.ts';
import { findMatch } from '../core/dedup/findMatch.ts';
import { type MatchRecord, toMatchRecord } from '../core/dedup/matchRecord.ts';
import { cannotMatch } from '../core/dedup/scorePair.ts';
import { stableId } from '../core/ids.ts';
import { foldImportedEngagement, type ImportedEngagementField } from '../core/importedEngagement.ts';
import { ok } from '../core/result.ts';
import type { CanonicalContact } from '../core/schemas.ts';
import type { Store, StoreData, StoreError } from '../persistence/store.ts';
import { must } from './app.ts';
import type { NumberedLine } from './jsonLines.ts';

/** What importing NurtureHub-originated contacts did, line by line. */
export interface ContactImport {
  created: Array<{ line: number; id: string }>;
  /**
   * Lines that are a contact already stored (or an earlier line of the same file): not created; the line's
   * engagement the contact lacked was added to it (`engagementAdded`), and its withdrawal of marketing consent
   * (`consentWithdrawn`: the contact held another consent; see `foldImportedEngagement`).
   */
  matched: Array<{
    line: number;
    matchedId: string;
    reason: string;
    engagementAdded: ImportedEngagementField[];
    consentWithdrawn: boolean;
  }>;
}

/** Lines looked up together. */
const CHUNK = 500;

/**
 * The id of a NurtureHub-originated contact: uuid v5 of (tenant, `nurturehub`, `contact`, content hash of the
 * validated contact). Deterministic, so importing the same line again finds its own row even when the contact
 * has too few fields for matching to recognise it (e.g. a name only), and two imports racing converge on one
 * row. A changed line gets a new id, and matching then recognises it as the same person.
 */
export function importedContactId(tenantId: string, contact: CanonicalContact): string {
  return stableId({
    tenantId,
    provider: 'nurturehub',
    objectType: 'contact',
    externalId: contentHash(contact),
  });
}

/**
 * Imports contacts that began in NurtureHub (web leads and the like), in one transaction. Each line is first
 * looked up by its own id, then matched against stored contacts and the file's earlier lines with the dedup
 * core (`matchKeys` → `findCandidates` → `findMatch`). A match keeps its contact fields (the CRM owns them) and
 * takes the line's engagement it lacks (`foldImportedEngagement`); anything else is created with its match keys,
 * without an origin connection, so the next cycle of each of the tenant's connections creates it in that CRM.
 * Contacts stored by an older normalisation get current match keys first (`refreshOutdatedMatchKeys`), in
 * transactions of their own.
 */
export async function importContacts(
  store: Store,
  params: { tenantId: string; lines: readonly NumberedLine<CanonicalContact>[]; now: Date },
): Promise<ContactImport> {
  const { tenantId, now } = params;
  // Candidates are looked up by stored match keys, which must be of the current normalisation.
  must(await refreshOutdatedMatchKeys(store, tenantId), 'bringing match keys up to date');
  const result = await store.transaction<ContactImport, StoreError>(async (tx) => {
    // Before any look-up: on a shared PostgreSQL, another import or a worker's cycle that created the same person
    // between this import's look-up and its write left the tenant holding the person twice, for good.
    must(await tx.holdTenantChanges({ tenantId }), 'waiting for other writers of the contacts');
    const outcome: ContactImport = { created: [], matched: [] };
    // Contacts created by this import, by blocking key: a later line may duplicate an earlier one.
    const createdByKey = new Map<string, MatchRecord[]>();
    /** The line that created each contact of this import. */
    const createdOnLine = new Map<string, number>();
    /** The line of this import folded into a contact it matched, and that contact, by the line's own id. */
    const foldedOnLine = new Map<string, { line: number; contactId: string }>();
    /**
     * The lines of this import each contact was created from or folded into, by contact id: a line a conflict rule
     * refuses with one of them is not folded in too, as the sync's clustering checks a joining record against every
     * member. J Smith, then John and Jane Smith of the same house (two mailboxes) each matching J, made one contact.
     */
    const linesOf = new Map<string, MatchRecord[]>();
    const addLine = (contactId: string, record: MatchRecord) =>
      linesOf.set(contactId, [...(linesOf.get(contactId) ?? []), record]);
    for (let start = 0; start < params.lines.length; start += CHUNK) {
      const chunk = params.lines.slice(start, start + CHUNK).map((line) => {
        const id = importedContactId(tenantId, line.value);
        const record = toMatchRecord(id, line.value);
        return { ...line, id, record, keys: matchKeys(record) };
      });
      const stored = await storedCandidates(tx, tenantId, chunk);
      const writes: Array<{ id: string; contact: CanonicalContact; keys: string[] }> = [];
      const folds: Fold[] = [];
      for (const item of chunk) {
        // The same line folded into a contact before (an earlier import, or an earlier line of this file): its
        // engagement was added then. Folded in again, an enrolment or score an agent has cleared since came back.
        const folded = foldedOnLine.get(item.id) ?? stored.folded.get(item.id);
        if (folded !== undefined) {
          outcome.matched.push({
            line: item.line,
            matchedId: folded.contactId,
            reason:
              'line' in folded
                ? `the same contact as line ${folded.line}`
                : 'the same line was imported before and added to this contact',
            engagementAdded: [],
            consentWithdrawn: false,
          });
          continue;
        }
        const earlierLine = createdOnLine.get(item.id);
        if (stored.ids.has(item.id) || earlierLine !== undefined) {
          outcome.matched.push({
            line: item.line,
            matchedId: item.id,
            reason:
              earlierLine === undefined
                ? 'the same contact was imported before'
                : `the same contact as line ${earlierLine}`,
            // The same id is the same content: nothing the line holds is new to the contact.
            engagementAdded: [],
            consentWithdrawn: false,
          });
          continue;
        }
        const candidates = new Map<string, MatchRecord>();
        for (const key of item.keys) {
          for (const r of stored.byKey.get(key) ?? []) candidates.set(r.id, r);
          for (const r of heldBySome(createdByKey.get(key))) candidates.set(r.id, r);
        }
        const notAnother = [...candidates.values()].filter(
          (candidate) => !(linesOf.get(candidate.id) ?? []).some((line) => cannotMatch(item.record, line)),
        );
        const match = findMatch(item.record, notAnother);
        if (match !== null) {
          const matched = {
            line: item.line,
            matchedId: match.matchedId,
            reason: describeMatch(match),
            engagementAdded: [],
            consentWithdrawn: false,
          };
          outcome.matched.push(matched);
          folds.push({ lineId: item.id, matched, line: item.value });
          foldedOnLine.set(item.id, { line: item.line, contactId: match.matchedId });
          addLine(match.matchedId, item.record);
          continue;
        }
        writes.push({ id: item.id, contact: item.value, keys: item.keys });
        outcome.created.push({ line: item.line, id: item.id });
        createdOnLine.set(item.id, item.line);
        addLine(item.id, item.record);
        for (const key of item.keys) {
          const holders = createdByKey.get(key);
          if (holders === undefined) createdByKey.set(key, [item.record]);
          else if (holders.length <= MAX_HOLDERS_PER_KEY) holders.push(item.record);
        }
      }
      if (writes.length > 0) {
        must(
          await tx.upsertContacts({
            tenantId,
            contacts: writes.map(({ id, contact }) => ({ id, contact })),
            now,
          }),
          'storing contacts',
        );
        must(
          await tx.replaceMatchKeys({
            tenantId,
            entries: writes.map(({ id, keys }) => ({ contactId: id, keys })),
          }),
          'storing match keys',
        );
        // A created contact's score and enrolment came from the import too: a later line of the lead brings neither
        // again, as for a contact a line matched (`addMatchedEngagement`).
        const given = writes.flatMap(({ id, contact }) => {
          const { score, sequence } = importedEnrolmentKeys(tenantId, id, contact);
          return [score, sequence].flatMap((lineId) => (lineId === null ? [] : [{ lineId, contactId: id }]));
        });
        if (given.length > 0)
          must(
            await tx.recordFoldedImportLines({ tenantId, lines: given }),
            'remembering the enrolments given',
          );
      }
      // After the creates: a line may match a contact an earlier line of this chunk created.
      await addMatchedEngagement(tx, tenantId, folds, now);
    }
    return ok(outcome);
  });
  return must(result, 'importing contacts');
}

/**
 * The keys under which an import's intent score and nurture sequence given to a contact are remembered
 * (`imported_lines`): the score by the contact alone, the sequence by the contact and the sequence's id. Tomorrow's
 * export of the same lead has its score moved with the open and its sequence a step on: keyed by the values, it
 * re-enrolled a contact an agent had taken out of the sequence. A line with neither has no key.
 */
function importedEnrolmentKeys(tenantId: string, contactId: string, line: CanonicalContact) {
  const key = (of: unknown) =>
    stableId({
      tenantId,
      provider: 'nurturehub',
      objectType: 'imported-enrolment',
      externalId: contentHash(of),
    });
  return {
    score: line.intentScore === null ? null : key({ contactId, field: 'intentScore' }),
    sequence:
      line.nurtureSequence === null
        ? null
        : key({ contactId, field: 'nurtureSequence', sequenceId: line.nurtureSequence.sequenceId }),
  };
}

/** A line that matched another contact: its own id, what the import reports, and the line's contact. */
interface Fold {
  lineId: string;
  matched: ContactImport['matched'][number];
  line: CanonicalContact;
}

/**
 * Folds each matched line's engagement into the contact it matched (`foldImportedEngagement`), lines matching one
 * contact in file order, and stores the contacts that changed; their match keys stay, as engagement is not
 * matched on. Written only if nothing changed a contact since it was read here (a cycle of a worker on the same
 * PostgreSQL): the import then fails whole, to be run again.
 */
async function addMatchedEngagement(
  tx: StoreData,
  tenantId: string,
  folds: readonly Fold[],
  now: Date,
): Promise<void> {
  if (folds.length === 0) return;
  // A lead's enrolment and score, once folded into a contact, are not folded in again by a later line of the same
  // lead that differs elsewhere (tomorrow's export, one more open): an agent may have taken them out since.
  const enrolmentKeys = folds.map((fold) =>
    importedEnrolmentKeys(tenantId, fold.matched.matchedId, fold.line),
  );
  const allKeys = enrolmentKeys.flatMap((k) => [k.score, k.sequence]).filter((k): k is string => k !== null);
  const foldedBefore = new Set(
    allKeys.length === 0
      ? []
      : must(
          await tx.getFoldedImportLines({ tenantId, lineIds: [...new Set(allKeys)] }),
          'reading imported enrolments',
        ).map((f) => f.lineId),
  );
  const remembered = new Map<string, string>();
  for (const fold of folds) remembered.set(fold.lineId, fold.matched.matchedId);
  const ids = [...new Set(folds.map((fold) => fold.matched.matchedId))];
  const held = new Map(
    must(await tx.getContacts({ tenantId, ids }), 'reading contacts').map((c) => [c.id, c]),
  );
  const folded = new Map<string, CanonicalContact>();
  for (const [index, { matched, line }] of folds.entries()) {
    const stored = held.get(matched.matchedId);
    if (stored === undefined) continue;
    const keys = enrolmentKeys[index] as ReturnType<typeof importedEnrolmentKeys>;
    const seen = (key: string | null) => key !== null && foldedBefore.has(key);
    const brought = {
      ...line,
      intentScore: seen(keys.score) ? null : line.intentScore,
      nurtureSequence: seen(keys.sequence) ? null : line.nurtureSequence,
    };
    const before = folded.get(stored.id) ?? stored.contact;
    const { contact, changed } = foldImportedEngagement(before, brought);
    // Remembered where this line gave the contact its score or sequence, or brought a score to a contact that has
    // one or the sequence it is in already (by an earlier import, NurtureHub or a CRM): cleared or taken out of it
    // later, the next export's line gave it back.
    if (keys.score !== null && (changed.includes('intentScore') || before.intentScore !== null))
      remembered.set(keys.score, stored.id);
    const inIt =
      before.nurtureSequence !== null &&
      before.nurtureSequence.sequenceId === line.nurtureSequence?.sequenceId;
    if (keys.sequence !== null && (changed.includes('nurtureSequence') || inIt))
      remembered.set(keys.sequence, stored.id);
    matched.engagementAdded = changed.filter((field) => field !== 'marketingConsent');
    matched.consentWithdrawn = changed.includes('marketingConsent');
    if (changed.length > 0) folded.set(stored.id, contact);
  }
  must(
    await tx.recordFoldedImportLines({
      tenantId,
      lines: [...remembered].map(([lineId, contactId]) => ({ lineId, contactId })),
    }),
    'remembering the lines added to contacts',
  );
  if (folded.size === 0) return;
  must(
    await tx.upsertContacts({
      tenantId,
      contacts: [...folded].map(([id, contact]) => ({
        id,
        contact,
        expectedChangeSeq: held.get(id)?.changeSeq,
      })),
      now,
    }),
    'adding engagement to matched contacts',
  );
}

/**
 * The contacts this import created holding a key: none where more hold it than a look-up in the store takes
 * (`MAX_HOLDERS_PER_KEY`), as such a key says nothing about identity. Taken whole, 4,000 leads at the `info@` of as
 * many agencies compared each line with every line before it.
 */
function heldBySome(holders: readonly MatchRecord[] | undefined): readonly MatchRecord[] {
  return holders === undefined || holders.length > MAX_HOLDERS_PER_KEY ? [] : holders;
}

/**
 * The chunk's own ids already stored, its lines folded into a contact by an earlier import (by line id), and the
 * stored contacts holding each of its (selective) keys.
 */
async function storedCandidates(
  tx: StoreData,
  tenantId: string,
  chunk: ReadonlyArray<{ id: string; keys: string[] }>,
): Promise<{
  ids: Set<string>;
  folded: Map<string, { contactId: string }>;
  byKey: Map<string, MatchRecord[]>;
}> {
  const lineIds = chunk.map((c) => c.id);
  const own = must(await tx.getContacts({ tenantId, ids: lineIds }), 'reading contacts');
  const folded = must(await tx.getFoldedImportLines({ tenantId, lineIds }), 'reading imported lines');
  const keys = [...new Set(chunk.flatMap((c) => c.keys))];
  const hits =
    keys.length === 0
      ? []
      : must(
          await tx.findCandidates({ tenantId, keys, maxHoldersPerKey: MAX_HOLDERS_PER_KEY }),
          'finding candidates',
        );
  const holders = new Map(hits.map((hit) => [hit.key, hit.contactIds]));
  const wanted = [...new Set([...holders.values()].flat())];
  const contacts =
    wanted.length === 0 ? [] : must(await tx.getContacts({ tenantId, ids: wanted }), 'reading contacts');
  const recordOf = new Map(contacts.map((c) => [c.id, toMatchRecord(c.id, c.contact)]));
  const byKey = new Map(
    [...holders].map(([key, ids]) => [
      key,
      ids.map((id) => recordOf.get(id)).filter((r): r is MatchRecord => r !== undefined),
    ]),
  );
  return {
    ids: new Set(own.map((c) => c.id)),
    folded: new Map(folded.map((f) => [f.lineId, { contactId: f.contactId }])),
    byKey,
  };
}
