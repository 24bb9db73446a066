import { maxCursor } from '../core/cursor.ts';
import { findMatch } from '../core/dedup/findMatch.ts';
import { toMatchRecord } from '../core/dedup/matchRecord.ts';
import { equivalent } from '../core/equivalentValue.ts';
import { ok, type Result } from '../core/result.ts';
import type { CanonicalContact } from '../core/schemas.ts';
import type { InboundRecord, ProviderError } from '../providers/provider.ts';
import type { PhaseDeps } from './context.ts';
import type { CycleRef } from './reconcilePhase.ts';
import { must } from './storeCall.ts';

/**
 * How far the CRM's clock may run ahead of ours when the scan below bounds its window above.
 * ASSUMPTION: an hour; the lower bound needs no margin, it is a position the CRM itself stamped.
 */
const CRM_CLOCK_LEAD_MS = 60 * 60 * 1000;

export type LostCreate =
  /**
   * The contact is linked already: a fetch after the send saw the record and reconcile matched it, or a run that
   * lost its lease acknowledged the create's answer late.
   */
  | { kind: 'linked'; externalId: string }
  /** The CRM holds the record the create makes, or one that scores as the same person: the create was applied. */
  | { kind: 'found'; externalId: string; version: string | null }
  /**
   * Not found: not applied, or safe to send again (the CRM answers a repeated create with the record it made), or
   * not shown yet by a CRM that applies creates in the background (the caller waits out `createSettleMs`).
   */
  | { kind: 'absent' };

/**
 * A create sent before a failure (a crash, a lost response) and never acknowledged may have been applied.
 * Before it is sent again it is looked for — unless the CRM merges a repeated create by e-mail — by e-mail where
 * the CRM can search, else among the records the CRM changed after this cycle's fetch: the fetch ran before the
 * send, so an applied create is among them. Found is a record carrying the create's reference (where the CRM keeps
 * it), else one no contact is linked to that holds, in every field the CRM stores, what it lists for a create of
 * this contact (`createdAsListed`), else one that scores as the same person. Pages of that scan stream; only a
 * match is kept.
 */
export async function findLostCreate(
  deps: PhaseDeps,
  ref: CycleRef,
  contactId: string,
  contact: CanonicalContact,
  signal: AbortSignal,
): Promise<Result<LostCreate, ProviderError>> {
  const { store, provider, clock } = deps;
  const links = await must(store.getLinksByContactIds({ ...ref, contactIds: [contactId] }), clock);
  const link = links[0];
  if (link !== undefined) return ok({ kind: 'linked', externalId: link.externalId });

  if (provider.capabilities.createMergesByEmail && contact.email !== null) return ok({ kind: 'absent' });

  // Our own create is recognised by its content, not by the evidence that tells two people apart: a lead with a
  // name and a postcode scores too little for that even against its own record, which was taken as absent and
  // created twice. The record's modified time is not held to the send: the scan's window already starts at the
  // CRM's own position at the fetch, before the send; a send time on our clock would bring back the skew that
  // window avoids; and a record keyed in between with every field as sent is this person to the CRM as well.
  const asCreated = provider.createdAsListed(contact);
  const { storedFields } = provider.capabilities;
  const isAsCreated = (record: InboundRecord) =>
    storedFields.every((field) => equivalent(field, record.contact[field], asCreated[field]));
  const sought = toMatchRecord(contactId, contact);
  const samePerson = (records: InboundRecord[]) => {
    const match = findMatch(
      sought,
      records.map((r) => toMatchRecord(r.externalId, r.contact)),
    );
    return records.find((r) => r.externalId === match?.matchedId);
  };
  const matchIn = async (records: InboundRecord[]): Promise<LostCreate> => {
    if (records.length === 0) return { kind: 'absent' };
    const externalIds = records.map((r) => r.externalId);
    const links = await must(store.getLinksByExternalIds({ ...ref, externalIds }), clock);
    // Linked to this contact since the look above (a run that lost its lease acknowledging the create's answer).
    const own = links.find((link) => link.contactId === contactId);
    if (own !== undefined) return { kind: 'linked', externalId: own.externalId };
    // Another contact's record of the same content (a lead held twice, its create acknowledged) is not this one's.
    const unlinked = records.filter((r) => !links.some((link) => link.externalId === r.externalId));
    // The reference our create wrote (where the CRM keeps one) names it whatever the agency edited since: a sparse
    // lead given a first name neither read as created nor scored as the same person, and was created twice.
    const record =
      records.find((r) => r.reference === contactId) ?? unlinked.find(isAsCreated) ?? samePerson(unlinked);
    return record === undefined
      ? { kind: 'absent' }
      : { kind: 'found', externalId: record.externalId, version: record.version };
  };

  if (provider.capabilities.canSearchByEmail && contact.email !== null) {
    const found = await provider.findByEmail({ email: contact.email, signal });
    return found.ok ? ok(await matchIn(found.value)) : found;
  }

  const connection = await must(store.getConnection(ref), clock);
  const fetchedUpTo = await must(store.stagedHighWater(ref), clock);
  const window = {
    from: maxCursor(connection.cursor, fetchedUpTo),
    to: new Date(clock().getTime() + CRM_CLOCK_LEAD_MS).toISOString(),
  };
  let pageToken: string | null = null;
  do {
    const page = await provider.listChanges({ window, pageToken, signal });
    if (!page.ok) return page;
    const outcome = await matchIn(page.value.records);
    if (outcome.kind !== 'absent') return ok(outcome);
    pageToken = page.value.nextPageToken;
  } while (pageToken !== null);
  return ok({ kind: 'absent' });
}
