import { describe, expect, it } from 'vitest';
import { getProvider } from '../../src/providers/registry.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A phone number written another way (`020 7946 0000`, `+44 20 7946 0000`) is the same value, but an extension is
 * part of the value: `ext 214` and `ext 300` reach different desks. Read as one number, an extension the agency
 * added or changed in the CRM never reached NurtureHub, nor one an agent changed in NurtureHub the CRM.
 */
describe('a phone extension changed on one side', () => {
  it('reaches the other side; the same number written another way still does not', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 5, seed: 3 } });
    try {
      const { tenantId } = h;
      await auditedCycle(h);
      const [person] = must(await h.store.listContacts({ tenantId, limit: 10 })).filter(
        (c) => c.links.length === 1,
      );
      if (person === undefined) throw new Error('no linked contact');
      const externalId = person.links[0]?.externalId ?? '';
      const reapit = getProvider('reapit')?.createProvider({
        baseUrl: h.sim.baseUrl,
        credentials: h.sim.credentials,
      });
      if (!reapit?.ok) throw new Error('reapit provider');
      const inReapit = async () =>
        (await h.sim.control.records()).find((r) => (r as { id: string }).id === externalId) as {
          workPhone?: string;
          _eTag: string;
        };
      const agencySets = async (workPhone: string) => {
        const { _eTag } = await inReapit();
        expect((await reapit.value.update({ externalId, patch: { workPhone }, version: _eTag })).ok).toBe(
          true,
        );
        await auditedCycle(h);
      };
      const local = async () =>
        must(await h.store.getContacts({ tenantId, ids: [person.id] }))[0]?.contact.workPhone;

      await agencySets('020 7946 0000');
      expect(await local()).toBe('020 7946 0000');
      // The same number, spaced and prefixed otherwise: not a change, nothing written either way.
      await agencySets('+44 20 7946 0000');
      expect(await local()).toBe('020 7946 0000');

      await agencySets('+44 20 7946 0000 ext. 214');
      expect(await local()).toBe('+44 20 7946 0000 ext. 214');
      await agencySets('+44 20 7946 0000 ext. 300');
      expect(await local()).toBe('+44 20 7946 0000 ext. 300');

      // An agent moves the person to another desk in NurtureHub.
      const [stored] = must(await h.store.getContacts({ tenantId, ids: [person.id] }));
      if (stored === undefined) throw new Error('contact gone');
      must(
        await h.store.upsertContacts({
          tenantId,
          contacts: [{ id: person.id, contact: { ...stored.contact, workPhone: '020 7946 0000 x412' } }],
          now: new Date(),
        }),
      );
      expect((await auditedCycle(h))?.written).toMatchObject({ updated: 1 });
      expect((await inReapit()).workPhone).toBe('020 7946 0000 x412');
      expect((await auditedCycle(h))?.written).toMatchObject({ created: 0, updated: 0 });
      expect(await local()).toBe('020 7946 0000 x412');
    } finally {
      await h.close();
    }
  });
});
