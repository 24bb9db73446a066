import { describe, expect, it } from 'vitest';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

const LEAD_ID = '6f1c1a4e-3b7d-5c2a-9e40-0a1b2c3d4e5f';

/**
 * agentOS shows a person's details only with third-party-marketing consent. A NurtureHub lead without it, once
 * created there, came back hidden — read as details withdrawn — and its name, e-mail and phones were emptied here
 * (and the emptying sent on to the tenant's other CRMs). Such a lead is not created in agentOS until consent is
 * granted, and stays whole meanwhile.
 */
describe('a NurtureHub lead without third-party-marketing consent, in a tenant with agentOS', () => {
  it('is not created in agentOS and keeps its details, and is created once consent is granted', async () => {
    const h = await createSyncHarness('agentos', { simulator: { contacts: 10, seed: 3 } });
    try {
      const cycle = () => auditedCycle(h);
      const save = async (marketingConsent: 'notAsked' | 'grant') => {
        const contact = canonicalContactSchema.parse({
          firstName: 'Nadia',
          lastName: 'Okafor',
          email: 'nadia.okafor@example.org',
          mobilePhone: '+447700900321',
          marketingConsent,
        });
        must(
          await h.store.upsertContacts({
            tenantId: h.tenantId,
            contacts: [{ id: LEAD_ID, contact }],
            now: new Date(),
          }),
        );
      };
      const lead = async () =>
        must(await h.store.getContacts({ tenantId: h.tenantId, ids: [LEAD_ID] }))[0]?.contact;
      const copies = async () =>
        (await h.sim.control.records()).filter((r) => JSON.stringify(r).includes('nadia.okafor@example.org'));

      await cycle();
      await save('notAsked');
      const refused = await cycle();
      expect(refused?.errors).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(
            /refused; sent again when the contact changes: .*third-party-marketing consent/,
          ),
          retry: false,
        }),
      ]);
      expect(await copies()).toEqual([]);
      await cycle();
      expect(await lead()).toMatchObject({
        lastName: 'Okafor',
        email: 'nadia.okafor@example.org',
        status: 'active',
      });

      await save('grant');
      const created = await cycle();
      expect(created?.written).toMatchObject({ created: 1 });
      expect(await copies()).toHaveLength(1);
      await cycle();
      expect(await lead()).toMatchObject({
        lastName: 'Okafor',
        email: 'nadia.okafor@example.org',
        marketingConsent: 'grant',
        status: 'active',
      });
    } finally {
      await h.close();
    }
  });
});
