import { describe, expect, it } from 'vitest';
import type { CanonicalContact } from '../../src/core/schemas.ts';
import { agencyClient } from '../support/simulators.ts';
import {
  auditedCycle,
  createSyncHarness,
  editContact,
  must,
  type SyncHarness,
} from '../support/syncHarness.ts';

/**
 * A NurtureHub change the CRM refuses one field of (a documented refusal: an e-mail clear Loop would read back as its
 * second address, a surname Reapit cannot clear) must not hold back the rest of the change. The person's consent
 * withdrawal, made in the same edit or later, is a change made on one side only, and "always reaches the other side"
 * (docs/sync-semantics.md): otherwise the agency goes on marketing to someone who unsubscribed.
 */

async function linkedPerson(h: SyncHarness, wanted: (c: CanonicalContact) => boolean) {
  const contacts = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 50 }));
  const person = contacts.find(
    (c) =>
      c.links.length === 1 &&
      c.contact.status === 'active' &&
      c.contact.lastName !== null &&
      c.contact.email !== null &&
      c.contact.marketingConsent !== 'deny' &&
      wanted(c.contact),
  );
  const externalId = person?.links[0]?.externalId;
  if (person === undefined || externalId === undefined) throw new Error('no linked person to edit');
  return { contactId: person.id, externalId, contact: person.contact };
}

async function recordOf<T>(h: SyncHarness, externalId: string): Promise<T> {
  const records = (await h.sim.control.records()) as Array<{ id: string }>;
  const record = records.find((r) => r.id === externalId);
  if (record === undefined) throw new Error(`no record ${externalId}`);
  return record as T;
}

