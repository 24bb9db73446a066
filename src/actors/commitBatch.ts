import { contentHash } from '../core/canonicalJson.ts';
import { MAX_HOLDERS_PER_KEY, matchKeys } from '../core/dedup/blocking.ts';
import { type MatchRecord, toMatchRecord } from '../core/dedup/matchRecord.ts';
import { idempotencyKey } from '../core/ids.ts';
import type { FieldConflict } from '../core/merge.ts';
import { err, ok, type Result } from '../core/result.ts';
import type { CanonicalContact, ContactPatch } from '../core/schemas.ts';
import type { CycleNote } from '../persistence/cycleWork.ts';
import type { LinkInput, PushPlan, SuppressedRecord } from '../persistence/records.ts';
import type { StoreData, StoreError } from '../persistence/store.ts';
import type { PhaseDeps } from './context.ts';
import { storeFailure } from './failures.ts';
import { CHANGES_PER_CHECK } from './inboundOwners.ts';
import type { CycleRef } from './reconcilePhase.ts';

/** The audit's note of each field both sides changed, merging `externalId` into `contactId`: one per record and field. */
export function conflictNotes(
  externalId: string,
  contactId: string,
  conflicts: readonly FieldConflict[],
): CycleNote[] {
  return conflicts.map(({ field, base, crm, local, winner, reason }) => ({
    kind: 'conflict',
    key: `${externalId}:${field}`,
    body: { contactId, field, base, crm, local, winner, reason },
  }));
}

/** Everything one reconcile batch writes, in one transaction. */
export interface BatchWrites {
  contacts: Map<string, CanonicalContact>;
  createdContacts: string[];
  links: LinkInput[];
  /** Links (by external id) whose contact this batch writes: synced at the change number the write gets. */
  syncedOnWrite: Set<string>;
  pushes: PushPlan[];
  /** The change number each contact in `contacts` that was already stored had when the batch read it. */
  readSeqs: Map<string, number>;
  /** Records suppressed as duplicates, remembered with their content so an unchanged re-read is skipped. */
  suppressed: SuppressedRecord[];
  notes: CycleNote[];
  /**
   * The tenant's change high water read before the batch looked for stored contacts its records match; a contact
   * changed after it may be one the batch's new contacts duplicate (see `commitBatch`).
   */
  matchedThrough?: number;
}

export const emptyWrites = (): BatchWrites => ({
  contacts: new Map(),
  createdContacts: [],
  links: [],
  syncedOnWrite: new Set(),
  pushes: [],
  readSeqs: new Map(),
  suppressed: [],
  notes: [],
});

/** An update of one CRM record, keyed so a re-run of the cycle plans the very same write. */
export function updatePlan(
  ref: CycleRef,
  contactId: string,
  externalId: string,
  patch: ContactPatch,
  version: string | null,
): PushPlan {
  return {
    idempotencyKey: idempotencyKey(ref.connectionId, ref.cycleId, 'update', externalId, contentHash(patch)),
    cycleId: ref.cycleId,
    kind: 'update',
    contactId,
    externalId,
    payload: { patch, version } as PushPlan['payload'],
  };
}

/** A contact the batch read has changed since (an engagement event, an agent's edit, another CRM's cycle). */
export interface StaleRead {
  kind: 'stale';
}
const STALE: StaleRead = { kind: 'stale' };

/**
 * Writes one batch's decisions and notes in one transaction. Returns the new change sequence number of each
 * contact written; `normalise` gives the match record its keys come from. A contact changed since the batch read
 * it (`readSeqs`) writes nothing and is `stale`: written as merged, that change would be lost, and the link would
 * record the contact as synced. So is a batch creating a contact that shares a match key with one changed since
 * it looked for matches (`matchedThrough`): another CRM's cycle of the tenant, reconciling the same people at
 * once, made it meanwhile, and created, each person would be in NurtureHub twice for good.
 */
