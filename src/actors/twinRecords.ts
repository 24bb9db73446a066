import type { MatchRecord } from '../core/dedup/matchRecord.ts';
import type { StagedRecord } from '../persistence/cycleWork.ts';
import type { Link } from '../persistence/records.ts';
import type { ProviderError } from '../providers/provider.ts';
import type { PhaseDeps } from './context.ts';
import { providerFailure } from './failures.ts';
import { readRecords } from './readRecords.ts';
import type { CycleRef } from './reconcilePhase.ts';
import { must } from './storeCall.ts';

/*
 * What the CRM's side says of a person's other record, for the records reconcile matches to a stored contact: a
 * linked twin the CRM no longer holds (deleted, or archived) gives its link up; an archived record is kept apart
 * from a contact active in NurtureHub.
 */

/** Why a linked record is not the person's any longer, as a note says it (`which reapit holds archived`). */
export const DELETED = 'no longer has (404: deleted, or merged into another)';
export const ARCHIVED = 'holds archived';

/** How long a suppressed duplicate's twin is taken to be there: at most one read an hour per duplicate that changes. */
export const TWIN_RECHECK_AFTER_MS = 60 * 60 * 1000;

/** Failures of a read that another attempt may get past; any other answer leaves the record in place. */
const stopsThePhase = new Set<ProviderError['kind']>([
  'transient',
  'rate_limited',
  'quota_exhausted',
  'auth_failed',
]);

/**
 * Of the records these links hold, those the CRM no longer has (`not_found`: a 404, or left out of the answer to a
 * read of several by id) or holds archived (where it stores a status): the agency deleted or archived the record (or
 * merged it into another, which may leave it archived: Reapit has no delete) and keyed the person in again, so the
 * new record takes the contact's link instead of being suppressed as the CRM holding the person twice, which left it
 * unsynced for good and the contact pushing to a record that is gone. Asked for a new record, in one request per
 * `maxIdsPerRead` records where the CRM reads several by id (Reapit, Alto), else one read each: not for a record
 * listed this cycle (staged; a link written this cycle was listed too, so a first sync's duplicates cost no call),
 * nor for a record suppressed within `TWIN_RECHECK_AFTER_MS` (its twin was there then; asked on every change, a
 * CRM's duplicates would add a read to each cycle they change in, which the delta's request count must not grow by).
 * A duplicate suppressed longer ago is asked about when it changes: merging the two records in the CRM, as the audit
 * advises, often keeps the suppressed one and saves it. A CRM that cannot read one record leaves them all in place;
 * a failure to read stops the phase, as a failed search does.
 */
export async function goneFromCrm(
  { store, provider, clock }: PhaseDeps,
  ref: CycleRef,
  links: readonly Link[],
  cycleStart: Date,
  matches: ReadonlyMap<string, { matchedId: string }>,
  signal: AbortSignal,
  archivedRecords: ReadonlySet<string>,
): Promise<Map<string, typeof DELETED | typeof ARCHIVED>> {
  const gone = new Map<string, typeof DELETED | typeof ARCHIVED>();
  if (!provider.capabilities.canGetRecord) return gone;
  const archives = provider.capabilities.storedFields.includes('status');
  // An archived twin gives its link up to a live record of the person only: to another archived one it gives
  // nothing, and the link went back and forth between the two at each edit of either.
  const heldForLive = new Set(
    [...matches].filter(([id]) => !archivedRecords.has(id)).map(([, match]) => match.matchedId),
  );
  const contactOf = new Map(links.map((link) => [link.externalId, link.contactId]));
  const earlier = links.filter((link) => link.updatedAt.getTime() < cycleStart.getTime());
  // A record linked this cycle was listed this cycle: an archived one that made the contact in an earlier batch of a
  // first load (an old registration) holds it no longer when the live record of the person comes in a later one.
  const linkedNow = archives
    ? links
        .filter((link) => link.updatedAt.getTime() >= cycleStart.getTime() && heldForLive.has(link.contactId))
        .map((link) => link.externalId)
    : [];
  const heldBefore = new Set(earlier.map((link) => link.contactId));
  const asking = [...matches].filter(([, match]) => heldBefore.has(match.matchedId));
  const suppressedLately = new Set(
    asking.length === 0
      ? []
      : (await must(store.getSuppressed({ ...ref, externalIds: asking.map(([id]) => id) }), clock))
          .filter((record) => cycleStart.getTime() - record.suppressedAt.getTime() < TWIN_RECHECK_AFTER_MS)
          .map((record) => record.externalId),
  );
  const askedFor = new Set(
    asking.filter(([id]) => !suppressedLately.has(id)).map(([, match]) => match.matchedId),
  );
  const linked = [
    ...new Set(earlier.filter((link) => askedFor.has(link.contactId)).map((link) => link.externalId)),
  ];
  // A record the CRM listed this cycle is there (both records of a person saved at once: a bulk edit), unless it was
  // listed as removed: Street's trash is its delete, and a person trashed and keyed in again is in both lists.
  const among = [...linked, ...linkedNow];
  const staged = new Map(
    (among.length === 0 ? [] : await must(store.stagedAmong({ ...ref, externalIds: among }), clock)).map(
      (record) => [record.externalId, record.removed],
    ),
  );
  for (const externalId of linkedNow) if (staged.get(externalId) === true) gone.set(externalId, ARCHIVED);
  const ids = linked.filter((id) => staged.get(id) !== false);
  for await (const [externalId, read] of readRecords(provider, ids, signal)) {
    // Archived, the twin holds the person no longer: kept as the contact's record, it archived the contact and the
    // live record stayed suppressed. agentOS holds no status: a person it lists as removed withheld consent.
    if (read.ok) {
      if (read.value.removed && archives && heldForLive.has(contactOf.get(externalId) ?? ''))
        gone.set(externalId, ARCHIVED);
    } else if (read.error.kind === 'not_found') gone.set(externalId, DELETED);
    else if (stopsThePhase.has(read.error.kind)) throw providerFailure(read.error, clock());
  }
  return gone;
}

/**
 * The leaders archived in the CRM (where it holds a status) that match a contact active in NurtureHub and not in
 * this CRM: the person's old record (a lead's earlier registration, or another CRM's contact this one archived).
 * Linked, the CRM's status archived the contact (a lead no longer nurtured) and went on to the person's live record
 * in another CRM. Left apart, they are suppressed duplicates; one the agency restores links when it is listed live.
 */
export async function archivedOfActive(
  { store, provider, clock }: PhaseDeps,
  tenantId: string,
  unlinked: readonly StagedRecord[],
  leaders: readonly MatchRecord[],
  matches: ReadonlyMap<string, { matchedId: string }>,
  linkedHere: ReadonlyMap<string, string>,
): Promise<Set<string>> {
  if (!provider.capabilities.storedFields.includes('status')) return new Set();
  const archived = new Set(unlinked.filter((r) => r.removed).map((r) => r.externalId));
  const joining = leaders.flatMap((leader) => {
    const match = matches.get(leader.id);
    return archived.has(leader.id) && match !== undefined && !linkedHere.has(match.matchedId)
      ? [{ recordId: leader.id, contactId: match.matchedId }]
      : [];
  });
  if (joining.length === 0) return new Set();
  const ids = [...new Set(joining.map((j) => j.contactId))];
  const active = new Set(
    (await must(store.getContacts({ tenantId, ids }), clock))
      .filter((stored) => stored.contact.status === 'active')
      .map((stored) => stored.id),
  );
  return new Set(joining.filter((j) => active.has(j.contactId)).map((j) => j.recordId));
}
