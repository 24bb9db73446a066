import { expect, it } from 'vitest';
import { setConsent } from '../support/agentosConsent.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * agentOS lists an applicant without third-party-marketing consent as removed, with no details. First seen so, the
 * contact was created archived; agentOS holds no status, so nothing it listed later could set it back, and the person
 * stayed archived for good once they had given consent. A CRM without a status gives none, on a create either.
 */
it('keeps an applicant first listed without consent active, with their details once they consent', async () => {
  const h = await createSyncHarness('agentos', { simulator: { contacts: 20, seed: 7 } });
  try {
    const applicants = (await h.sim.control.records()) as Array<{
      OID: string;
      ThirdPartyMarketing: unknown;
    }>;
    const withheld = applicants.find((a) => a.ThirdPartyMarketing !== true);
    if (withheld === undefined) throw new Error('the seed gives no applicant without consent');
    const contactOf = async () =>
      must(await h.store.listContacts({ tenantId: h.tenantId, limit: 200 })).find((c) =>
        c.links.some((l) => l.externalId === withheld.OID),
      )?.contact;

    await auditedCycle(h);
    expect(await contactOf()).toMatchObject({ marketingConsent: 'deny', status: 'active', lastName: null });

    await setConsent(h, [withheld.OID], true);
    await auditedCycle(h);
    const consented = await contactOf();
    expect(consented).toMatchObject({ marketingConsent: 'grant', status: 'active' });
    expect(consented?.lastName).not.toBeNull();
  } finally {
    await h.close();
  }
}, 60_000);
