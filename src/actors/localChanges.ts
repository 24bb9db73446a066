import { contentHash } from '../core/canonicalJson.ts';
import { findMatch } from '../core/dedup/findMatch.ts';
import { toMatchRecord } from '../core/dedup/matchRecord.ts';
import { idempotencyKey } from '../core/ids.ts';
import { decideInbound, decideLocalChange, type ProviderFields } from '../core/reconcile.ts';
import type { StoredContact } from '../persistence/records.ts';
import { editedAt } from './basesElsewhere.ts';
import { type BatchWrites, commitBatch, conflictNotes, emptyWrites, updatePlan } from './commitBatch.ts';
import { DEFAULT_BATCH_SIZE, type PhaseDeps } from './context.ts';
import { providerFailure, staleBatchTries } from './failures.ts';
import { describeMatch, duplicateNote, linkInPlaceOf } from './inboundOwners.ts';
import type { CycleRef } from './reconcilePhase.ts';
import { must } from './storeCall.ts';
import { yieldTurn } from './yieldTurn.ts';

/**
 * The NurtureHub side of a cycle: contacts changed locally after the committed local cursor, up to the
 * high water fixed for this cycle. A linked contact's local-only changes become CRM updates; a contact that
 * began in NurtureHub and is not yet in this CRM is looked for there (search by e-mail, then scored like any
 * duplicate) and linked when found, else planned as a create.
 */
export async function planLocalChanges(
  deps: PhaseDeps,
  ref: CycleRef,
  range: { afterSeq: number; upToSeq: number },
  signal: AbortSignal,
): Promise<{ upserts: number; plannedWrites: number }> {
  const { store, clock } = deps;
  const totals = { upserts: 0, plannedWrites: 0 };
  let afterSeq = range.afterSeq;
  const staleTries = staleBatchTries(clock);
  while (afterSeq < range.upToSeq) {
    await yieldTurn();
    signal.throwIfAborted();
    const changed = await must(
      store.listLocalChanges({
        tenantId: ref.tenantId,
        afterSeq,
        upToSeq: range.upToSeq,
        limit: deps.batchSize ?? DEFAULT_BATCH_SIZE,
        connectionId: ref.connectionId,
      }),
      clock,
    );
    const last = changed.at(-1);
    if (last === undefined) break;
    const writes = await planBatch(deps, ref, changed, signal);
    // A contact changed again since it was listed: the batch is listed and planned again with what it holds now.
    if (!(await commitBatch(deps, ref, writes)).ok) {
      staleTries.again();
      continue;
    }
    staleTries.done();
    afterSeq = last.changeSeq;
    totals.upserts += writes.contacts.size;
    totals.plannedWrites += writes.pushes.length;
  }
  return totals;
}

