import { hashPushedFields } from '../core/merge.ts';
import { providerLabels } from '../core/providerName.ts';
import { ok, type Result } from '../core/result.ts';
import type { CanonicalContact, ContactPatch } from '../core/schemas.ts';
import { REFUSED_WRITE_NOTE_PREFIX } from '../persistence/cycleWork.ts';
import type { PushEntry } from '../persistence/records.ts';
import type { StoreData, StoreError } from '../persistence/store.ts';
import type { PhaseDeps } from './context.ts';
import type { CycleRef } from './reconcilePhase.ts';
import { must } from './storeCall.ts';

// The push's ledger writes: a write acknowledged with its link, or deferred with its note, each one transaction.

/**
 * Marks a write sent, under the run's lease (`holdLease`, in the same transaction): a holder that took its lock
 * session's end for a live one (a failover whose old socket never reset) went on marking and sending the creates it
 * had listed as planned after a run elsewhere had taken its lease over and sent them: Loop held 16 records of 12
 * people. Marked before a takeover, the write is one the run taking over waits for (`writesLandBy`); after, the
 * mark fails as the lease lost, and nothing is sent.
 */
export async function markSent(
  deps: PhaseDeps,
  key: { tenantId: string; connectionId: string; idempotencyKey: string },
  now: Date,
): Promise<PushEntry> {
  const { store, clock, leaseOwner } = deps;
  if (leaseOwner === undefined) return must(store.markPushSent({ ...key, now }), clock);
  return must(
    store.transaction<PushEntry, StoreError>(async (tx) => {
      const held = await tx.holdLease({
        tenantId: key.tenantId,
        connectionId: key.connectionId,
        owner: leaseOwner,
      });
      return held.ok ? tx.markPushSent({ ...key, now }) : held;
    }),
    clock,
  );
}

/**
 * Marks a write deferred and notes why, in one transaction, with what the refusal tells of its record (see
 * `refuse`): `maybeApplied`, values the CRM may hold already (echo state); `gone`, the CRM no longer has it (its
 * link is dropped).
 */
export async function deferWithNote(
  deps: PhaseDeps,
  ref: CycleRef,
  entry: PushEntry,
  body: { status: number | null; message: string; retry: boolean },
  record: { maybeApplied?: ContactPatch; gone?: true } = {},
): Promise<void> {
  const { store, clock } = deps;
  await must(
    store.transaction(async (tx) => {
      if (record.maybeApplied !== undefined && entry.externalId !== null) {
        const echoed = await rememberEcho(tx, ref, entry.externalId, record.maybeApplied, clock());
        if (!echoed.ok) return echoed;
      }
      if (record.gone && entry.externalId !== null) {
        const dropped = await tx.dropLinks({ ...ref, externalIds: [entry.externalId], now: clock() });
        if (!dropped.ok) return dropped;
      }
      const marked = await tx.markPushDeferred({
        tenantId: ref.tenantId,
        connectionId: ref.connectionId,
        idempotencyKey: entry.idempotencyKey,
        now: clock(),
      });
      if (!marked.ok) return marked;
      return tx.addCycleNotes({
        ...ref,
        notes: [{ kind: 'error', key: `${REFUSED_WRITE_NOTE_PREFIX}${entry.idempotencyKey}`, body }],
      });
    }),
    clock,
  );
}

async function rememberEcho(
  tx: StoreData,
  ref: CycleRef,
  externalId: string,
  patch: ContactPatch,
  now: Date,
): Promise<Result<void, StoreError>> {
  const links = await tx.getLinksByExternalIds({ ...ref, externalIds: [externalId] });
  if (!links.ok) return links;
  const link = links.value[0];
  if (link === undefined) return ok(undefined);
  const { connectionId: _, updatedAt: __, ...input } = link;
  const pushedHashes = { ...link.pushedHashes, ...hashPushedFields(patch) };
  return tx.upsertLinks({ ...ref, links: [{ ...input, pushedHashes }], now });
}

