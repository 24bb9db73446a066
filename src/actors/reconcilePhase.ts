import { type MatchRecord, toMatchRecord } from '../core/dedup/matchRecord.ts';
import {
  bothChanged,
  decideInbound,
  fieldsEditedLaterElsewhere,
  fieldsNewerElsewhere,
  type ProviderFields,
} from '../core/reconcile.ts';
import type { CanonicalContact } from '../core/schemas.ts';
import { withheldAsUnchanged, withholdsDetails } from '../core/withheldDetails.ts';
import type { ReconcilePhaseInput, ReconcilePhaseOutput } from '../machines/phases.ts';
import { INBOUND_NOTE_PREFIX, LOCAL_HIGH_WATER_KEY, type StagedRecord } from '../persistence/cycleWork.ts';
import type { Store } from '../persistence/store.ts';
import { basesElsewhere, editedAt } from './basesElsewhere.ts';
import { type BatchWrites, commitBatch, conflictNotes, emptyWrites, updatePlan } from './commitBatch.ts';
import { DEFAULT_BATCH_SIZE, type PhaseCall, type PhaseDeps } from './context.ts';
import { staleBatchTries } from './failures.ts';
import { assignOwners, linkInPlaceOf, MatchCache } from './inboundOwners.ts';
import { planLocalChanges } from './localChanges.ts';
import { must } from './storeCall.ts';
import { yieldTurn } from './yieldTurn.ts';

export interface CycleRef {
  tenantId: string;
  connectionId: string;
  cycleId: string;
}

/** The note a batch commits with: the last staged record (in the store's external id order) it reconciled. */
const reconciledKey = 'reconciled:';

/**
 * Reconciles what the fetch staged, batch by batch in external id order (link look-up, else dedup within the
 * batch and against stored contacts, then the three-way merge), then plans the local side. Each batch commits
 * its contacts, links, planned writes and notes together with a note of the last record it reached, so a re-run
 * continues after it.
 */
export function createReconcilePhase(deps: PhaseDeps) {
  return async ({ input, signal }: PhaseCall<ReconcilePhaseInput>): Promise<ReconcilePhaseOutput> => {
    const { store, clock } = deps;
    const ref: CycleRef = {
      tenantId: input.connection.tenantId,
      connectionId: input.connection.connectionId,
      cycleId: input.cycleId,
    };
    const localHighWater = await noteLocalHighWater(store, ref, clock);
    let after = (await must(store.latestCycleNote({ ...ref, kind: 'meta', keyPrefix: reconciledKey }), clock))
      ?.body;
    // Each staged record is in one batch only and links are written for the batch's own records, so a
    // connection without links now gets none that a later batch could find: its first sync skips the look-ups.
    const linkless = !(await must(store.hasLinks(ref), clock));
    // Every change after the cycle's local high water is one the cache must account for (a re-run's older mark
    // only lists more of them).
    const matchCache = new MatchCache(localHighWater);
    const cycleStart = new Date(input.window.to);
    const staleTries = staleBatchTries(clock);
    let committedBatches = 0;
    for (;;) {
      await yieldTurn();
      signal.throwIfAborted();
      const staged = await must(
        store.listStaged({
          ...ref,
          afterExternalId: typeof after === 'string' ? after : null,
          limit: deps.batchSize ?? DEFAULT_BATCH_SIZE,
        }),
        clock,
      );
      const last = staged.at(-1)?.externalId;
      if (last === undefined) break;
      // More to do, and each batch committed its `reconciled:` note: a step whose time is spent hands over here.
      if (committedBatches > 0 && deps.stepBudget?.spent()) await deps.stepBudget.handOver(signal);
      // Staged contacts as dedup normalised them: a record that creates its contact as it came is not
      // normalised again for its match keys.
      const byContact = new WeakMap<CanonicalContact, MatchRecord>();
      const writes = await reconcileBatch(
        deps,
        ref,
        staged,
        matchCache,
        linkless,
        byContact,
        cycleStart,
        signal,
      );
      writes.notes.push({ kind: 'meta', key: `${reconciledKey}${last}`, body: last });
      const normalised = new Map<string, MatchRecord>();
      const committed = await commitBatch(deps, ref, writes, (id, contact) => {
        const known = byContact.get(contact);
        const record = known === undefined ? toMatchRecord(id, contact) : { ...known, id };
        normalised.set(id, record);
        // Keys depend on the fields only: `known` has its keys computed already.
        return known ?? record;
      });
      // A contact of the batch changed in NurtureHub since the batch read it: merged again with what it holds now.
      if (!committed.ok) {
        staleTries.again();
        continue;
      }
      staleTries.done();
      committedBatches += 1;
      const changeSeqs = committed.value;
      after = last;
      for (const [id, record] of normalised) {
        const changeSeq = changeSeqs[id];
        if (changeSeq !== undefined) matchCache.put(id, changeSeq, record);
      }
    }
    // The local side is planned afresh by every run (from the committed local cursor): this run's figures are its.
    const local = await planLocalChanges(
      deps,
      ref,
      { afterSeq: input.localCursor, upToSeq: localHighWater },
      signal,
    );
    // The merge's figures are the cycle's, not this run's: a reconcile resumed after a backoff or a crash merges only
    // the batches left, and the status must give the figures of the whole cycle (its conflicts are the notes the
    // audit entry lists; each batch notes the contacts it wrote and the CRM writes it planned).
    const merged = await must(store.cycleNoteTotals(ref), clock);
    return {
      upserts: merged.upserts + local.upserts,
      plannedWrites: merged.plannedWrites + local.plannedWrites,
      conflicts: merged.conflicts,
      complete: true,
    };
  };
}

