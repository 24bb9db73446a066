import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, editContact, must } from '../support/syncHarness.ts';

/**
 * A withdrawal of marketing consent wins a conflict over consent (consentWithdrawalKept.test.ts); these are the
 * other ways a withdrawal came undone, each found by a read-only audit of consent across the paths a contact's
 * consent takes:
 * - a record the agency keyed in again (or kept by a merge) with consent ticked took the contact's link and merged
 *   against the old record's base (`deny`), so its `grant` read as the CRM granting again;
 * - with two CRMs, an old grant in a record edited since (its phone) was dated by that edit, and as the "later edit
 *   elsewhere" it won over the other CRM's `deny` on its first link;
 * - a `contact import` line saying `deny` that matched a contact with `grant` was folded without its consent.
 */

describe.each(['reapit', 'loop'] as const)('a %s record keyed in again with consent granted', (name) => {
  it('does not undo a withdrawal already synced', async () => {
    const h = await createSyncHarness(name, { simulator: { contacts: 5, seed: 5 } });
    try {
      const { tenantId } = h;
      await auditedCycle(h);
      const before = must(await h.store.listContacts({ tenantId, limit: 20 }));
      const person = before.find(
        (c) =>
          c.contact.email !== null &&
          c.contact.lastName !== null &&
          c.contact.status === 'active' &&
          c.links.length === 1,
      );
      const deletedId = person?.links[0]?.externalId;
      if (person === undefined || deletedId === undefined) throw new Error('no linked contact');

      // The person unsubscribes in NurtureHub; the next cycle sends the withdrawal to the CRM.
      await editContact(h, person.id, { marketingConsent: 'deny' });
      await auditedCycle(h);
      const agency = agencyClient(name, h.sim);
      expect(must(await agency.getRecord({ externalId: deletedId })).contact.marketingConsent).toBe('deny');

      // The agency deletes the record and keys the person in again, consent ticked.
      expect(await h.sim.control.remove([deletedId])).toEqual({ removed: [deletedId] });
      const [stored] = must(await h.store.getContacts({ tenantId, ids: [person.id] }));
      const keyedIn = must(
        await agency.create({
          contact: { ...(stored?.contact ?? person.contact), marketingConsent: 'grant' },
          reference: 'keyed in again',
        }),
      );

      const relinked = await auditedCycle(h);
      expect(relinked?.errors).toEqual([]);
      const links = must(await h.store.getLinksByContactIds({ ...h, contactIds: [person.id] }));
      expect(links.map((l) => l.externalId)).toEqual([keyedIn.externalId]);
      const [after] = must(await h.store.getContacts({ tenantId, ids: [person.id] }));
      expect(after?.contact.marketingConsent).toBe('deny');
      expect(must(await agency.getRecord({ externalId: keyedIn.externalId })).contact.marketingConsent).toBe(
        'deny',
      );
    } finally {
      await h.close();
    }
  }, 120_000);
});

describe('a withdrawal recorded in one CRM, the person granted in another CRM whose record changed since', () => {
  it('is kept when the other CRM created the contact', async () => {
    const store = must(await openMemoryStore());
    const reapit = await createSyncHarness('reapit', { store, simulator: { contacts: 2, seed: 11 } });
    const loop = await createSyncHarness('loop', {
      store,
      tenantId: reapit.tenantId,
      simulator: { contacts: 2, seed: 12 },
    });
    try {
      const person = canonicalContactSchema.parse({
        firstName: 'Philippa',
        lastName: 'Quennell-Oduya',
        email: 'philippa.quennell@example.org',
      });
      const inReapit = must(
        await agencyClient('reapit', reapit.sim).create({
          contact: { ...person, marketingConsent: 'grant' },
          reference: 'registered years ago',
        }),
      );
      await sleep(1100);
      const inLoop = must(
        await agencyClient('loop', loop.sim).create({
          contact: { ...person, marketingConsent: 'deny' },
          reference: 'asked the Loop office to stop marketing',
        }),
      );
      await sleep(1100);
      const reapitAgency = agencyClient('reapit', reapit.sim);
      const read = must(await reapitAgency.getRecord({ externalId: inReapit.externalId }));
      must(
        await reapitAgency.update({
          externalId: inReapit.externalId,
          patch: { mobilePhone: '07700 900123' },
          version: read.version,
          signal: new AbortController().signal,
        }),
      );

      await auditedCycle(reapit);
      const loopCycle = await auditedCycle(loop);
      const [link] = must(
        await store.getLinksByExternalIds({
          tenantId: loop.tenantId,
          connectionId: loop.connectionId,
          externalIds: [inLoop.externalId],
        }),
      );
      if (link === undefined) throw new Error('the Loop record was not linked');
      const [contact] = must(await store.getContacts({ tenantId: loop.tenantId, ids: [link.contactId] }));
      expect(loopCycle?.conflicts).toContainEqual(
        expect.objectContaining({
          contactId: link.contactId,
          field: 'marketingConsent',
          crm: 'deny',
          local: 'grant',
          winner: 'crm',
          reason: 'both-changed-resolved-by-withdrawal',
        }),
      );
      expect(contact?.contact.marketingConsent).toBe('deny');
      expect(
        must(await agencyClient('loop', loop.sim).getRecord({ externalId: inLoop.externalId })).contact
          .marketingConsent,
      ).toBe('deny');
    } finally {
      await loop.close();
      await reapit.close();
      await store.close();
    }
  }, 120_000);
});

describe('a contact import line with consent withdrawn, matching a contact with consent granted', () => {
  it('keeps the withdrawal', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 6, seed: 3 } });
    try {
      await auditedCycle(h);
      const contacts = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 50 }));
      const granted = contacts.find(
        (c) =>
          c.contact.marketingConsent === 'grant' &&
          c.contact.email !== null &&
          c.contact.firstName !== null &&
          c.contact.status === 'active',
      );
      if (granted === undefined) throw new Error('no synced contact with consent granted');
      const imported = await importContacts(h.store, {
        tenantId: h.tenantId,
        lines: [
          {
            line: 1,
            value: canonicalContactSchema.parse({
              firstName: granted.contact.firstName,
              lastName: granted.contact.lastName,
              email: granted.contact.email,
              marketingConsent: 'deny',
              emailOpens: 3,
            }),
          },
        ],
        now: new Date(),
      });
      expect(imported.matched).toEqual([
        expect.objectContaining({
          matchedId: granted.id,
          engagementAdded: ['emailOpens'],
          consentWithdrawn: true,
        }),
      ]);
      await auditedCycle(h);
      const [after] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [granted.id] }));
      expect(after?.contact.emailOpens).toBe(3);
      expect(after?.contact.marketingConsent).toBe('deny');
      // And the withdrawal reaches Reapit.
      const externalId = granted.links[0]?.externalId ?? '';
      const record = must(await agencyClient('reapit', h.sim).getRecord({ externalId }));
      expect(record.contact.marketingConsent).toBe('deny');
    } finally {
      await h.close();
    }
  }, 120_000);
});
