import { describe, expect, it } from 'vitest';
import type { CrmProvider } from '../../src/providers/provider.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

/**
 * An agency on Reapit and Alto at once, one person in both, whose surname its staff change in both CRMs between two
 * cycles. The field's owner (the CRM) decided the conflict, so the CRM whose cycle ran last won whichever edit was
 * newer: with Reapit's cycle first, Alto's older surname went into NurtureHub and on to Reapit. Now the later edit
 * wins, by the modified instants the two CRMs sent, whichever cycle runs first.
 */

const lastNameOf = async (agency: CrmProvider, externalId: string) =>
  must(await agency.getRecord({ externalId })).contact.lastName;

async function rename(agency: CrmProvider, externalId: string, lastName: string) {
  const { version } = must(await agency.getRecord({ externalId }));
  must(await agency.update({ externalId, patch: { lastName }, version }));
  // The next edit, in the other CRM, is stamped a few milliseconds later.
  await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('the same field edited in two of a tenant’s CRMs between cycles', () => {
  it('ends with the later edit everywhere, whichever CRM syncs first', async () => {
    const reapit = await createSyncHarness('reapit', { simulator: { contacts: 5, seed: 4 } });
    // The same generator and seed: the two CRMs hold the same five people.
    const alto = await createSyncHarness('alto', {
      store: reapit.store,
      tenantId: reapit.tenantId,
      simulator: { contacts: 5, seed: 4 },
    });
    try {
      const { store, tenantId } = reapit;
      for (const h of [reapit, alto, reapit]) await auditedCycle(h);
      const contacts = must(await store.listContacts({ tenantId, limit: 10 }));
      const shared = contacts.filter((c) => c.links.length === 2 && c.contact.lastName !== null);
      expect(shared.length).toBeGreaterThanOrEqual(2);
      const recordIn = (h: SyncHarness, contact: (typeof shared)[number]) =>
        contact.links.find((l) => l.connectionId === h.connectionId)?.externalId ?? '';
      const agencies = new Map([
        [reapit, agencyClient('reapit', reapit.sim)],
        [alto, agencyClient('alto', alto.sim)],
      ]);
      const agencyOf = (h: SyncHarness) => agencies.get(h) as CrmProvider;

      // Person A: Alto's edit first, Reapit's later. Person B: Reapit's first, Alto's later. Reapit's cycle runs
      // first for both, so for A the later edit came in first and met Alto's older one in Alto's cycle.
      const [personA, personB] = shared;
      if (personA === undefined || personB === undefined) throw new Error('the seeds give no shared people');
      await rename(agencyOf(alto), recordIn(alto, personA), 'Older-Alto');
      await rename(agencyOf(reapit), recordIn(reapit, personA), 'Later-Reapit');
      await rename(agencyOf(reapit), recordIn(reapit, personB), 'Older-Reapit');
      await rename(agencyOf(alto), recordIn(alto, personB), 'Later-Alto');

      await auditedCycle(reapit);
      const altoCycle = await auditedCycle(alto);
      await auditedCycle(reapit);
      await auditedCycle(alto);

      // Before: Alto's cycle took 'Older-Alto' as the CRM's value and Reapit was sent it.
      expect(altoCycle?.conflicts).toContainEqual(
        expect.objectContaining({
          contactId: personA.id,
          field: 'lastName',
          base: personA.contact.lastName,
          winner: 'nurturehub',
          reason: 'both-changed-resolved-by-recency',
        }),
      );
      expect(altoCycle?.conflicts).toContainEqual(
        expect.objectContaining({
          contactId: personB.id,
          field: 'lastName',
          base: personB.contact.lastName,
          winner: 'crm',
          reason: 'both-changed-resolved-by-authority',
        }),
      );
      const held = new Map(
        must(await store.getContacts({ tenantId, ids: [personA.id, personB.id] })).map((c) => [
          c.id,
          c.contact,
        ]),
      );
      expect(held.get(personA.id)?.lastName).toBe('Later-Reapit');
      expect(held.get(personB.id)?.lastName).toBe('Later-Alto');
      for (const h of [reapit, alto]) {
        expect(await lastNameOf(agencyOf(h), recordIn(h, personA))).toBe('Later-Reapit');
        expect(await lastNameOf(agencyOf(h), recordIn(h, personB))).toBe('Later-Alto');
      }
      // Each surname is dated by the CRM it was edited in only: where it was pushed, the acknowledgement undated it
      // and kept the dates of the fields it did not write (Alto's first link dated the values its records held, and
      // Reapit's records dated theirs when they created the contacts).
      const datesIn = async (h: SyncHarness, contactId: string) =>
        must(
          await store.getLinksByContactIds({
            tenantId,
            connectionId: h.connectionId,
            contactIds: [contactId],
          }),
        )[0]?.fieldModified;
      expect(await datesIn(reapit, personA.id)).toMatchObject({
        lastName: expect.any(String),
        firstName: expect.any(String),
      });
      const pushedToReapit = await datesIn(reapit, personB.id);
      expect(pushedToReapit?.lastName).toBeUndefined();
      expect(pushedToReapit?.firstName).toEqual(expect.any(String));
      expect(await datesIn(alto, personB.id)).toMatchObject({
        lastName: expect.any(String),
        firstName: expect.any(String),
      });
      const pushedToAlto = await datesIn(alto, personA.id);
      expect(pushedToAlto?.lastName).toBeUndefined();
      expect(pushedToAlto?.firstName).toEqual(expect.any(String));
    } finally {
      await alto.close();
      await reapit.close();
    }
  }, 60_000);
});