export async function commitBatch(
  deps: PhaseDeps,
  ref: CycleRef,
  writes: BatchWrites,
  normalise: (id: string, contact: CanonicalContact) => MatchRecord = toMatchRecord,
): Promise<Result<Record<string, number>, StaleRead>> {
  const { store, clock } = deps;
  const now = clock();
  const created = new Set(writes.createdContacts);
  const contacts = [...writes.contacts].map(([id, contact]) => {
    if (created.has(id)) return { id, contact, originConnectionId: ref.connectionId };
    const expectedChangeSeq = writes.readSeqs.get(id);
    return expectedChangeSeq === undefined ? { id, contact } : { id, contact, expectedChangeSeq };
  });
  const keysOf = new Map(contacts.map(({ id, contact }) => [id, matchKeys(normalise(id, contact))]));
  let changeSeqs: Record<string, number> = {};
  const committed = await store.transaction<void, StoreError | StaleRead>(async (tx) => {
    const syncedLinks = () =>
      writes.links.map((link) =>
        writes.syncedOnWrite.has(link.externalId)
          ? { ...link, syncedSeq: changeSeqs[link.contactId] ?? null }
          : link,
      );
    const steps = [
      // First, before any lock of the tenant's contacts: a takeover then waits for this commit, or this one fails.
      () =>
        deps.leaseOwner === undefined
          ? Promise.resolve(ok(undefined))
          : tx.holdLease({ tenantId: ref.tenantId, connectionId: ref.connectionId, owner: deps.leaseOwner }),
      async () => {
        if (contacts.length === 0) return ok(undefined);
        const outcome = await tx.upsertContacts({ tenantId: ref.tenantId, contacts, now });
        if (!outcome.ok)
          return outcome.error.kind === 'conflict' && writes.readSeqs.size > 0 ? err(STALE) : outcome;
        changeSeqs = outcome.value.changeSeqs;
        return ok(undefined);
      },
      // After the upsert, which holds the tenant's change lock to the commit: no contact can come in unseen.
      () => matchedMeanwhile(tx, ref.tenantId, writes, keysOf),
      () =>
        contacts.length === 0
          ? Promise.resolve(ok(undefined))
          : tx.replaceMatchKeys({
              tenantId: ref.tenantId,
              entries: contacts.map(({ id }) => ({ contactId: id, keys: keysOf.get(id) ?? [] })),
              created: writes.createdContacts,
            }),
      () =>
        writes.links.length === 0
          ? Promise.resolve(ok(undefined))
          : tx.upsertLinks({ ...ref, links: syncedLinks(), now }),
      () =>
        writes.pushes.length === 0
          ? Promise.resolve(ok(undefined))
          : tx.planPushes({ ...ref, entries: writes.pushes, now }),
      () =>
        writes.suppressed.length === 0
          ? Promise.resolve(ok(undefined))
          : tx.markSuppressed({ ...ref, records: writes.suppressed, now }),
      () => tx.addCycleNotes({ ...ref, notes: writes.notes }),
    ];
    for (const step of steps) {
      const result = await step();
      if (!result.ok) return result;
    }
    return ok(undefined);
  });
  if (committed.ok) return ok(changeSeqs);
  if (committed.error.kind === 'stale') return err(STALE);
  throw storeFailure(committed.error, clock());
}

/** `stale` when a contact the batch creates shares a match key with one changed after `matchedThrough`. */
async function matchedMeanwhile(
  tx: StoreData,
  tenantId: string,
  writes: BatchWrites,
  keysOf: ReadonlyMap<string, string[]>,
): Promise<Result<void, StoreError | StaleRead>> {
  const through = writes.matchedThrough;
  if (through === undefined || writes.createdContacts.length === 0) return ok(undefined);
  // Mostly nothing but this batch's own writes came since: then no look-up by key is needed.
  const limit = writes.contacts.size + CHANGES_PER_CHECK;
  const changed = await tx.listChangeSeqs({ tenantId, afterSeq: through, limit });
  if (!changed.ok) return changed;
  if (changed.value.length < limit && changed.value.every((c) => writes.contacts.has(c.id)))
    return ok(undefined);
  const keys = [...new Set(writes.createdContacts.flatMap((id) => keysOf.get(id) ?? []))];
  if (keys.length === 0) return ok(undefined);
  const held = await tx.findCandidates({ tenantId, keys, maxHoldersPerKey: MAX_HOLDERS_PER_KEY });
  if (!held.ok) return held;
  const others = [...new Set(held.value.flatMap((hit) => hit.contactIds))].filter(
    (id) => !writes.contacts.has(id),
  );
  if (others.length === 0) return ok(undefined);
  const seen = await tx.getMatchRecords({ tenantId, ids: others });
  if (!seen.ok) return seen;
  return seen.value.some((c) => c.changeSeq > through) ? err(STALE) : ok(undefined);
}
