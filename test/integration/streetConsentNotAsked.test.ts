import { describe, expect, it } from 'vitest';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * Street holds marketing consent as a boolean: it cannot record "not asked". A NurtureHub change of consent to
 * `notAsked` (an agent's edit, or another CRM's) was acknowledged without a call, so the link's base took
 * `notAsked` while Street kept its consent; the next time the agency edited that person, Street's consent read as
 * an agency change and undid NurtureHub's. Refused with a note instead, as a cleared name is.
 */
describe('a consent reset to "not asked" in NurtureHub, for a Street person', () => {
  it('is refused with a note, and an agency edit later does not undo it', async () => {
    const h = await createSyncHarness('street', {
      simulator: { contacts: 8, seed: 11 },
      // Street stamps whole seconds: our clock ahead, so the window takes in the agency's edit at once.
      runner: { clock: () => new Date(Date.now() + 2_000) },
    });
    try {
      const { tenantId } = h;
      await auditedCycle(h);
      const person = must(await h.store.listContacts({ tenantId, limit: 20 })).find(
        (c) =>
          c.links.length === 1 && c.contact.marketingConsent !== 'notAsked' && c.contact.status === 'active',
      );
      const externalId = person?.links[0]?.externalId;
      if (person === undefined || externalId === undefined) throw new Error('no linked person with consent');
      must(
        await h.store.upsertContacts({
          tenantId,
          contacts: [{ id: person.id, contact: { ...person.contact, marketingConsent: 'notAsked' } }],
          now: new Date(),
        }),
      );
      const refused = await auditedCycle(h);
      expect(refused?.written).toMatchObject({ updated: 0 });
      expect(refused?.errors).toEqual([
        expect.objectContaining({ retry: false, message: expect.stringMatching(/not asked/) }),
      ]);

      const street = agencyClient('street', h.sim);
      expect((await street.update({ externalId, patch: { title: 'Prof' }, version: null })).ok).toBe(true);
      await auditedCycle(h);
      const [after] = must(await h.store.getContacts({ tenantId, ids: [person.id] }));
      expect(after?.contact).toMatchObject({ title: 'Prof', marketingConsent: 'notAsked' });
    } finally {
      await h.close();
    }
  });
});
