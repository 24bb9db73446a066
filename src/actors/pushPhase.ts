import { z } from 'zod';
import { providerLabels } from '../core/providerName.ts';
import {
  type CanonicalContact,
  type ContactField,
  canonicalContactSchema,
  contactPatchSchema,
} from '../core/schemas.ts';
import type { PhaseFailure, PushPhaseInput, PushPhaseOutput } from '../machines/phases.ts';
import { HELD_WRITES_NOTE_KEY } from '../persistence/cycleWork.ts';
import type { PushEntry } from '../persistence/records.ts';
import type { ProviderError } from '../providers/provider.ts';
import { answeredPerson, heldRecordBase, otherPersonMessage } from './answeredRecord.ts';
import type { PhaseCall, PhaseDeps } from './context.ts';
import { addFailureNotes, failureNote, providerFailure } from './failures.ts';
import { findLostCreate } from './findLostCreate.ts';
import { fieldsPlannedLater, owedOfEarlierPlan, unsentReason } from './heldUpdate.ts';
import { acknowledge, deferWithNote, markSent, supersede } from './pushLedger.ts';
import type { CycleRef } from './reconcilePhase.ts';
import {
  appliedEarlier,
  refuse,
  updateLeavingOutRefused,
  type WriteForbidden,
  writeLabel,
} from './refusedWrite.ts';
import { mayStillBeApplying, settlingFailure } from './settlingCreates.ts';
import { must } from './storeCall.ts';
import { UNLISTED, unlistedNote, versionToSend } from './unlistedCreates.ts';

const createPayloadSchema = z.object({ contact: canonicalContactSchema });
const updatePayloadSchema = z.object({
  patch: contactPatchSchema,
  version: z.string().nullable(),
});

/** How many writes are in flight at once; the connection's limiter paces them within the provider's limits. */
const IN_FLIGHT = 8;

/**
 * Sends every planned, unacknowledged write through the provider. A write acknowledged in the ledger is never
 * sent again; a create that was sent but never acknowledged is first looked for in the CRM (the provider may
 * have applied it before we died), and one the CRM may still be applying is left for a later run. A 412/409
 * defers the record to the next cycle, a 404/422 until the contact changes; each is noted. Credentials that
 * read but may not write (`write_forbidden`) hold every write still pending until a later cycle, with one note;
 * the cycle completes, so its reads are kept. A failure that concerns the whole connection (rate limit, quota,
 * auth, network) stops the phase once the writes in flight have settled, each that failed noted; the machine backs
 * off and the re-run continues with what is still pending.
 */
