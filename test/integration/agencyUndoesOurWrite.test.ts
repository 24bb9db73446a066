import { describe, expect, it } from 'vitest';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * NurtureHub's change is written to the CRM, and an agency user sets the field back before the CRM lists our write:
 * the record then reads as it did when last listed. Its link kept that listing's content hash through the write, so
 * the fetch took the agency's change for the record unchanged and dropped it: NurtureHub kept its value, and the
 * CRM the agency's, for good (a 100-round soak: a consent granted at Loop, held denied).
 */
describe.each(['loop', 'alto', 'street', 'reapit'] as const)('%s: an agency undoing our write', (name) => {
  it('brings the agency’s value in, not the record taken for unchanged', async () => {
    const h = await createSyncHarness(name, { simulator: { contacts: 5, seed: 3 } });
    try {
      const { tenantId } = h;
      await auditedCycle(h);
      const person = must(await h.store.listContacts({ tenantId, limit: 20 })).find(
        (c) => c.contact.firstName !== null && c.contact.lastName !== null && c.contact.status === 'active',
      );
      const externalId = person?.links[0]?.externalId;
      if (person === undefined || externalId === undefined) throw new Error('no linked contact');
      const original = person.contact.firstName;
      must(
        await h.store.upsertContacts({
          tenantId,
          contacts: [{ id: person.id, contact: { ...person.contact, firstName: 'Renamed' } }],
          now: new Date(),
        }),
      );
      expect((await auditedCycle(h))?.written).toMatchObject({ updated: 1 });
      // Street stamps whole seconds, and a window's end is cut to the second it starts in.
      if (name === 'street') await new Promise((resolve) => setTimeout(resolve, 1_100));
      const agency = agencyClient(name, h.sim);
      const listed = must(await agency.getRecord({ externalId }));
      must(await agency.update({ externalId, patch: { firstName: original }, version: listed.version }));
      if (name === 'street') await new Promise((resolve) => setTimeout(resolve, 1_100));

      await auditedCycle(h);
      const [after] = must(await h.store.getContacts({ tenantId, ids: [person.id] }));
      expect(after?.contact.firstName).toBe(original);
    } finally {
      await h.close();
    }
  });
});
