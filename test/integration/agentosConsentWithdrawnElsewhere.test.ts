import { describe, expect, it } from 'vitest';
import type { CanonicalContact } from '../../src/core/schemas.ts';
import { setConsent } from '../support/agentosConsent.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * An agency on agentOS and Reapit at once, one person in both. agentOS lists a person who withdrew third-party-marketing
 * consent without any personal details, and the engine read that as agentOS clearing them: NurtureHub's contact was
 * emptied, and the next Reapit cycle sent the emptying on, clearing the person in Reapit (refused only where Reapit
 * requires a surname).
 */

type Applicant = { OID: string; ThirdPartyMarketing: unknown };
type ReapitRecord = {
  id: string;
  forename?: string;
  surname?: string;
  email?: string;
  marketingConsent?: string;
};

const details = (c: CanonicalContact) => ({
  title: c.title,
  firstName: c.firstName,
  lastName: c.lastName,
  email: c.email,
  mobilePhone: c.mobilePhone,
  homePhone: c.homePhone,
  workPhone: c.workPhone,
  address: c.address,
});

describe('a person withdrawing consent in agentOS whom Reapit holds too', () => {
  it('denies consent in NurtureHub and Reapit and clears none of their details; agentOS alone still clears', async () => {
    const reapit = await createSyncHarness('reapit', { simulator: { contacts: 30, seed: 7 } });
    // The same generator and seed: Reapit's 30 people are agentOS's first 30; its other 20 are in agentOS only.
    const agentos = await createSyncHarness('agentos', {
      simulator: { contacts: 50, seed: 7 },
      store: reapit.store,
      tenantId: reapit.tenantId,
    });
    try {
      const { tenantId } = reapit;
      for (const h of [reapit, agentos, reapit, agentos]) await auditedCycle(h);
      const applicants = (await agentos.sim.control.records()) as Applicant[];
      const consenting = new Set(applicants.filter((a) => a.ThirdPartyMarketing === true).map((a) => a.OID));
      const contacts = must(await reapit.store.listContacts({ tenantId, limit: 200 }));
      const agentosLink = (c: (typeof contacts)[number]) =>
        c.links.find((l) => l.connectionId === agentos.connectionId && consenting.has(l.externalId));
      const both = contacts.find((c) => agentosLink(c) && c.links.length === 2 && c.contact.email !== null);
      const agentosOnly = contacts.find(
        (c) => agentosLink(c) && c.links.length === 1 && c.contact.email !== null,
      );
      if (both === undefined || agentosOnly === undefined) throw new Error('the seeds give no such people');
      const reapitId = both.links.find((l) => l.connectionId === reapit.connectionId)?.externalId ?? '';
      const reapitBefore = ((await reapit.sim.control.records()) as ReapitRecord[]).find(
        (r) => r.id === reapitId,
      );
      expect(reapitBefore?.marketingConsent).toBe('grant');

      await setConsent(
        agentos,
        [agentosLink(both)?.externalId ?? '', agentosLink(agentosOnly)?.externalId ?? ''],
        false,
      );
      const fromAgentos = await auditedCycle(agentos);
      const fromReapit = await auditedCycle(reapit);

      const held = new Map(
        must(await reapit.store.getContacts({ tenantId, ids: [both.id, agentosOnly.id] })).map((c) => [
          c.id,
          c.contact,
        ]),
      );
      // Before: every detail null, and Reapit sent a PATCH clearing them (422 for the surname it requires).
      expect(held.get(both.id)).toMatchObject({ ...details(both.contact), marketingConsent: 'deny' });
      expect(fromAgentos?.errors).toEqual([]);
      expect(fromReapit?.errors).toEqual([]);
      const reapitAfter = ((await reapit.sim.control.records()) as ReapitRecord[]).find(
        (r) => r.id === reapitId,
      );
      expect(reapitAfter).toEqual({
        ...reapitBefore,
        marketingConsent: 'deny',
        modified: expect.any(String),
        _eTag: expect.any(String),
      });
      // Held by agentOS alone, the person's details are still not kept once agentOS no longer shows them.
      expect(held.get(agentosOnly.id)).toMatchObject({
        firstName: null,
        lastName: null,
        email: null,
        marketingConsent: 'deny',
      });

      // Consent given again: agentOS shows the same details, and the consent comes back everywhere.
      await setConsent(agentos, [agentosLink(both)?.externalId ?? ''], true);
      await auditedCycle(agentos);
      await auditedCycle(reapit);
      const revived = must(await reapit.store.getContacts({ tenantId, ids: [both.id] }))[0]?.contact;
      expect(revived).toMatchObject({ ...details(both.contact), marketingConsent: 'grant' });
      const reapitRevived = ((await reapit.sim.control.records()) as ReapitRecord[]).find(
        (r) => r.id === reapitId,
      );
      expect(reapitRevived?.marketingConsent).toBe('grant');
      expect(reapitRevived?.email).toBe(reapitBefore?.email);
    } finally {
      await agentos.close();
      await reapit.close();
    }
  }, 120_000);
});
