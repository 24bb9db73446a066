import { MAX_HOLDERS_PER_KEY, matchKeys } from '../core/dedup/blocking.ts';
import { clusterRecords, type MatchExplanation } from '../core/dedup/cluster.ts';
import { findMatch } from '../core/dedup/findMatch.ts';
import { explainedFrom } from '../core/dedup/groupRepresentative.ts';
import { type MatchRecord, toMatchRecord } from '../core/dedup/matchRecord.ts';
import { cannotMatch } from '../core/dedup/scorePair.ts';
import { stableId } from '../core/ids.ts';
import type { CanonicalContact } from '../core/schemas.ts';
import type { CycleNote, StagedRecord } from '../persistence/cycleWork.ts';
import type { Link, SuppressedRecord } from '../persistence/records.ts';
import type { Store } from '../persistence/store.ts';
import type { PhaseDeps } from './context.ts';
import type { CycleRef } from './reconcilePhase.ts';
import { must } from './storeCall.ts';
import { ARCHIVED, archivedOfActive, DELETED, goneFromCrm } from './twinRecords.ts';

/**
 * Stored contacts normalised for matching, kept for one reconcile run: the same candidates come back batch after
 * batch, and many are contacts this run wrote. The cache knows every change to the tenant's contacts up to
 * `checkedThrough` and holds no record a change after its reading overtook, so a hit needs no look-up. The least
 * recently used go first past `MATCH_CACHE_SIZE`, so memory stays bounded whatever the tenant's size.
 */
export class MatchCache {
  private readonly records = new Map<string, { changeSeq: number; record: MatchRecord }>();

  /** `checkedThrough`: a change high water of the tenant read before anything is put. */
  constructor(private checkedThrough: number) {}

  /** Every change numbered up to this is accounted for. */
  get changesCheckedThrough(): number {
    return this.checkedThrough;
  }

  /** Accounts for the changes after `changesCheckedThrough` (in change order): a record read before its change goes. */
  applyChanges(changes: ReadonlyArray<{ id: string; changeSeq: number }>): void {
    for (const { id, changeSeq } of changes) {
      const cached = this.records.get(id);
      if (cached !== undefined && cached.changeSeq < changeSeq) this.records.delete(id);
      this.checkedThrough = Math.max(this.checkedThrough, changeSeq);
    }
  }

  /** Forgets every record, with every change up to `highWater` accounted for (none can overtake an empty cache). */
  reset(highWater: number): void {
    this.records.clear();
    this.checkedThrough = Math.max(this.checkedThrough, highWater);
  }

  /** The cached record of `id`, counted as a use. */
  use(id: string): MatchRecord | undefined {
    const cached = this.records.get(id);
    if (cached === undefined) return undefined;
    this.records.delete(id);
    // Keyed again by the record's own id, not the caller's: an id cut from a batch's look-up text would keep
    // that whole text alive for as long as the entry lives.
    this.records.set(cached.record.id, cached);
    return cached.record;
  }

  /** Keeps `record`, read at change number `changeSeq` (or written with it). */
  put(id: string, changeSeq: number, record: MatchRecord): MatchRecord {
    this.records.delete(id);
    this.records.set(id, { changeSeq, record });
    if (this.records.size > MATCH_CACHE_SIZE) {
      const oldest = this.records.keys().next();
      if (oldest.done !== true) this.records.delete(oldest.value);
    }
    return record;
  }
}

/**
 * Half of a 100,000-contact tenant, whose batches find their candidates all over it. About 55 MB when full: the
 * Postgres orchestrator's peak at 1,000,000 contacts rose by 34 MB from 20,000 entries to 50,000.
 */
export const MATCH_CACHE_SIZE = 50_000;

/**
 * Changes listed at most per batch to bring the cache up to date. A batch of this run's own writes lists about
 * its size; more than this (an import, another connection's first sync) and re-reading is cheaper: the cache
 * starts over.
 */
export const CHANGES_PER_CHECK = 5_000;

/** Brings `cache` up to the tenant's latest changes; past `limit` of them, it starts over. */
export async function refreshMatchCache(
  store: Store,
  tenantId: string,
  cache: MatchCache,
  clock: () => Date,
  limit = CHANGES_PER_CHECK,
): Promise<void> {
  const changes = await must(
    store.listChangeSeqs({ tenantId, afterSeq: cache.changesCheckedThrough, limit }),
    clock,
  );
  if (changes.length < limit) cache.applyChanges(changes);
  else cache.reset(await must(store.localChangeHighWater({ tenantId }), clock));
}

