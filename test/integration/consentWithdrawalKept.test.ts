import { describe, expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { agencyClient } from '../support/simulators.ts';
import {
  auditedCycle,
  createSyncHarness,
  editContact,
  must,
  type SyncHarness,
} from '../support/syncHarness.ts';

/**
 * A person who unsubscribed in NurtureHub (consent `deny`) whose CRM record says `grant`: the CRM owns consent, so
 * its grant won the conflict, and NurtureHub marketed to them again. On a first link (a lead found in the CRM the
 * agency keyed in before, or without knowing of, the unsubscribe) and on a linked contact whose consent both sides
 * changed in one window alike, the withdrawal now wins and goes to the CRM; a `deny` in the CRM wins over a local
 * grant, as it did as the owner's.
 */

interface ReapitRecord {
  id: string;
  forename?: string;
  surname?: string;
  email?: string;
  marketingConsent?: string;
  _eTag?: string;
}

const records = async (h: SyncHarness) => (await h.sim.control.records()) as ReapitRecord[];
const recordOf = async (h: SyncHarness, id: string) => (await records(h)).find((r) => r.id === id);

describe('a withdrawal of marketing consent facing a CRM grant', () => {
  it('a lead that unsubscribed stays unsubscribed when its first link is a record that says grant', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 6, seed: 3 } });
    try {
      const granted = (await records(h)).find(
        (r) => r.marketingConsent === 'grant' && r.email !== undefined && r.forename !== undefined,
      );
      if (granted === undefined) throw new Error('the seed holds no record with consent granted');
      // The person unsubscribed from NurtureHub before the agency connected Reapit.
      const imported = await importContacts(h.store, {
        tenantId: h.tenantId,
        lines: [
          {
            line: 1,
            value: canonicalContactSchema.parse({
              firstName: granted.forename,
              lastName: granted.surname,
              email: granted.email,
              marketingConsent: 'deny',
            }),
          },
        ],
        now: new Date(),
      });
      const leadId = imported.created[0]?.id;
      if (leadId === undefined) throw new Error('the lead was not imported');

      const first = await auditedCycle(h);
      const [link] = must(await h.store.getLinksByContactIds({ ...h, contactIds: [leadId] }));
      expect(link?.externalId).toBe(granted.id);
      const [lead] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [leadId] }));
      expect(lead?.contact.marketingConsent).toBe('deny');
      expect((await recordOf(h, granted.id))?.marketingConsent).toBe('deny');
      expect(first?.conflicts).toContainEqual(
        expect.objectContaining({
          contactId: leadId,
          field: 'marketingConsent',
          crm: 'grant',
          local: 'deny',
          winner: 'nurturehub',
          reason: 'both-changed-resolved-by-withdrawal',
        }),
      );

      // And it holds: the next cycle changes nothing back.
      const next = await auditedCycle(h);
      expect(next?.conflicts).toEqual([]);
      expect((await recordOf(h, granted.id))?.marketingConsent).toBe('deny');
    } finally {
      await h.close();
    }
  }, 120_000);

  // biome-ignore format: one case per line reads as a table
  it.each([
    ['an unsubscribe and an agent’s grant in one window end in deny on both sides', 'grant', 'deny', 'nurturehub', 'both-changed-resolved-by-withdrawal'],
    ['a deny in the CRM wins over a local grant', 'deny', 'grant', 'crm', 'both-changed-resolved-by-withdrawal'],
  ] as const)('a linked contact: %s', async (_, inCrm, inNurtureHub, winner, reason) => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 8, seed: 5 } });
    try {
      await auditedCycle(h);
      const contacts = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 50 }));
      const person = contacts.find(
        (c) => c.contact.status === 'active' && c.contact.marketingConsent === 'notAsked' && c.links.length === 1,
      );
      const externalId = person?.links[0]?.externalId;
      if (person === undefined || externalId === undefined) throw new Error('no linked person not asked');

      // Both sides record consent before the next cycle: the agent in Reapit, the person in NurtureHub.
      must(
        await agencyClient('reapit', h.sim).update({
          externalId,
          patch: { marketingConsent: inCrm },
          version: (await recordOf(h, externalId))?._eTag ?? null,
          signal: new AbortController().signal,
        }),
      );
      await editContact(h, person.id, { marketingConsent: inNurtureHub });

      const cycle = await auditedCycle(h);
      const [after] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [person.id] }));
      expect(after?.contact.marketingConsent).toBe('deny');
      expect((await recordOf(h, externalId))?.marketingConsent).toBe('deny');
      expect(cycle?.conflicts).toEqual([
        expect.objectContaining({
          contactId: person.id,
          field: 'marketingConsent',
          base: 'notAsked',
          crm: inCrm,
          local: inNurtureHub,
          winner,
          reason,
        }),
      ]);
    } finally {
      await h.close();
    }
  }, 120_000);
});
