import { equivalent } from '../core/equivalentValue.ts';
import { decideLocalChange } from '../core/reconcile.ts';
import type { ContactField, ContactPatch } from '../core/schemas.ts';
import type { PushEntry } from '../persistence/records.ts';
import type { PhaseDeps } from './context.ts';
import type { CycleRef } from './reconcilePhase.ts';
import { must } from './storeCall.ts';

/** What is still to send of an update planned by an earlier cycle: the fields, and the version to send them on. */
export interface OwedUpdate {
  patch: ContactPatch;
  version: string | null;
  /** Fields of the plan the contact no longer owes the CRM as planned. */
  overtaken: ContactField[];
  /** Fields of the plan a later plan of the record sends. */
  sentLater: ContactField[];
}

/**
 * For each update planned by a cycle other than `cycleId`, the fields later updates of its record carry (`pending`
 * in planned order): sent by them, at the value they were planned with.
 */
export function fieldsPlannedLater(
  pending: readonly PushEntry[],
  cycleId: string,
  patchOf: (entry: PushEntry) => ContactPatch,
): Map<string, ReadonlySet<ContactField>> {
  const later = new Map<string, ReadonlySet<ContactField>>();
  const seen = new Map<string, Set<ContactField>>();
  for (const entry of [...pending].reverse()) {
    if (entry.kind !== 'update' || entry.externalId === null) continue;
    const carried = seen.get(entry.externalId) ?? new Set<ContactField>();
    if (entry.cycleId !== cycleId) later.set(entry.idempotencyKey, new Set(carried));
    for (const field of Object.keys(patchOf(entry)) as ContactField[]) carried.add(field);
    seen.set(entry.externalId, carried);
  }
  return later;
}

/**
 * An update an earlier cycle planned and never sent (held while the credentials could not write, or left by a cycle
 * that failed), cut to the fields the contact still owes the CRM as planned: what it holds now, against the link's
 * base now. Sent whole, it put back values the contact no longer holds: an agency's edit read since, which won the
 * field, was overwritten in a CRM without versions, and its echo taken for NurtureHub's own. `null` when the contact
 * is no longer linked to the record. A field a later plan of the record carries (`sentLater`) is left to it: sent by
 * both, it was written twice. Sent on the version last read, so a CRM with versions takes the cut patch.
 */
export async function owedOfEarlierPlan(
  deps: PhaseDeps,
  ref: CycleRef,
  entry: PushEntry & { externalId: string },
  planned: ContactPatch,
  sentLater: ReadonlySet<ContactField>,
): Promise<OwedUpdate | null> {
  const { store, clock, provider } = deps;
  const [link] = await must(store.getLinksByExternalIds({ ...ref, externalIds: [entry.externalId] }), clock);
  if (link === undefined || link.contactId !== entry.contactId) return null;
  const [stored] = await must(store.getContacts({ tenantId: ref.tenantId, ids: [entry.contactId] }), clock);
  if (stored === undefined) return null;
  const owed = decideLocalChange(stored.contact, link, provider.capabilities);
  const cut: OwedUpdate = { patch: {}, version: link.remoteVersion, overtaken: [], sentLater: [] };
  for (const [field, value] of Object.entries(planned) as Array<[ContactField, ContactPatch[ContactField]]>) {
    const now = owed[field];
    if (!(field in owed) || !equivalent(field, now ?? null, value ?? null)) cut.overtaken.push(field);
    else if (sentLater.has(field)) cut.sentLater.push(field);
    else Object.assign(cut.patch, { [field]: now });
  }
  return cut;
}

/** Why nothing of an earlier plan is sent, for its note. */
export function unsentReason(owed: OwedUpdate | null): string {
  if (owed === null) return 'the contact is no longer linked to the record';
  const reasons = [
    owed.overtaken.length > 0 ? `the contact no longer holds ${owed.overtaken.join(', ')} as planned` : null,
    owed.sentLater.length > 0 ? `a later plan sends ${owed.sentLater.join(', ')}` : null,
  ];
  return reasons.filter((reason) => reason !== null).join('; ');
}
