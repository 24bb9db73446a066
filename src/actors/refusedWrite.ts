import { equivalent } from '../core/equivalentValue.ts';
import { providerLabels } from '../core/providerName.ts';
import type { Result } from '../core/result.ts';
import type { ContactField, ContactPatch } from '../core/schemas.ts';
import type { PhaseFailure } from '../machines/phases.ts';
import { REFUSED_FIELD_NOTE_PREFIX } from '../persistence/cycleWork.ts';
import type { PushEntry } from '../persistence/records.ts';
import type { ProviderError } from '../providers/provider.ts';
import type { PhaseDeps } from './context.ts';
import { providerFailure } from './failures.ts';
import { deferWithNote } from './pushLedger.ts';
import type { CycleRef } from './reconcilePhase.ts';
import { must } from './storeCall.ts';

// How the push answers a write the CRM refused: deferred with its note, or the phase's failure.

export type WriteForbidden = Extract<ProviderError, { kind: 'write_forbidden' }>;

/** The provider refused this write; the record's other writes go on, and the connection does not back off. */
const deferredKinds = new Set<ProviderError['kind']>([
  'precondition_failed',
  'conflict',
  'validation',
  'not_found',
]);

/**
 * Refusals the same write would meet again: a value the CRM rejects (422), a record it no longer has (404: deleted,
 * or trashed as Street's people are). The CRM record does not change, so no cycle plans it again; a later
 * change of the contact does. A stale version (412) or a conflict (409) comes with a changed CRM record, which the
 * next cycle reads and merges, planning the write afresh.
 */
const refusedUntilChanged = new Set<ProviderError['kind']>(['validation', 'not_found']);

/** The write as its notes name it: `update of contact <id> (<record>)`, a create without a record. */
export const writeLabel = (entry: PushEntry) =>
  `${entry.kind} of contact ${entry.contactId}${entry.externalId ? ` (${entry.externalId})` : ''}`;

/**
 * Defers a refused write to the next cycle, with a note. `maybeApplied`: an update the CRM may have applied
 * before we crashed; its values join the link's echo state, so the next cycle reads them as our own write, not
 * as an agency edit that would override NurtureHub changes made since. An update the CRM answers `not_found` went
 * to a record it no longer has (deleted, trashed, or merged into the person's other record): the link is dropped.
 * Kept, every later change of the contact was sent to the gone record and refused, and the record the agency kept
 * for the person, suppressed as the CRM holding them twice, never synced (it is read again only when it changes).
 * Unlinked, that record links to the contact when it next comes in, merged against the dropped link's base (kept
 * as the contact's gone link), so the change refused here is no conflict the kept record's old value wins.
 * A record the CRM listed as removed (Street's trash answers a write 404) is kept linked: it may be restored.
 */
export async function refuse(
  deps: PhaseDeps,
  ref: CycleRef,
  entry: PushEntry,
  error: ProviderError,
  maybeApplied: ContactPatch | null = null,
): Promise<'deferred' | WriteForbidden | PhaseFailure> {
  if (error.kind === 'write_forbidden') return error;
  if (!deferredKinds.has(error.kind)) return providerFailure(error, deps.clock());
  const crm = providerLabels[deps.provider.name];
  // A bare `GET /contacts/X → 404` does not tell an agency that the CRM no longer has the person's record.
  const gone = error.kind === 'not_found';
  // A record the CRM listed as removed (Street's trash) is still there, to be restored: its link stays.
  const unlinked = gone && entry.kind === 'update' && (await listedActive(deps, ref, entry.externalId));
  // A create the CRM calls a duplicate without naming the record (Alto's 409 lacking its Location): no changed
  // record comes with it, as with an update's 409, so no cycle plans it again unless the contact changes.
  const duplicateUnnamed = entry.kind === 'create' && error.kind === 'conflict';
  const untilChanged = refusedUntilChanged.has(error.kind) || duplicateUnnamed;
  const what = gone
    ? `${crm} has no such record (deleted, trashed or merged into another): `
    : duplicateUnnamed
      ? `${crm} holds a duplicate of the person and named no record: `
      : '';
  const next = unlinked
    ? `refused; the contact is no longer linked to it, and links to the person's record in ${crm} when that record next changes`
    : untilChanged
      ? 'refused; sent again when the contact changes'
      : 'deferred to the next cycle';
  await deferWithNote(
    deps,
    ref,
    entry,
    {
      status: error.status,
      message: `${writeLabel(entry)} ${next}: ${what}${error.kind}: ${error.message}`,
      retry: !untilChanged,
    },
    { ...(maybeApplied === null ? {} : { maybeApplied }), ...(unlinked ? { gone: true as const } : {}) },
  );
  return 'deferred';
}

