import type { CanonicalContact } from '../core/schemas.ts';
import { getProvider } from '../providers/registry.ts';
import type { PhaseDeps } from './context.ts';
import { must } from './storeCall.ts';

/**
 * For each of these contacts, what the tenant's other CRMs hold of it: each link's base (the values at its last
 * sync), cut to the fields that CRM stores (a base holds NurtureHub's value of a field the CRM cannot hold). A
 * tenant has a handful of connections, so one look-up each.
 */
export async function basesElsewhere(
  { store, clock }: Pick<PhaseDeps, 'store' | 'clock'>,
  ref: { tenantId: string; connectionId: string },
  contactIds: readonly string[],
): Promise<Map<string, Partial<CanonicalContact>[]>> {
  const bases = new Map<string, Partial<CanonicalContact>[]>();
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
      const held = Object.fromEntries(stored.map((field) => [field, link.base[field]]));
      bases.set(link.contactId, [...(bases.get(link.contactId) ?? []), held]);
    }
  }
  return bases;
}