describe('a NurtureHub edit with one field the CRM refuses', () => {
  it('Loop: "remove my e-mail and stop marketing to me" withdraws consent in Loop, which holds a second address', async () => {
    const h = await createSyncHarness('loop', { simulator: { contacts: 8, seed: 5 } });
    try {
      await auditedCycle(h);
      const person = await linkedPerson(h, () => true);
      // The agency keeps a second address for the person in Loop.
      const apiKey = String(h.sim.credentials.apiKey);
      const put = await fetch(`${h.sim.baseUrl}/api/contacts/${encodeURIComponent(person.externalId)}`, {
        method: 'PUT',
        headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ emails: [person.contact.email, 'second.address@example.org'] }),
      });
      expect(put.status).toBe(200);
      await auditedCycle(h);

      // One edit in NurtureHub: the address cleared and consent withdrawn.
      await editContact(h, person.contactId, { email: null, marketingConsent: 'deny' });
      const edited = await auditedCycle(h);
      // The e-mail clear is refused, as docs/providers.md (Loop) says.
      expect(edited?.errors).toEqual([
        expect.objectContaining({ message: expect.stringMatching(/clearing it would make its second one/) }),
      ]);
      // The consent withdrawal reaches Loop.
      expect((await recordOf<{ marketingConsent: unknown }>(h, person.externalId)).marketingConsent).toBe(
        false,
      );

      // And so does a later edit of the person in NurtureHub.
      await editContact(h, person.contactId, { title: 'Dr' });
      await auditedCycle(h);
      expect(
        await recordOf<{ title: unknown; marketingConsent: unknown }>(h, person.externalId),
      ).toMatchObject({
        title: 'Dr',
        marketingConsent: false,
      });
    } finally {
      await h.close();
    }
  }, 120_000);

  it('Reapit: after a surname clear Reapit refused, a consent withdrawal and an intent score still reach Reapit', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 8, seed: 3 } });
    try {
      await auditedCycle(h);
      const person = await linkedPerson(h, () => true);
      await editContact(h, person.contactId, { lastName: null });
      const cleared = await auditedCycle(h);
      // Documented: Reapit refuses the clear (422), NurtureHub keeps its edit.
      expect(cleared?.errors).toEqual([
        expect.objectContaining({ message: expect.stringMatching(/surname/), retry: false }),
      ]);

      // Later the person unsubscribes, and NurtureHub scores them.
      await editContact(h, person.contactId, { marketingConsent: 'deny', intentScore: 90 });
      await auditedCycle(h);
      const record = await recordOf<{
        marketingConsent: unknown;
        metadata?: { nurturehub?: { intentScore?: unknown } };
      }>(h, person.externalId);
      expect(record.marketingConsent).toBe('deny');
      expect(record.metadata?.nurturehub?.intentScore).toBe(90);
    } finally {
      await h.close();
    }
  }, 120_000);

  it('Street: after a first-name clear Street refused, a consent withdrawal still reaches Street', async () => {
    const h = await createSyncHarness('street', {
      simulator: { contacts: 8, seed: 11 },
      // Street stamps whole seconds: our clock ahead, so each window takes in what came before it.
      runner: { clock: () => new Date(Date.now() + 2_000) },
    });
    try {
      await auditedCycle(h);
      const person = await linkedPerson(h, (c) => c.firstName !== null && c.marketingConsent === 'grant');
      await editContact(h, person.contactId, { firstName: null });
      const cleared = await auditedCycle(h);
      expect(cleared?.errors).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(/Street requires a first name/),
          retry: false,
        }),
      ]);

      await editContact(h, person.contactId, { marketingConsent: 'deny' });
      await auditedCycle(h);
      const record = await recordOf<{ attributes: { marketing_consent: unknown } }>(h, person.externalId);
      expect(record.attributes.marketing_consent).toBe(false);
    } finally {
      await h.close();
    }
  }, 120_000);

  it('Reapit and Loop: a consent withdrawal made in Reapit reaches Loop after Loop refused a mobile cleared in Reapit', async () => {
    const reapit = await createSyncHarness('reapit', { simulator: { contacts: 6, seed: 4 } });
    // The same generator and seed: the two CRMs hold the same people.
    const loop = await createSyncHarness('loop', {
      store: reapit.store,
      tenantId: reapit.tenantId,
      simulator: { contacts: 6, seed: 4 },
    });
    try {
      for (const h of [reapit, loop, reapit]) await auditedCycle(h);
      const contacts = must(await reapit.store.listContacts({ tenantId: reapit.tenantId, limit: 20 }));
      const person = contacts.find(
        (c) =>
          c.links.length === 2 &&
          c.contact.status === 'active' &&
          c.contact.mobilePhone !== null &&
          c.contact.marketingConsent === 'grant',
      );
      if (person === undefined) throw new Error('the seeds give no shared person with a mobile and consent');
      const inReapit = person.links.find((l) => l.connectionId === reapit.connectionId)?.externalId ?? '';
      const inLoop = person.links.find((l) => l.connectionId === loop.connectionId)?.externalId ?? '';

      // Loop holds a second mobile number for the person.
      const held = await recordOf<{ phones: Array<{ type: string; number: string }> }>(loop, inLoop);
      const put = await fetch(`${loop.sim.baseUrl}/api/contacts/${encodeURIComponent(inLoop)}`, {
        method: 'PUT',
        headers: { 'x-api-key': String(loop.sim.credentials.apiKey), 'content-type': 'application/json' },
        body: JSON.stringify({ phones: [...held.phones, { type: 'mobile', number: '07700 900999' }] }),
      });
      expect(put.status).toBe(200);
      await auditedCycle(loop);

      // The person asks not to be called: the agency clears the mobile in Reapit. Loop refuses the clear, which would
      // make its second mobile the person's (documented, docs/providers.md, Loop).
      const agency = agencyClient('reapit', reapit.sim);
      const before = must(await agency.getRecord({ externalId: inReapit }));
      must(
        await agency.update({ externalId: inReapit, patch: { mobilePhone: null }, version: before.version }),
      );
      await auditedCycle(reapit);
      const refused = await auditedCycle(loop);
      expect(refused?.errors).toEqual([
        expect.objectContaining({ message: expect.stringMatching(/clearing it would make its second one/) }),
      ]);

      // Later the person withdraws marketing consent, recorded in Reapit.
      const now = must(await agency.getRecord({ externalId: inReapit }));
      must(
        await agency.update({
          externalId: inReapit,
          patch: { marketingConsent: 'deny' },
          version: now.version,
        }),
      );
      await auditedCycle(reapit);
      const [local] = must(await reapit.store.getContacts({ tenantId: reapit.tenantId, ids: [person.id] }));
      expect(local?.contact.marketingConsent).toBe('deny');
      await auditedCycle(loop);
      expect((await recordOf<{ marketingConsent: unknown }>(loop, inLoop)).marketingConsent).toBe(false);
    } finally {
      await loop.close();
      await reapit.close();
    }
  }, 120_000);
});
