import type { HeldElsewhere } from '../core/reconcile.ts';
import type { ProviderCapabilities } from '../providers/provider.ts';
import { getProvider } from '../providers/registry.ts';
import type { PhaseDeps } from './context.ts';
import { must } from './storeCall.ts';

/**
 * For each of these contacts, what the tenant's other CRMs hold of it: each link's base (the values at its last
 * sync) and when that CRM sent them, cut to the fields it stores (a base holds NurtureHub's value of a field the
 * CRM cannot hold). A tenant has a handful of connections, so one look-up each.
 */
export async function basesElsewhere(
  { store, clock }: Pick<PhaseDeps, 'store' | 'clock'>,
  ref: { tenantId: string; connectionId: string },
  contactIds: readonly string[],
): Promise<Map<string, HeldElsewhere[]>> {
  const bases = new Map<string, HeldElsewhere[]>();
  if (contactIds.length === 0) return bases;
  const connections = await must(store.listConnections({ tenantId: ref.tenantId }), clock);
  for (const connection of connections) {
    const stored = getProvider(connection.provider)?.spec.capabilities.storedFields;
    if (connection.id === ref.connectionId || stored === undefined) continue;
    const links = await must(
      store.getLinksByContactIds({
        tenantId: ref.tenantId,
        connectionId: connection.id,
        contactIds: [...contactIds],
      }),
      clock,
    );
    for (const link of links) {
      // Evidence is recorded for stored fields only (`decideInbound`).
      const held = {
        base: Object.fromEntries(stored.map((field) => [field, link.base[field]])),
        fieldModified: link.fieldModified,
      };
      bases.set(link.contactId, [...(bases.get(link.contactId) ?? []), held]);
    }
  }
  return bases;
}

/**
 * A record's `modified` where it dates an edit, else `null`: a snapshot listing (agentOS) stamps every record with
 * the time it was listed, which says nothing of when it was edited.
 */
export function editedAt(
  capabilities: Pick<ProviderCapabilities, 'deltaMode'>,
  modified: string,
): string | null {
  return capabilities.deltaMode === 'snapshotDiff' ? null : modified;
}