async function planBatch(
  deps: PhaseDeps,
  ref: CycleRef,
  changed: StoredContact[],
  signal: AbortSignal,
): Promise<BatchWrites> {
  const { store, provider, clock } = deps;
  const fields: ProviderFields = provider.capabilities;
  const ids = changed.map((c) => c.id);
  const links = await must(store.getLinksByContactIds({ ...ref, contactIds: ids }), clock);
  const writes = emptyWrites();

  for (const link of links) {
    const contact = changed.find((c) => c.id === link.contactId);
    if (contact === undefined) continue;
    const patch = decideLocalChange(contact.contact, link, fields);
    if (Object.keys(patch).length > 0) {
      writes.pushes.push(updatePlan(ref, link.contactId, link.externalId, patch, link.remoteVersion));
    }
  }

  if (!provider.capabilities.canCreate) return writes;
  const candidates = new Set(await must(store.creationCandidates({ ...ref, contactIds: ids }), clock));
  // A lead whose record a write's 404 unlinked (the agency deleted it, or merged it into the person's other record):
  // the record the search finds takes that link's place, merged against its base as the gone record would have been.
  const goneOf = new Map(
    candidates.size === 0
      ? []
      : (await must(store.goneLinks({ ...ref, contactIds: [...candidates] }), clock)).map((link) => [
          link.contactId,
          link,
        ]),
  );
  /** Records this batch links, by external id: each is one contact's. */
  const linkedHere = new Map<string, string>();
  for (const stored of changed) {
    if (!candidates.has(stored.id) || stored.contact.status !== 'active') continue;
    const existing = await findInCrm(deps, stored, signal);
    const gone = goneOf.get(stored.id);
    if (existing === null && gone !== undefined) {
      // Created again, a record the agency deleted would come back, and one merged into the person's other record
      // would be a third: that record links when the CRM lists it, or when the search finds it.
      writes.notes.push(
        duplicateNote(
          stored.id,
          gone.externalId,
          `not created in ${provider.name}: its record ${gone.externalId} is gone (404 at ` +
            `${gone.goneAt.toISOString()}: deleted, or merged into another); linked to the person's record when ` +
            `${provider.name} lists it${provider.capabilities.canSearchByEmail ? ' or its e-mail search finds it' : ''}`,
        ),
      );
      continue;
    }
    if (existing === null) {
      writes.pushes.push({
        // One create per contact and connection, whatever the cycle: a retried cycle never plans a second.
        idempotencyKey: idempotencyKey(ref.connectionId, 'create', stored.id),
        cycleId: ref.cycleId,
        kind: 'create',
        contactId: stored.id,
        externalId: null,
        payload: { contact: stored.contact },
      });
      continue;
    }
    const holder = await holderOf(deps, ref, existing.record.externalId, linkedHere);
    if (holder !== undefined) {
      // The record is another contact's: linked, this contact took the link over, the other was no longer synced
      // and its engagement and enrolment were copied into this one. Neither linked nor created.
      writes.notes.push(
        duplicateNote(
          stored.id,
          existing.record.externalId,
          `already in ${provider.name} as record ${existing.record.externalId}, which is contact ${holder}'s: ` +
            `not linked, not created (NurtureHub holds them as two contacts): ${existing.reason}`,
        ),
      );
      continue;
    }
    const decision = decideInbound(
      {
        externalId: existing.record.externalId,
        version: existing.record.version,
        modified: editedAt(provider.capabilities, existing.record.modified),
        crm: existing.record.contact,
        contentHash: contentHash(existing.record.contact),
        contactId: stored.id,
        local: stored.contact,
        link: gone === undefined ? null : linkInPlaceOf(gone),
      },
      fields,
    );
    if (decision.localWrite !== 'unchanged') {
      writes.contacts.set(stored.id, decision.contact);
      writes.readSeqs.set(stored.id, stored.changeSeq);
    }
    writes.links.push(decision.link);
    writes.notes.push(...conflictNotes(existing.record.externalId, stored.id, decision.conflicts));
    linkedHere.set(existing.record.externalId, stored.id);
    if (Object.keys(decision.crmPatch).length > 0) {
      writes.pushes.push(
        updatePlan(ref, stored.id, existing.record.externalId, decision.crmPatch, existing.record.version),
      );
    }
    const inPlaceOf =
      gone === undefined
        ? ''
        : ` in place of record ${gone.externalId}, which ${provider.name} no longer has (404: deleted, or merged into another)`;
    writes.notes.push(
      duplicateNote(
        stored.id,
        existing.record.externalId,
        `already in ${provider.name}${inPlaceOf}: ${existing.reason}`,
      ),
    );
  }
  return writes;
}

/** The contact a CRM record is linked to already (stored, or by this batch), if any. */
async function holderOf(
  deps: PhaseDeps,
  ref: CycleRef,
  externalId: string,
  linkedHere: ReadonlyMap<string, string>,
): Promise<string | undefined> {
  const batch = linkedHere.get(externalId);
  if (batch !== undefined) return batch;
  const [link] = await must(
    deps.store.getLinksByExternalIds({ ...ref, externalIds: [externalId] }),
    deps.clock,
  );
  return link?.contactId;
}

/** The CRM record a NurtureHub contact duplicates, by the provider's e-mail search, or `null`. */
async function findInCrm(deps: PhaseDeps, stored: StoredContact, signal: AbortSignal) {
  const { provider, clock } = deps;
  const email = stored.contact.email;
  if (!provider.capabilities.canSearchByEmail || email === null) return null;
  const found = await provider.findByEmail({ email, signal });
  if (!found.ok) throw providerFailure(found.error, clock());
  // A record the CRM holds archived is the person's old one, left apart from an active contact (archivedOfActive):
  // linked, its status archived the lead. The lead is created, the live record of its new enquiry.
  const held = provider.capabilities.storedFields.includes('status')
    ? found.value.filter((record) => !record.removed)
    : found.value;
  // Same e-mail is not enough (couples share one): the pair must score as the same person.
  const match = findMatch(
    toMatchRecord(stored.id, stored.contact),
    held.map((record) => toMatchRecord(record.externalId, record.contact)),
  );
  const record = match === null ? undefined : held.find((r) => r.externalId === match.matchedId);
  return match === null || record === undefined ? null : { record, reason: describeMatch(match) };
}
