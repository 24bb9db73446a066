import { describe, expect, it } from 'vitest';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { useSharedStore } from '../support/sharedStore.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

const LEAD = '5e2d8c1a-4b6f-5a3e-8d21-9c0b1a2f3e4d';

const store = useSharedStore();

/**
 * A CRM can list a record we created with less than we sent: agentOS takes no address with a prospect, Alto lists
 * one phone per person. The engine recorded what it sent as the link's base, so the first read-back looked like an
 * agency clearing those fields: the NurtureHub lead lost them, and the tenant's other CRM (Reapit here) was sent
 * the clear. The base is now the record as that CRM lists it, and every side keeps the values.
 */
describe.each([
  { provider: 'agentos' as const, kept: 'address', shown: 'LS1 4AB' },
  { provider: 'alto' as const, kept: 'homePhone', shown: '01632 960123' },
])('a NurtureHub lead created in $provider, which does not list its $kept', ({ provider, kept, shown }) => {
  it('keeps it in NurtureHub and in Reapit, and the cycles after write nothing', async () => {
    const reapit = await createSyncHarness('reapit', { store: store(), simulator: { contacts: 0 } });
    const other = await createSyncHarness(provider, {
      store: store(),
      tenantId: reapit.tenantId,
      simulator: { contacts: 0 },
    });
    try {
      const round = async () => [await auditedCycle(reapit), await auditedCycle(other)];
      await round();
      const contact = canonicalContactSchema.parse({
        firstName: 'Nadia',
        lastName: 'Okafor',
        email: 'nadia.okafor@example.org',
        mobilePhone: '+447700900321',
        homePhone: '01632 960123',
        address: { line1: '12 High Street', line3: 'Leeds', postcode: 'LS1 4AB', countryCode: 'GB' },
        marketingConsent: 'grant',
      });
      must(
        await store().upsertContacts({
          tenantId: reapit.tenantId,
          contacts: [{ id: LEAD, contact }],
          now: new Date(),
        }),
      );
      const created = await round();
      expect(created.map((entry) => entry?.written.created)).toEqual([1, 1]);
      await round();
      const settled = await round();
      expect(settled.map((entry) => entry?.written)).toEqual([
        expect.objectContaining({ created: 0, updated: 0 }),
        expect.objectContaining({ created: 0, updated: 0 }),
      ]);

      const [lead] = must(await store().getContacts({ tenantId: reapit.tenantId, ids: [LEAD] }));
      expect(lead?.contact[kept as keyof typeof contact]).toEqual(contact[kept as keyof typeof contact]);
      const inReapit = (await reapit.sim.control.records()).filter((r) =>
        JSON.stringify(r).includes('nadia.okafor@example.org'),
      );
      expect(inReapit).toHaveLength(1);
      expect(JSON.stringify(inReapit[0])).toContain(shown);
    } finally {
      await other.close();
      await reapit.close();
    }
  });
});