/**
 * The link of a record the CRM no longer has, or holds archived, whose base a record taking its contact merges
 * against; and why, as the note says it (`which reapit holds archived`).
 */
type Replaced = Pick<Link, 'externalId' | 'base'> & {
  why: string;
  /** The record as last read, where the CRM still holds it (archived): remembered as a suppressed duplicate. */
  stillHeld: SuppressedRecord | null;
};

/**
 * The link a record taking a gone record's place merges through: its base, so what NurtureHub changed since is no
 * conflict with the CRM; not the gone record's echo state or field dates, which were that record's own. Consent
 * merges as on a first link (`notAsked` in the base): the new record was keyed in, or kept by a merge, without
 * knowing what the person told NurtureHub, and through the old base its `grant` read as the CRM granting again and
 * undid a withdrawal the old record held.
 */
export function linkInPlaceOf(
  replaced: Pick<Link, 'base'>,
): Pick<Link, 'base' | 'pushedHashes' | 'fieldModified'> {
  return { base: { ...replaced.base, marketingConsent: 'notAsked' }, pushedHashes: {}, fieldModified: {} };
}

/**
 * Decides which local contact each unlinked record belongs to. A record that duplicates another record of the
 * same CRM (in this batch, or one already linked) is suppressed: noted with the reason, neither linked nor
 * written, so one CRM record's values never overwrite another's. A record that matches a stored contact not
 * yet in this CRM (a NurtureHub lead, or a contact from another CRM) joins it; any other creates a contact.
 * `replacing` holds, by record, the link a record takes over from a record the CRM no longer has: one found gone
 * now (`goneFromCrm`), or one a write's 404 dropped (the contact's gone link).
 */
