import { describe, expect, it } from 'vitest';
import type { ProviderName } from '../../src/providers/provider.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

/**
 * An agency connects Reapit and Alto on the same day. Both hold the same people (the simulators are seeded alike),
 * but one person's e-mail was changed in Reapit before crm-sync was connected: Reapit's record is the later edit,
 * Alto's copy the older one. Whichever CRM syncs first, the later edit ends up everywhere. With Reapit first, its
 * record created the contact undated, so Alto's first link took Alto's older address by ownership, put it in
 * NurtureHub and sent it over Reapit's: the agency's current address was lost in both CRMs.
 */
async function firstLoad(order: ProviderName[]) {
  const reapit = await createSyncHarness('reapit', { simulator: { contacts: 5, seed: 4 } });
  const alto = await createSyncHarness('alto', {
    store: reapit.store,
    tenantId: reapit.tenantId,
    simulator: { contacts: 5, seed: 4 },
  });
  const { store, tenantId } = reapit;
  const byName: Record<string, SyncHarness> = { reapit, alto };
  try {
    const agency = agencyClient('reapit', reapit.sim);
    const records = (await reapit.sim.control.records()) as Array<{ id: string; email?: string }>;
    const altoRecords = JSON.stringify(await alto.sim.control.records()).toLowerCase();
    const person = records.find((r) => r.email && altoRecords.includes(r.email.toLowerCase()));
    if (person?.email === undefined) throw new Error('the seeds give no shared person with an e-mail');
    const oldEmail = person.email;
    const newEmail = 'moved.on@example.org';
    const read = must(await agency.getRecord({ externalId: person.id }));
    must(await agency.update({ externalId: person.id, patch: { email: newEmail }, version: read.version }));
    for (let i = 0; i < 3; i++) for (const name of order) await auditedCycle(byName[name] as SyncHarness);
    const contacts = must(await store.listContacts({ tenantId, limit: 20 }));
    const contact = contacts.find((c) => c.links.some((l) => l.externalId === person.id));
    const reapitNow = must(await agency.getRecord({ externalId: person.id })).contact.email;
    const altoHolds = JSON.stringify(await alto.sim.control.records()).toLowerCase();
    return {
      nurtureHub: contact?.contact.email,
      reapit: reapitNow,
      altoHoldsNew: altoHolds.includes(newEmail),
      altoHoldsOld: altoHolds.includes(oldEmail.toLowerCase()),
      links: contact?.links.length,
      newEmail,
    };
  } finally {
    await alto.close();
    await reapit.close();
  }
}

describe('two CRMs connected together, one holding a later edit made before the first sync', () => {
  it.each([
    ['second (Alto first)', ['alto', 'reapit']],
    ['first (Reapit first)', ['reapit', 'alto']],
  ] as Array<[string, ProviderName[]]>)(
    'keeps the later edit when the CRM holding it syncs %s',
    async (_, order) => {
      const outcome = await firstLoad(order);
      expect(outcome.links).toBe(2);
      expect(outcome).toMatchObject({
        nurtureHub: outcome.newEmail,
        reapit: outcome.newEmail,
        altoHoldsNew: true,
        altoHoldsOld: false,
      });
    },
    60_000,
  );
});