export function createPushPhase(deps: PhaseDeps) {
  return async ({ input, signal }: PhaseCall<PushPhaseInput>): Promise<PushPhaseOutput> => {
    const { store, clock } = deps;
    const ref: CycleRef = {
      tenantId: input.connection.tenantId,
      connectionId: input.connection.connectionId,
      cycleId: input.cycleId,
    };
    const pending = await must(
      store.listPendingPushes({ tenantId: ref.tenantId, connectionId: ref.connectionId }),
      clock,
    );
    const sentLater = fieldsPlannedLater(
      pending,
      ref.cycleId,
      (entry) => updatePayloadSchema.parse(entry.payload).patch,
    );
    const totals = { sent: 0, deferred: 0, superseded: 0, held: 0, unlisted: 0 };
    // Every write that failed for the connection, not the first only: the writes in flight with it fail alike.
    const failed: PhaseFailure[] = [];
    let forbidden: WriteForbidden | null = null;
    const settling: PushEntry[] = [];
    // A write the CRM refused unapplied is planned again, unless an earlier attempt was sent (its create may be in
    // the CRM).
    const planAgain = async (entry: PushEntry) => {
      if (entry.status !== 'planned') return;
      const { tenantId, connectionId } = ref;
      await must(
        store.markPushUnsent({ tenantId, connectionId, idempotencyKey: entry.idempotencyKey }),
        clock,
      );
    };
    let next = 0;
    // Once one write went out in this run and its time is spent, no worker takes another; those in flight settle.
    const budgetSpent = () => next > 0 && deps.stepBudget?.spent() === true;
    // A write that threw (the store failing, an abort) stops every worker: Promise.all would reject at once and
    // leave the others taking writes after the phase had failed, alongside the re-run that sends them again.
    const thrown: unknown[] = [];
    const worker = async () => {
      try {
        while (
          thrown.length === 0 &&
          failed.length === 0 &&
          forbidden === null &&
          next < pending.length &&
          !budgetSpent()
        ) {
          signal.throwIfAborted();
          const entry = pending[next++] as PushEntry;
          const outcome = await pushOne(deps, ref, entry, sentLater, signal);
          if (outcome === 'sent') totals.sent += 1;
          else if (outcome === 'deferred') totals.deferred += 1;
          else if (outcome === 'superseded') totals.superseded += 1;
          else if (outcome === 'settling') settling.push(entry);
          else if (outcome === UNLISTED) totals.unlisted += 1;
          else if (outcome.kind === 'write_forbidden') {
            await planAgain(entry);
            totals.held += 1;
            forbidden ??= outcome;
          } else {
            // Refused with the credentials (a 401, or a token request refused: nothing sent) is not applied either.
            // Left sent, each create was looked for when new credentials resumed the push, as one the CRM may have
            // made, and held for the CRM's settle time (Reapit: 60 s) with the connection backing off.
            if (outcome.kind === 'auth_failed') await planAgain(entry);
            failed.push({ ...outcome, message: `${writeLabel(entry)}: ${outcome.message}` });
          }
          deps.onPushProgress?.({
            done: totals.sent + totals.deferred + totals.superseded,
            total: pending.length,
          });
        }
      } catch (error) {
        thrown.push(error);
      }
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, pending.length) }, worker));
    // Thrown once every write in flight has settled: the re-run finds each acknowledged or still pending.
    if (thrown.length > 0) throw thrown[0];
    // Every write taken has settled, acknowledged or noted in the ledger: the next step sends what is still pending.
    if (failed.length === 0 && forbidden === null && next < pending.length && deps.stepBudget !== undefined)
      await deps.stepBudget.handOver(signal);
    const [stop] = failed;
    // Stopped meanwhile, what failed is the stop's (a write it kept from going out, a read an answer needed), not the
    // CRM's: each stays pending or sent, and the next run notes what it meets. Noted, the resumed cycle's audit
    // listed errors "stopped: AbortError" that no CRM gave.
    if (stop !== undefined && signal.aborted) throw signal.reason;
    if (stop !== undefined) {
      // The phase fails with the first, noted under the key the phase's failure note takes (so once); each of the
      // others is an error of the cycle too. Best effort, as that note: the store may be failing as well.
      const notes = failed.map((failure, i) => {
        const note = failureNote('pushing', failure);
        return i === 0 ? note : { ...note, key: `${note.key}#${i}` };
      });
      await addFailureNotes(deps, ref, notes);
      throw stop;
    }
    // The other writes went out; the phase backs off so that the machine brings the push back for these creates.
    if (forbidden === null && settling.length > 0)
      throw settlingFailure(deps.provider, settling, clock(), deps.writesLandBy ?? null);
    if (forbidden !== null) {
      // Every write would meet the same refusal: those not tried yet stay pending, untouched, for the next cycle.
      totals.held += pending.length - next + settling.length;
      await must(store.addCycleNotes({ ...ref, notes: [heldWritesNote(forbidden, totals.held)] }), clock);
    }
    if (totals.unlisted > 0) {
      const crm = providerLabels[deps.provider.name];
      await must(store.addCycleNotes({ ...ref, notes: [unlistedNote(crm, totals.unlisted)] }), clock);
      totals.held += totals.unlisted;
    }
    // The cycle's writes, not this run's: a push resumed after a crash or a backoff sent and refused only the rest,
    // and the status and the audit entry must give one figure (the audit lists the same notes). Writes held for
    // want of the write tier are this run's: they were all still pending when it began.
    const written = await must(store.cycleNoteTotals(ref), clock);
    return { sent: written.created + written.updated, deferred: written.refused + totals.held };
  };
}

/**
 * The one note of a push whose writes the credentials may not make. Retried: the held writes go out in the first
 * cycle whose credentials may write, whether the credentials were entered again or, as with agentOS tiers, the
 * CRM was changed to let the same ones write.
 */
function heldWritesNote(forbidden: WriteForbidden, held: number) {
  return {
    kind: 'error' as const,
    key: HELD_WRITES_NOTE_KEY,
    body: {
      status: forbidden.status,
      message: `${held} write${held === 1 ? '' : 's'} held, tried again next cycle; reads go on: ${forbidden.message}`,
      retry: true,
    },
  };
}

async function pushOne(
  deps: PhaseDeps,
  ref: CycleRef,
  entry: PushEntry,
  /** For each update an earlier cycle planned, the fields later plans of its record carry. */
  sentLater: ReadonlyMap<string, ReadonlySet<ContactField>>,
  signal: AbortSignal,
): Promise<
  'sent' | 'deferred' | 'superseded' | 'settling' | typeof UNLISTED | WriteForbidden | PhaseFailure