/**
 * The version of `externalId` if the CRM holds every value of `patch`: an update sent before a crash (or before a
 * store failure lost its acknowledgement) and refused as stale when sent again was applied the first time, its own
 * write what made the second stale. Noted as deferred, it was counted nowhere (the audit said 0 updated and a 412
 * to retry, and no cycle sent it again: the CRM's values read back as our echo). `null` when the CRM cannot read
 * one record, the read fails, or any value differs (another write came between: the next cycle merges it).
 */
export async function appliedEarlier(
  deps: PhaseDeps,
  externalId: string,
  patch: ContactPatch,
  signal: AbortSignal,
): Promise<{ version: string | null } | null> {
  if (!deps.provider.capabilities.canGetRecord) return null;
  const read = await deps.provider.getRecord({ externalId, signal });
  if (!read.ok) return null;
  const held = read.value.contact;
  const fields = Object.keys(patch) as Array<keyof ContactPatch>;
  return fields.every((field) => equivalent(field, held[field], patch[field] ?? null))
    ? { version: read.value.version }
    : null;
}

/** Whether the CRM last listed this record as active (its link's base), so a 404 means it no longer has it. */
async function listedActive(deps: PhaseDeps, ref: CycleRef, externalId: string | null): Promise<boolean> {
  if (externalId === null) return false;
  const [link] = await must(
    deps.store.getLinksByExternalIds({ ...ref, externalIds: [externalId] }),
    deps.clock,
  );
  return link?.base.status === 'active';
}

/**
 * Sends an update; a value the CRM refuses for one field it names (a surname it cannot clear, an e-mail clear it
 * would read back as its second address) is left out and noted, and the rest sent. Refused whole, the change held
 * back every later change of the contact (a consent withdrawal, an archive, an intent score), each planned with the
 * refused value again and refused again. The field left out keeps its base, so the contact's next change plans it
 * again. `sent`: the patch the answer is to.
 */
export async function updateLeavingOutRefused(
  deps: PhaseDeps,
  ref: CycleRef,
  entry: PushEntry & { externalId: string },
  patch: ContactPatch,
  version: string | null,
  signal: AbortSignal,
): Promise<{ updated: Result<{ version: string | null }, ProviderError>; sent: ContactPatch }> {
  const { provider, store, clock } = deps;
  let sent = patch;
  let updated = await provider.update({ externalId: entry.externalId, patch: sent, version, signal });
  while (!updated.ok && updated.error.kind === 'validation') {
    const { error } = updated;
    const field = error.field as ContactField | undefined;
    if (field === undefined || !(field in sent) || Object.keys(sent).length < 2) break;
    const { [field]: _refused, ...rest } = sent;
    sent = rest;
    const body = {
      status: error.status,
      message: `${writeLabel(entry)} refused; sent again when the contact changes: ${field} left out, its other fields sent: ${error.message}`,
      retry: false,
    };
    const key = `${REFUSED_FIELD_NOTE_PREFIX}${entry.idempotencyKey}#${field}`;
    await must(store.addCycleNotes({ ...ref, notes: [{ kind: 'error', key, body }] }), clock);
    updated = await provider.update({ externalId: entry.externalId, patch: sent, version, signal });
  }
  return { updated, sent };
}