export async function assignOwners(
  deps: PhaseDeps,
  ref: CycleRef,
  unlinked: StagedRecord[],
  matchCache: MatchCache,
  cycleStart: Date,
  signal: AbortSignal,
  normalised: WeakMap<CanonicalContact, MatchRecord> = new WeakMap(),
): Promise<{ contactOf: Map<string, string>; notes: CycleNote[]; replacing: Map<string, Replaced> }> {
  const { store, provider, clock } = deps;
  const contactOf = new Map<string, string>();
  const notes: CycleNote[] = [];
  const replacing = new Map<string, Replaced>();
  if (unlinked.length === 0) return { contactOf, notes, replacing };

  // A live record names its group of duplicates: an archived one listed first (an old registration) made the
  // contact, archived, and the live record was suppressed for good.
  const liveFirst = [...unlinked.filter((r) => !r.removed), ...unlinked.filter((r) => r.removed)];
  const records = liveFirst.map((r) => {
    const record = toMatchRecord(r.externalId, r.contact);
    normalised.set(r.contact, record);
    return record;
  });
  const clustering = clusterRecords(records);
  // Every record of a group is looked for among the stored contacts, and the group goes with its best match: by
  // its first record's alone, a group whose first record lacked what ties the person to a lead created a contact
  // beside the lead, or not, by the records' ids alone.
  const candidates = await storedCandidates(store, ref.tenantId, records, clock, matchCache);
  // Of a group's matches, a live record's goes first: an archived record is left apart from an active contact.
  const removed = new Set(unlinked.filter((r) => r.removed).map((r) => r.externalId));
  const ahead = (a: MatchExplanation, b: MatchExplanation) =>
    removed.has(a.recordId) === removed.has(b.recordId) ? a.score > b.score : !removed.has(a.recordId);
  const bestOfGroup = new Map<string, MatchExplanation>();
  records.forEach((record, index) => {
    const match = findMatch(record, candidates.get(record.id) ?? []);
    const group = clustering.clusterIds[index] as string;
    const best = bestOfGroup.get(group);
    if (match !== null && (best === undefined || ahead(match, best))) bestOfGroup.set(group, match);
  });
  // Where only an archived record of a group matched, the group's first live record stands for it: the archived one is
  // left apart from an active contact, and the live one was suppressed as the duplicate of a record linked to nothing.
  const firstLive = new Map<string, MatchRecord>();
  records.forEach((record, index) => {
    const group = clustering.clusterIds[index] as string;
    if (!removed.has(record.id) && !firstLive.has(group)) firstLive.set(group, record);
  });
  for (const [group, best] of bestOfGroup) {
    const live = firstLive.get(group);
    const stored = candidates.get(best.recordId)?.find((candidate) => candidate.id === best.matchedId);
    if (
      removed.has(best.recordId) &&
      live !== undefined &&
      stored !== undefined &&
      !cannotMatch(live, stored)
    )
      bestOfGroup.set(group, { ...best, recordId: live.id });
  }
  const matches = new Map([...bestOfGroup.values()].map((match) => [match.recordId, match]));
  const leaders = records.filter((record, index) => {
    const group = clustering.clusterIds[index] as string;
    return (bestOfGroup.get(group)?.recordId ?? group) === record.id;
  });
  const byId = new Map(records.map((record) => [record.id, record]));
  const matchedIds = [...new Set([...matches.values()].map((m) => m.matchedId))];
  const alreadyHere =
    matchedIds.length === 0
      ? []
      : await must(store.getLinksByContactIds({ ...ref, contactIds: matchedIds }), clock);
  const gone = await goneFromCrm(deps, ref, alreadyHere, cycleStart, matches, signal, removed);
  const linkedHere = new Map(
    alreadyHere.filter((link) => !gone.has(link.externalId)).map((link) => [link.contactId, link.externalId]),
  );
  const replacedOf = new Map<string, Replaced>(
    alreadyHere.flatMap((link) => {
      const why = gone.get(link.externalId);
      if (why === undefined) return [];
      const { externalId, remoteHash, remoteVersion } = link;
      const stillHeld =
        why === ARCHIVED && remoteHash !== null
          ? { externalId, contentHash: remoteHash, remoteVersion }
          : null;
      return [[link.contactId, { ...link, why, stillHeld }]];
    }),
  );
  // A contact whose link a write's 404 dropped: the record the CRM kept for the person takes that link's place.
  const unheld = matchedIds.filter((id) => !linkedHere.has(id) && !replacedOf.has(id));
  if (unheld.length > 0) {
    const dropped = await must(store.goneLinks({ ...ref, contactIds: unheld }), clock);
    for (const link of dropped) replacedOf.set(link.contactId, { ...link, why: DELETED, stillHeld: null });
  }
  const keptApart = await archivedOfActive(deps, ref.tenantId, unlinked, leaders, matches, linkedHere);
  // Records of the batch that do not match each other may each match one stored contact: the best match joins it,
  // as the first to arrive would in an earlier batch, and the others are the CRM holding the person twice. A live
  // record goes before an archived one however well that scores: the archived one took the link of an archived twin
  // that only a live record may take, and the live record was suppressed behind it.
  const joins = new Map<string, MatchExplanation>();
  for (const leader of leaders) {
    const match = matches.get(leader.id);
    if (match === undefined || linkedHere.has(match.matchedId) || keptApart.has(leader.id)) continue;
    const best = joins.get(match.matchedId);
    if (best === undefined || ahead(match, best)) joins.set(match.matchedId, match);
  }

  for (const leader of leaders) {
    const match = matches.get(leader.id);
    if (match === undefined) {
      contactOf.set(
        leader.id,
        stableId({ ...ref, provider: provider.name, objectType: 'contact', externalId: leader.id }),
      );
      continue;
    }
    if (keptApart.has(leader.id)) {
      notes.push(
        duplicateNote(
          leader.id,
          match.matchedId,
          `archived in ${provider.name}, a record of a contact active in NurtureHub: not linked, so as not to archive it: ${describeMatch(match)}`,
        ),
      );
      continue;
    }
    const joined = joins.get(match.matchedId)?.recordId;
    if (
      joined !== undefined &&
      joined !== leader.id &&
      cannotMatch(leader, byId.get(joined) as MatchRecord)
    ) {
      // Two people sharing what the stored contact holds (a family's e-mail): the other is this one's own contact.
      contactOf.set(
        leader.id,
        stableId({ ...ref, provider: provider.name, objectType: 'contact', externalId: leader.id }),
      );
      continue;
    }
    if (joined !== undefined && joined !== leader.id) {
      notes.push(
        duplicateNote(
          leader.id,
          match.matchedId,
          `duplicate of ${provider.name} record ${joined} in the same batch, which joins the same stored contact; suppressed: ${describeMatch(match)}`,
        ),
      );
      continue;
    }
    const existing = linkedHere.get(match.matchedId);
    if (existing === undefined) {
      contactOf.set(leader.id, match.matchedId);
      const replaced = replacedOf.get(match.matchedId);
      if (replaced !== undefined) replacing.set(leader.id, replaced);
      notes.push(
        duplicateNote(
          leader.id,
          match.matchedId,
          replaced === undefined
            ? `linked to stored contact instead of creating one: ${describeMatch(match)}`
            : `linked to stored contact in place of ${provider.name} record ${replaced.externalId}, which ${provider.name} ${replaced.why}: ${describeMatch(match)}`,
        ),
      );
    } else {
      notes.push(
        duplicateNote(
          leader.id,
          match.matchedId,
          `duplicate of ${provider.name} record ${existing}, suppressed: ${describeMatch(match)}`,
        ),
      );
    }
  }
  for (const explanation of explainedFrom(clustering.explanations, matches.keys())) {
    notes.push(
      duplicateNote(
        explanation.recordId,
        explanation.matchedId,
        `duplicate of ${provider.name} record ${explanation.matchedId} in the same batch, suppressed: ${describeMatch(explanation)}`,
      ),
    );
  }
  return { contactOf, notes, replacing };
}