> {
  const { store, provider, clock } = deps;
  const key = {
    tenantId: ref.tenantId,
    connectionId: ref.connectionId,
    idempotencyKey: entry.idempotencyKey,
  };

  if (entry.kind === 'create') {
    const { contact } = createPayloadSchema.parse(entry.payload);
    if (entry.status === 'planned') {
      // Held since an earlier cycle (credentials that could not write), the contact may have been linked meanwhile
      // to a record the agency keyed in. Sent, the CRM held the person twice, and the create's link replaced the one
      // to the agency's record.
      const [link] = await must(store.getLinksByContactIds({ ...ref, contactIds: [entry.contactId] }), clock);
      if (link !== undefined) {
        await supersede(deps, ref, entry, link.externalId);
        return 'superseded';
      }
      // Archived meanwhile, the contact is planned no create, so the held one went out: a phantom record.
      const [stored] = await must(
        store.getContacts({ tenantId: ref.tenantId, ids: [entry.contactId] }),
        clock,
      );
      if (stored?.contact.status !== 'active') {
        await deferWithNote(deps, ref, entry, {
          status: null,
          message: `${writeLabel(entry)} not sent: the contact is ${stored === undefined ? 'gone' : stored.contact.status} since cycle ${entry.cycleId} planned it; created if it is made active again`,
          retry: false,
        });
        return 'deferred';
      }
    }
    if (entry.status === 'sent') {
      const lost = await findLostCreate(deps, ref, entry.contactId, contact, signal);
      if (!lost.ok) return providerFailure(lost.error, clock());
      if (lost.value.kind === 'linked') {
        await acknowledge(deps, ref, entry, {
          externalId: lost.value.externalId,
          version: null,
          linked: true,
        });
        return 'sent';
      }
      if (lost.value.kind === 'found') {
        // Found as the same person: linked like a record the create made.
        const { externalId, version } = lost.value;
        const listed = provider.createdAsListed(contact);
        return acknowledgeCreate(deps, ref, entry, { externalId, version, contact: listed }, MADE, signal);
      }
      // Not found, but the CRM may not show a create this recent yet: sent again now, it could make a second record.
      const { createSettleMs } = provider.capabilities;
      if (mayStillBeApplying(entry, createSettleMs, clock(), deps.writesLandBy ?? null)) return 'settling';
    }
    // Stopped while the checks above read the store: not sent, so not marked so (the next run would look for it).
    signal.throwIfAborted();
    const sentAt = clock();
    await markSent(deps, key, sentAt);
    const created = await provider.create({ contact, reference: entry.contactId, signal });
    // Stopped before it went out, and never sent before: planned again, so the next run sends it, not looks for it
    // (and waits out the CRM's settle time: a minute for Reapit).
    if (
      !created.ok &&
      created.error.kind === 'transient' &&
      created.error.unsent &&
      entry.status === 'planned'
    )
      await must(store.markPushUnsent({ ...key, sentAt }), clock);
    if (created.ok) {
      // The base is the record as the CRM will list it: a field it does not show is not read back as cleared.
      const { externalId, version, existing } = created.value;
      const answer = existing === true ? { held: contact, status: null } : MADE;
      const listed = provider.createdAsListed(contact);
      return acknowledgeCreate(deps, ref, entry, { externalId, version, contact: listed }, answer, signal);
    }
    if (created.error.kind === 'conflict' && created.error.location !== undefined) {
      // The CRM says it already holds this person (Alto's 409 + Location): that record, if it is this person.
      const externalId = created.error.location.split('/').filter(Boolean).at(-1) ?? created.error.location;
      const answer = { held: contact, status: created.error.status };
      return acknowledgeCreate(deps, ref, entry, { externalId, version: null, contact }, answer, signal);
    }
    return refuse(deps, ref, entry, created.error);
  }

  const plan = updatePayloadSchema.parse(entry.payload);
  if (entry.externalId === null) throw new Error(`update ${entry.idempotencyKey} has no target record`);
  const laterFields = sentLater.get(entry.idempotencyKey);
  // An earlier cycle's update, sent or not: one sent without an answer, then held (credentials that could not write)
  // or left by a cycle abandoned, went out whole later, over an agency edit read since that won the field.
  const earlier = laterFields !== undefined;
  const target = { ...entry, externalId: entry.externalId };
  const owed = earlier ? await owedOfEarlierPlan(deps, ref, target, plan.patch, laterFields) : null;
  if (earlier && owed !== null && Object.keys(owed.patch).length === 0 && owed.overtaken.length === 0) {
    // Every field goes with a later plan of the record: nothing of this one is lost, nothing to tell.
    await must(store.markPushDeferred({ ...key, now: clock() }), clock);
    return 'superseded';
  }
  if (earlier && (owed === null || Object.keys(owed.patch).length === 0)) {
    await deferWithNote(deps, ref, entry, {
      status: null,
      message: `${writeLabel(entry)} not sent: planned by cycle ${entry.cycleId}, which ${entry.status === 'sent' ? 'had no answer to it' : 'did not send it'}; ${unsentReason(owed)}`,
      retry: false,
    });
    return 'deferred';
  }
  const { patch, version: planned } = owed ?? plan;
  const version = await versionToSend(deps, ref, entry.externalId, planned);
  if (version === UNLISTED) return UNLISTED;
  const sentBefore = entry.status === 'sent';
  await markSent(deps, key, clock());
  const { updated, sent } = await updateLeavingOutRefused(deps, ref, target, patch, version, signal);
  if (updated.ok) {
    await acknowledge(deps, ref, entry, {
      externalId: entry.externalId,
      version: updated.value.version,
      patch: sent,
    });
    return 'sent';
  }
  // Sent before a crash and now refused as stale: the first send may have been applied (its own version change
  // is what makes this one stale), so the CRM may now show our values.
  const maybeApplied = sentBefore && staleKinds.has(updated.error.kind) ? sent : null;
  const applied = maybeApplied === null ? null : await appliedEarlier(deps, entry.externalId, sent, signal);
  if (applied !== null) {
    await acknowledge(deps, ref, entry, {
      externalId: entry.externalId,
      version: applied.version,
      patch: sent,
    });
    return 'sent';
  }
  return refuse(deps, ref, entry, updated.error, maybeApplied);
}

