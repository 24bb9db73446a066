import { describe, expect, it } from 'vitest';
import type { ContactField } from '../../src/core/schemas.ts';
import { toInboundRecord as fromLoop } from '../../src/providers/loop/mapping.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import { toInboundRecord as fromReapit } from '../../src/providers/reapit/mapping.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A phone number written another way (`020 7946 0000`, `+44 20 7946 0000`) is the same value, but what is typed
 * beside it is part of the value. An extension reaches another desk (`ext 214`, `ext 300`); a note (`DO NOT CALL`,
 * `(husband)`) says whose number it is or not to ring it. Read as the number alone, one changed in the CRM never
 * reached NurtureHub, nor one an agent changed in NurtureHub the CRM: both sides kept dialling what the other had
 * changed.
 */
const toInbound: Partial<Record<ProviderName, typeof fromReapit>> = { reapit: fromReapit, loop: fromLoop };

interface PhoneCase {
  what: string;
  provider: ProviderName;
  field: Extract<ContactField, 'mobilePhone' | 'workPhone'>;
  /** The number as first set in the CRM, then the same number written another way. */
  number: string;
  sameNumber: string;
  /** What the agency types beside it in the CRM, one edit after another. */
  crmEdits: string[];
  /** What an agent then sets in NurtureHub. */
  localEdit: string;
}

const cases: PhoneCase[] = [
  {
    what: 'an extension',
    provider: 'reapit',
    field: 'workPhone',
    number: '020 7946 0000',
    sameNumber: '+44 20 7946 0000',
    crmEdits: ['+44 20 7946 0000 ext. 214', '+44 20 7946 0000 ext. 300'],
    localEdit: '020 7946 0000 x412',
  },
  ...(['reapit', 'loop'] as const).map((provider) => ({
    what: 'a note',
    provider,
    field: 'mobilePhone' as const,
    number: '07700 900123',
    sameNumber: '+44 7700 900123',
    crmEdits: ['+44 7700 900123 DO NOT CALL'],
    localEdit: '07700 900123 (husband)',
  })),
];

describe.each(cases)('$what beside a phone number, in $provider', (c) => {
  it('reaches the other side; the same number written another way still does not', async () => {
    const h = await createSyncHarness(c.provider, { simulator: { contacts: 5, seed: 3 } });
    try {
      const { tenantId } = h;
      await auditedCycle(h);
      const [person] = must(await h.store.listContacts({ tenantId, limit: 10 })).filter(
        (contact) => contact.links.length === 1,
      );
      if (person === undefined) throw new Error('no linked contact');
      const externalId = person.links[0]?.externalId ?? '';
      const crm = agencyClient(c.provider, h.sim);
      const inCrm = async () => {
        const raw = (await h.sim.control.records()).find((r) => (r as { id: string }).id === externalId);
        const mapped = toInbound[c.provider]?.(raw);
        if (!mapped?.ok) throw new Error('record gone');
        return mapped.value;
      };
      const agencySets = async (value: string) => {
        const { version } = await inCrm();
        expect((await crm.update({ externalId, patch: { [c.field]: value }, version })).ok).toBe(true);
        await auditedCycle(h);
      };
      const local = async () =>
        must(await h.store.getContacts({ tenantId, ids: [person.id] }))[0]?.contact[c.field];

      await agencySets(c.number);
      expect(await local()).toBe(c.number);
      // The same number, spaced and prefixed otherwise: not a change, nothing written either way.
      await agencySets(c.sameNumber);
      expect(await local()).toBe(c.number);

      for (const edit of c.crmEdits) {
        await agencySets(edit);
        expect(await local()).toBe(edit);
      }

      const [stored] = must(await h.store.getContacts({ tenantId, ids: [person.id] }));
      if (stored === undefined) throw new Error('contact gone');
      must(
        await h.store.upsertContacts({
          tenantId,
          contacts: [{ id: person.id, contact: { ...stored.contact, [c.field]: c.localEdit } }],
          now: new Date(),
        }),
      );
      expect((await auditedCycle(h))?.written).toMatchObject({ updated: 1 });
      expect((await inCrm()).contact[c.field]).toBe(c.localEdit);
      expect((await auditedCycle(h))?.written).toMatchObject({ created: 0, updated: 0 });
      expect(await local()).toBe(c.localEdit);
    } finally {
      await h.close();
    }
  });
});
