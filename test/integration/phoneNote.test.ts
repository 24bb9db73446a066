import { describe, expect, it } from 'vitest';
import { toInboundRecord as fromLoop } from '../../src/providers/loop/mapping.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import { toInboundRecord as fromReapit } from '../../src/providers/reapit/mapping.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A note typed beside a phone number (`07700 900123 DO NOT CALL`, `(husband)`) is part of the field's value. Read
 * as the number alone, a note the agency added in the CRM never reached NurtureHub, and one an agent added in
 * NurtureHub never reached the CRM: both sides kept dialling a number the other had marked.
 */
const toInbound: Partial<Record<ProviderName, typeof fromReapit>> = { reapit: fromReapit, loop: fromLoop };

describe.each<ProviderName>(['reapit', 'loop'])('a note beside a phone number, in %s', (provider) => {
  it('reaches the other side; the same number spaced otherwise still does not', async () => {
    const h = await createSyncHarness(provider, { simulator: { contacts: 5, seed: 3 } });
    try {
      const { tenantId } = h;
      await auditedCycle(h);
      const [person] = must(await h.store.listContacts({ tenantId, limit: 10 })).filter(
        (c) => c.links.length === 1,
      );
      if (person === undefined) throw new Error('no linked contact');
      const externalId = person.links[0]?.externalId ?? '';
      const crm = getProvider(provider)?.createProvider({
        baseUrl: h.sim.baseUrl,
        credentials: h.sim.credentials,
      });
      if (!crm?.ok) throw new Error(`${provider} provider`);
      const inCrm = async () => {
        const raw = (await h.sim.control.records()).find((r) => (r as { id: string }).id === externalId);
        const mapped = toInbound[provider]?.(raw);
        if (!mapped?.ok) throw new Error('record gone');
        return mapped.value;
      };
      const agencySets = async (mobilePhone: string) => {
        const { version } = await inCrm();
        expect((await crm.value.update({ externalId, patch: { mobilePhone }, version })).ok).toBe(true);
        await auditedCycle(h);
      };
      const local = async () =>
        must(await h.store.getContacts({ tenantId, ids: [person.id] }))[0]?.contact.mobilePhone;

      await agencySets('07700 900123');
      expect(await local()).toBe('07700 900123');
      // The same number spaced and prefixed otherwise: not a change.
      await agencySets('+44 7700 900123');
      expect(await local()).toBe('07700 900123');

      await agencySets('+44 7700 900123 DO NOT CALL');
      expect(await local()).toBe('+44 7700 900123 DO NOT CALL');

      // An agent notes in NurtureHub whose number it is.
      const [stored] = must(await h.store.getContacts({ tenantId, ids: [person.id] }));
      if (stored === undefined) throw new Error('contact gone');
      must(
        await h.store.upsertContacts({
          tenantId,
          contacts: [
            { id: person.id, contact: { ...stored.contact, mobilePhone: '07700 900123 (husband)' } },
          ],
          now: new Date(),
        }),
      );
      expect((await auditedCycle(h))?.written).toMatchObject({ updated: 1 });
      expect((await inCrm()).contact.mobilePhone).toBe('07700 900123 (husband)');
      expect((await auditedCycle(h))?.written).toMatchObject({ created: 0, updated: 0 });
      expect(await local()).toBe('07700 900123 (husband)');
    } finally {
      await h.close();
    }
  });
});