const staleKinds = new Set<ProviderError['kind']>(['precondition_failed', 'conflict']);

/**
 * How the CRM answered a create: with a record it made for it (or a lost create found as this person), or with one
 * it already `held` — the contact sent is scored against it; `status` when the CRM refused the create (Alto's 409).
 */
type CreateAnswer = { held: null; status: null } | { held: CanonicalContact; status: number | null };
const MADE: CreateAnswer = { held: null, status: null };

/**
 * Links a create's contact to the record the CRM answered with — unless that record is another contact's, or,
 * held by the CRM before, another person. A CRM that answers a create with a record it already holds (agentOS by
 * e-mail, Alto's 409 on surname and e-mail) can name a different person's record: a couple sharing one address.
 * Linked to the other contact's record, this contact took over its link (the other was no longer synced) and its
 * CRM edits were copied into this one; linked to a record no contact holds yet (the agency keyed in the partner
 * after our last fetch), the next fetch read the partner's values as agency edits and this contact became the
 * partner, who never got a contact of their own. Refused until the contact changes instead, with a note.
 */
async function acknowledgeCreate(
  deps: PhaseDeps,
  ref: CycleRef,
  entry: PushEntry,
  ack: { externalId: string; version: string | null; contact: CanonicalContact },
  answer: CreateAnswer,
  signal: AbortSignal,
): Promise<'sent' | 'deferred' | WriteForbidden | PhaseFailure> {
  const { store, provider, clock } = deps;
  const [holder] = await must(store.getLinksByExternalIds({ ...ref, externalIds: [ack.externalId] }), clock);
  const crm = providerLabels[provider.name];
  if (holder?.contactId === entry.contactId) {
    // Linked meanwhile (the answer came late, to a run that lost its lease): the link is the holder's to keep.
    await acknowledge(deps, ref, entry, { externalId: ack.externalId, version: null, linked: true });
    return 'sent';
  }
  if (holder !== undefined) {
    await deferWithNote(deps, ref, entry, {
      status: answer.status,
      message:
        `create of contact ${entry.contactId} refused; sent again when the contact changes: ${crm} answered with ` +
        `record ${ack.externalId}, which is contact ${holder.contactId}'s: ${crm} holds them as one person; not linked`,
      retry: false,
    });
    return 'deferred';
  }
  if (holder === undefined && answer.held !== null) {
    const sent = { contactId: entry.contactId, contact: answer.held };
    const person = await answeredPerson(deps, ack.externalId, sent, signal);
    if (!person.ok) return refuse(deps, ref, entry, person.error);
    if (person.value.kind === 'other') {
      const { why } = person.value;
      await deferWithNote(deps, ref, entry, {
        status: answer.status,
        message: otherPersonMessage(provider.name, entry.contactId, ack.externalId, why),
        retry: false,
      });
      return 'deferred';
    }
    // The record held what the agency keyed in, not what was sent: what it lacks is not an agency clear. Never sent
    // before, the create cannot have made that record: the CRM created nothing, the lead is linked as a duplicate.
    const heldAlready =
      entry.status === 'planned'
        ? {
            reason: `not created in ${crm}: it answered the create with record ${ack.externalId}, which it held already as the same person; linked to it: ${person.value.why}`,
          }
        : undefined;
    await acknowledge(
      deps,
      ref,
      entry,
      { ...ack, contact: heldRecordBase(ack.contact, person.value.held) },
      heldAlready,
    );
    return 'sent';
  }
  await acknowledge(deps, ref, entry, ack);
  return 'sent';
}
