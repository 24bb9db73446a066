import { describe, expect, it } from 'vitest';
import type { ProviderName } from '../../src/providers/provider.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

/**
 * An agency connects Reapit and Loop the same day. A person withdrew consent long ago, recorded in Loop; since then
 * they gave it again to an agent, who recorded the grant in Reapit. Nobody unsubscribed in NurtureHub. The records
 * disagree and `modified` dates a whole record, not its consent, so which is the later decision cannot be shown: a
 * withdrawal wins a conflict over consent (docs/sync-semantics.md, "Three-way merge"), and the outcome is the same
 * whichever CRM syncs first. Before, it hung on the order: Reapit first kept the grant (recency), Loop first the
 * deny. A grant recorded once both are synced is a change on one side only and flows everywhere (the last step).
 */
async function firstLoad(order: ProviderName[], linkedFirst = false) {
  const reapit = await createSyncHarness('reapit', { simulator: { contacts: 6, seed: 4 } });
  const loop = await createSyncHarness('loop', {
    store: reapit.store,
    tenantId: reapit.tenantId,
    simulator: { contacts: 6, seed: 4 },
  });
  const byName: Record<string, SyncHarness> = { reapit, loop };
  try {
    const loopRecords = (await loop.sim.control.records()) as Array<{ id: string; emails?: string[] }>;
    const reapitRecords = (await reapit.sim.control.records()) as Array<{ id: string; email?: string }>;
    const person = reapitRecords.find(
      (r) => r.email !== undefined && loopRecords.some((l) => (l.emails ?? []).includes(r.email as string)),
    );
    const inLoop = loopRecords.find((l) => (l.emails ?? []).includes(person?.email ?? '\u0000'));
    if (person === undefined || inLoop === undefined) throw new Error('the seeds give no shared person');

    const setLoop = async (marketingConsent: boolean | null) => {
      const response = await fetch(`${loop.sim.baseUrl}/api/contacts/${encodeURIComponent(inLoop.id)}`, {
        method: 'PUT',
        headers: { 'x-api-key': String(loop.sim.credentials.apiKey), 'content-type': 'application/json' },
        body: JSON.stringify({ marketingConsent }),
      });
      expect(response.status).toBe(200);
    };
    if (linkedFirst) {
      // Linked before either edit, neither side asked.
      await setLoop(null);
      const before = must(await agencyClient('reapit', reapit.sim).getRecord({ externalId: person.id }));
      must(
        await agencyClient('reapit', reapit.sim).update({
          externalId: person.id,
          patch: { marketingConsent: 'notAsked' },
          version: before.version,
        }),
      );
      for (let i = 0; i < 2; i++) for (const name of order) await auditedCycle(byName[name] as SyncHarness);
    }
    // Earlier: the withdrawal, recorded in Loop.
    const put = await fetch(`${loop.sim.baseUrl}/api/contacts/${encodeURIComponent(inLoop.id)}`, {
      method: 'PUT',
      headers: { 'x-api-key': String(loop.sim.credentials.apiKey), 'content-type': 'application/json' },
      body: JSON.stringify({ marketingConsent: false }),
    });
    expect(put.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // Later: the person gives consent again, recorded by an agent in Reapit.
    const agency = agencyClient('reapit', reapit.sim);
    const read = must(await agency.getRecord({ externalId: person.id }));
    must(
      await agency.update({
        externalId: person.id,
        patch: { marketingConsent: 'grant' },
        version: read.version,
      }),
    );

    const consentEverywhere = async () => {
      for (let i = 0; i < 3; i++) for (const name of order) await auditedCycle(byName[name] as SyncHarness);
      const contacts = must(await reapit.store.listContacts({ tenantId: reapit.tenantId, limit: 20 }));
      const contact = contacts.find((c) => c.links.some((l) => l.externalId === person.id));
      const loopNow = (
        (await loop.sim.control.records()) as Array<{ id: string; marketingConsent: unknown }>
      ).find((l) => l.id === inLoop.id);
      return {
        links: contact?.links.length,
        nurtureHub: contact?.contact.marketingConsent,
        reapit: must(await agency.getRecord({ externalId: person.id })).contact.marketingConsent,
        loop: loopNow?.marketingConsent,
      };
    };
    const disagreeing = await consentEverywhere();
    // The agent records the grant again, now that both CRMs are synced: a change on one side only.
    const again = must(await agency.getRecord({ externalId: person.id }));
    must(
      await agency.update({
        externalId: person.id,
        patch: { marketingConsent: 'grant' },
        version: again.version,
      }),
    );
    return { disagreeing, regranted: await consentEverywhere() };
  } finally {
    await loop.close();
    await reapit.close();
  }
}

describe('a consent grant in one CRM and a deny in another, neither made in NurtureHub', () => {
  it.each([
    ['first (Reapit first)', ['reapit', 'loop']],
    ['second (Loop first)', ['loop', 'reapit']],
  ] as Array<[string, ProviderName[]]>)(
    'ends in deny everywhere when the CRM holding the grant syncs %s',
    async (_, order) => {
      expect(await firstLoad(order)).toEqual({
        disagreeing: { links: 2, nurtureHub: 'deny', reapit: 'deny', loop: false },
        regranted: { links: 2, nurtureHub: 'grant', reapit: 'grant', loop: true },
      });
    },
    60_000,
  );

  it.each([
    ['first (Reapit first)', ['reapit', 'loop']],
    ['second (Loop first)', ['loop', 'reapit']],
  ] as Array<[string, ProviderName[]]>)(
    'a linked person: ends in deny everywhere when the CRM holding the grant syncs %s',
    async (_, order) => {
      expect(await firstLoad(order, true)).toEqual({
        disagreeing: { links: 2, nurtureHub: 'deny', reapit: 'deny', loop: false },
        regranted: { links: 2, nurtureHub: 'grant', reapit: 'grant', loop: true },
      });
    },
    90_000,
  );
});