/**
 * Records an acknowledged write, its link and its note in one transaction: for a create, the new link with
 * the sent contact as base; for an update, the pushed fields become the base and their hashes the echo state;
 * for a lost create whose contact reconcile has linked since, the link as it is.
 */
export async function acknowledge(
  deps: PhaseDeps,
  ref: CycleRef,
  entry: PushEntry,
  ack: { externalId: string; version: string | null } & (
    | { contact: CanonicalContact }
    | { patch: ContactPatch }
    | { linked: true }
  ),
  /**
   * The CRM made no record: it answered the create with one it already held, this contact's person. Linked, and
   * noted as the duplicate the create would have made, not counted as a create.
   */
  heldAlready?: { reason: string },
): Promise<void> {
  const { store, clock } = deps;
  const now = clock();
  await must(
    store.transaction(async (tx) => {
      const links = await tx.getLinksByExternalIds({ ...ref, externalIds: [ack.externalId] });
      if (!links.ok) return links;
      const previous = links.value[0];
      const link =
        'contact' in ack
          ? {
              externalId: ack.externalId,
              contactId: entry.contactId,
              base: ack.contact,
              pushedHashes: hashPushedFields(ack.contact),
              remoteVersion: ack.version,
              remoteHash: previous?.remoteHash ?? null,
            }
          : 'linked' in ack || previous === undefined
            ? null
            : {
                externalId: previous.externalId,
                contactId: previous.contactId,
                base: { ...previous.base, ...ack.patch },
                pushedHashes: { ...previous.pushedHashes, ...hashPushedFields(ack.patch) },
                remoteVersion: ack.version ?? previous.remoteVersion,
                // The record no longer reads as it was last listed. Kept, that listing's hash took an agency edit
                // setting the field back, listed before our write was, for the record unchanged: dropped at fetch.
                remoteHash: null,
                // The CRM holds our values of the patched fields now: no edit of its own dates them.
                fieldModified: Object.fromEntries(
                  Object.entries(previous.fieldModified).filter(([field]) => !(field in ack.patch)),
                ),
              };
      if (link !== null) {
        const saved = await tx.upsertLinks({ ...ref, links: [link], now });
        if (!saved.ok) return saved;
      }
      const acked = await tx.markPushAcknowledged({
        tenantId: ref.tenantId,
        connectionId: ref.connectionId,
        idempotencyKey: entry.idempotencyKey,
        responseId: ack.externalId,
        responseVersion: ack.version,
        now,
      });
      if (!acked.ok) return acked;
      return tx.addCycleNotes({
        ...ref,
        notes: [
          heldAlready === undefined
            ? {
                kind: 'written',
                key: entry.idempotencyKey,
                body: { op: entry.kind, externalId: ack.externalId },
              }
            : {
                kind: 'duplicate',
                key: entry.idempotencyKey,
                body: { incoming: entry.contactId, matched: ack.externalId, reason: heldAlready.reason },
              },
        ],
      });
    }),
    clock,
  );
}

/**
 * A create never sent whose contact is linked since it was planned, to `externalId`, a record the CRM holds already:
 * closed unsent, in one transaction with its note as the duplicate it would have made.
 */
export async function supersede(
  deps: PhaseDeps,
  ref: CycleRef,
  entry: PushEntry,
  externalId: string,
): Promise<void> {
  const { store, clock } = deps;
  const crm = providerLabels[deps.provider.name];
  await must(
    store.transaction(async (tx) => {
      const closed = await tx.markPushAcknowledged({
        tenantId: ref.tenantId,
        connectionId: ref.connectionId,
        idempotencyKey: entry.idempotencyKey,
        responseId: externalId,
        responseVersion: null,
        now: clock(),
      });
      if (!closed.ok) return closed;
      return tx.addCycleNotes({
        ...ref,
        notes: [
          {
            kind: 'duplicate',
            key: entry.idempotencyKey,
            body: {
              incoming: entry.contactId,
              matched: externalId,
              reason: `not created in ${crm}: linked since it was planned to ${crm} record ${externalId}, which holds the person already`,
            },
          },
        ],
      });
    }),
    clock,
  );
}