async function storedCandidates(
  store: Store,
  tenantId: string,
  leaders: MatchRecord[],
  clock: () => Date,
  matchCache: MatchCache,
): Promise<Map<string, MatchRecord[]>> {
  const keysOf = new Map(leaders.map((leader) => [leader.id, matchKeys(leader)]));
  const allKeys = [...new Set([...keysOf.values()].flat())];
  const hits =
    allKeys.length === 0
      ? []
      : await must(
          store.findCandidates({ tenantId, keys: allKeys, maxHoldersPerKey: MAX_HOLDERS_PER_KEY }),
          clock,
        );
  const byKey = new Map(hits.map((hit) => [hit.key, hit.contactIds]));
  const idsOf = new Map<string, Set<string>>();
  for (const [leaderId, keys] of keysOf) {
    const ids = new Set<string>();
    for (const key of keys) for (const id of byKey.get(key) ?? []) ids.add(id);
    idsOf.set(leaderId, ids);
  }
  const wanted = [...new Set([...idsOf.values()].flatMap((ids) => [...ids]))];
  const recordOf = new Map<string, MatchRecord>();
  if (wanted.length > 0) {
    await refreshMatchCache(store, tenantId, matchCache, clock);
    // The cached first: putting the ones read may push them out of the cache.
    const unknown: string[] = [];
    for (const id of wanted) {
      const cached = matchCache.use(id);
      if (cached === undefined) unknown.push(id);
      else recordOf.set(id, cached);
    }
    const read =
      unknown.length === 0 ? [] : await must(store.getMatchRecords({ tenantId, ids: unknown }), clock);
    const unstored = read.filter((c) => c.matchRecord === null);
    const documents =
      unstored.length === 0
        ? []
        : await must(store.getContacts({ tenantId, ids: unstored.map((c) => c.id) }), clock);
    const documentOf = new Map(documents.map((c) => [c.id, c]));
    for (const { id, changeSeq, matchRecord } of read) {
      const document = documentOf.get(id);
      const record = matchRecord ?? (document === undefined ? null : toMatchRecord(id, document.contact));
      // A document read after its record may be newer: kept at that later number, never at the older one.
      if (record !== null) recordOf.set(id, matchCache.put(id, document?.changeSeq ?? changeSeq, record));
    }
  }
  return new Map(
    [...idsOf].map(([leaderId, ids]) => [
      leaderId,
      [...ids].map((id) => recordOf.get(id)).filter((r): r is MatchRecord => r !== undefined),
    ]),
  );
}

export function duplicateNote(incoming: string, matched: string, reason: string): CycleNote {
  return { kind: 'duplicate', key: incoming, body: { incoming, matched, reason } };
}

/** The rule, score and fields behind a match, fields that agreed exactly apart from those only close to each other. */
export function describeMatch(match: {
  rule: string;
  score: number;
  agreedFields: readonly string[];
  closeFields: readonly string[];
}): string {
  const exact = match.agreedFields.filter((field) => !match.closeFields.includes(field));
  const close = match.closeFields.length > 0 ? `; close: ${match.closeFields.join(', ')}` : '';
  return `${match.rule} (score ${match.score.toFixed(1)}; exact: ${exact.join(', ') || 'none'}${close})`;
}