/** The local change sequence the cycle reads up to, fixed (noted) the first time reconcile runs. */
async function noteLocalHighWater(store: Store, ref: CycleRef, clock: () => Date): Promise<number> {
  const noted = await must(
    store.latestCycleNote({ ...ref, kind: 'meta', keyPrefix: LOCAL_HIGH_WATER_KEY }),
    clock,
  );
  if (noted !== null && typeof noted.body === 'number') return noted.body;
  const highWater = await must(store.localChangeHighWater({ tenantId: ref.tenantId }), clock);
  await must(
    store.addCycleNotes({ ...ref, notes: [{ kind: 'meta', key: LOCAL_HIGH_WATER_KEY, body: highWater }] }),
    clock,
  );
  return highWater;
}

async function reconcileBatch(
  deps: PhaseDeps,
  ref: CycleRef,
  staged: StagedRecord[],
  matchCache: MatchCache,
  linkless: boolean,
  normalised: WeakMap<CanonicalContact, MatchRecord>,
  cycleStart: Date,
  signal: AbortSignal,
): Promise<BatchWrites> {
  const { store, provider, clock } = deps;
  const fields: ProviderFields = provider.capabilities;
  const links = linkless
    ? []
    : await must(
        store.getLinksByExternalIds({ ...ref, externalIds: staged.map((r) => r.externalId) }),
        clock,
      );
  const linkOf = new Map(links.map((link) => [link.externalId, link]));

  const unlinked = staged.filter((record) => !linkOf.has(record.externalId));
  const matchedThrough =
    unlinked.length === 0
      ? undefined
      : await must(store.localChangeHighWater({ tenantId: ref.tenantId }), clock);
  const owners = await assignOwners(deps, ref, unlinked, matchCache, cycleStart, signal, normalised);
  // A record another of the batch takes the link of (Street lists a person it trashed, read gone, beside the one keyed
  // in again) is left as a suppressed one: written too, it kept the link beside the new record's.
  const takenOver = new Set([...owners.replacing.values()].map((replaced) => replaced.externalId));
  const contactIdOf = (record: StagedRecord) =>
    takenOver.has(record.externalId)
      ? undefined
      : (linkOf.get(record.externalId)?.contactId ?? owners.contactOf.get(record.externalId));

  const targets = staged.map(contactIdOf).filter((id): id is string => id !== undefined);
  const neededIds = [...new Set(targets)];
  const stored = await must(store.getContacts({ tenantId: ref.tenantId, ids: neededIds }), clock);
  const working = new Map(stored.map((c) => [c.id, c.contact]));
  const storedOf = new Map(stored.map((c) => [c.id, c]));
  // What the tenant's other CRMs hold of a contact, for: records linked for the first time to a contact already
  // here; linked records listing a person removed with their details withheld (rare: does another CRM hold them?);
  // and linked records whose CRM-owned fields both sides changed (which change is the later?).
  const firstLinkedLocal = unlinked
    .map(contactIdOf)
    .filter((id): id is string => id !== undefined && storedOf.has(id));
  const linkedAsking = staged.flatMap((record) => {
    const link = linkOf.get(record.externalId);
    const local = link && storedOf.get(link.contactId)?.contact;
    // A record taken over is not written: nothing to ask for it.
    if (!link || !local || takenOver.has(record.externalId)) return [];
    // A record as the link last saw it changed nothing since (a full listing reads every record each time).
    const changed = record.contentHash !== link.remoteHash;
    return withholdsDetails(record) || (changed && bothChanged(link.base, record.contact, local, fields))
      ? [link.contactId]
      : [];
  });
  const elsewhere = await basesElsewhere(deps, ref, [...new Set([...firstLinkedLocal, ...linkedAsking])]);
  const modifiedOf = (record: StagedRecord) => editedAt(provider.capabilities, record.modified);
  const storedSeq = new Map(stored.map((c) => [c.id, c.changeSeq]));
  // A contact two records of this batch reconcile into holds neither one's values alone: left unsynced.
  const sharedContacts = new Set(targets.filter((id, index) => targets.indexOf(id) !== index));

  const writes: BatchWrites = {
    ...emptyWrites(),
    ...(matchedThrough === undefined ? {} : { matchedThrough }),
  };
  writes.notes.push(...owners.notes);
  // A record that gave its link up archived, reconciled in an earlier batch of the cycle or before it, is still the
  // CRM's: remembered as a suppressed duplicate, as one of this batch is (below), not left as one nothing holds.
  const stagedIds = new Set(staged.map((record) => record.externalId));
  for (const { stillHeld } of owners.replacing.values())
    if (stillHeld !== null && !stagedIds.has(stillHeld.externalId)) writes.suppressed.push(stillHeld);
  let unchanged = 0;
  for (const record of staged) {
    const contactId = contactIdOf(record);
    if (contactId === undefined) {
      // A suppressed duplicate: noted, not linked, never written; remembered as it is now.
      writes.suppressed.push({
        externalId: record.externalId,
        contentHash: record.contentHash,
        remoteVersion: record.version,
      });
      continue;
    }
    // A record taking the link of one the CRM no longer has merges against that link's base, not as a first link.
    const replaced = owners.replacing.get(record.externalId);
    const link = linkOf.get(record.externalId) ?? (replaced === undefined ? null : linkInPlaceOf(replaced));
    const storedContact = storedOf.get(contactId);
    const others = elsewhere.get(contactId);
    // Withheld details of a person another CRM holds are no agency clearing them: cleared here, the other CRMs were
    // sent the clearing. Held by this CRM alone, they are cleared: we may not keep what it no longer shows us.
    const crm =
      link !== null && others !== undefined && withholdsDetails(record)
        ? withheldAsUnchanged(record.contact, link.base)
        : record.contact;
    const local = working.get(contactId) ?? null;
    const newerElsewhere =
      others === undefined
        ? undefined
        : link === null
          ? storedContact && fieldsNewerElsewhere(storedContact, modifiedOf(record), others)
          : local && fieldsEditedLaterElsewhere(local, modifiedOf(record), others);
    const decision = decideInbound(
      {
        externalId: record.externalId,
        version: record.version,
        modified: modifiedOf(record),
        crm,
        contentHash: record.contentHash,
        contactId,
        local,
        link,
        ...(newerElsewhere ? { newerElsewhere } : {}),
      },
      fields,
    );
    working.set(contactId, decision.contact);
    if (decision.localWrite !== 'unchanged') writes.contacts.set(contactId, decision.contact);
    const readSeq = storedSeq.get(contactId);
    if (decision.localWrite === 'updated' && readSeq !== undefined) writes.readSeqs.set(contactId, readSeq);
    if (decision.localWrite === 'created') writes.createdContacts.push(contactId);
    if (sharedContacts.has(contactId)) writes.links.push(decision.link);
    else if (decision.localWrite !== 'unchanged') {
      writes.links.push(decision.link);
      writes.syncedOnWrite.add(record.externalId);
    } else writes.links.push({ ...decision.link, syncedSeq: storedSeq.get(contactId) ?? null });
    if (Object.keys(decision.crmPatch).length > 0) {
      writes.pushes.push(updatePlan(ref, contactId, record.externalId, decision.crmPatch, record.version));
    } else {
      unchanged += 1;
    }
    writes.notes.push(...conflictNotes(record.externalId, contactId, decision.conflicts));
  }
  writes.notes.push({
    kind: 'meta',
    key: `${INBOUND_NOTE_PREFIX}${staged[0]?.externalId}`,
    body: { unchanged, upserts: writes.contacts.size, plannedWrites: writes.pushes.length },
  });
  return writes;
}
