import { describe, expect, it } from 'vitest';
import { getProvider } from '../../src/providers/registry.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * Reapit applies a create "often asynchronously" [R1]: the record is stamped when the create is sent and shown some
 * time later (within `createSettleMs`). A contact another app creates in Reapit just before a cycle, with an agency
 * edit stamped after it, is hidden while that cycle lists, and the cursor moves past its stamp to the edit's. The
 * next cycle must still read it once Reapit shows it.
 */
describe('a Reapit contact created by another app and shown after the cycle that passed its stamp', () => {
  it('reaches NurtureHub on the first cycle after Reapit shows it', async () => {
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 6, seed: 5, createVisibleAfterMs: 1_500 },
    });
    try {
      expect(must(await h.run()).state).toBe('idle');
      const created = getProvider('reapit')?.createProvider({
        baseUrl: h.sim.baseUrl,
        credentials: h.sim.credentials,
      });
      if (!created?.ok) throw new Error('reapit provider');
      const otherApp = created.value;
      const made = must(
        await otherApp.create({
          contact: {
            title: 'Mr',
            firstName: 'Olu',
            lastName: 'Adeyemi',
            email: 'olu.adeyemi@example.co.uk',
            mobilePhone: '07700 900871',
            homePhone: null,
            workPhone: null,
            address: null,
            dateOfBirth: null,
            status: 'active',
            marketingConsent: 'grant',
            emailOpens: 0,
            emailClicks: 0,
            lastOpenedAt: null,
            lastClickedAt: null,
            intentScore: null,
            nurtureSequence: null,
          },
          reference: 'another-app-1',
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
      // An agency edit stamped after the create, shown at once.
      const { changed } = await h.sim.control.edits({ count: 1, seed: 9 });
      const linked = async (externalId: string) =>
        must(await h.store.getLinksByExternalIds({ ...h, externalIds: [externalId] })).length === 1;

      expect(must(await h.run()).state).toBe('idle');
      expect(await linked(changed[0] as string)).toBe(true);
      expect(await linked(made.externalId)).toBe(false);

      await new Promise((resolve) => setTimeout(resolve, 1_600));
      expect(must(await h.run()).state).toBe('idle');
      expect(await linked(made.externalId)).toBe(true);
    } finally {
      await h.close();
    }
  });
});
