import { describe, expect, it } from 'vitest';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { agencyClient } from '../support/simulators.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * Reapit applies a create in the background [R1] ("often asynchronous"), and the record keeps the create's
 * `modified` (ASSUMPTION, as the simulator models it with `createVisibleAfterMs`). A contact another app creates (a
 * portal's lead importer, the agency's website) is therefore shown after a cycle may have passed its instant: a
 * negotiator's later edit of another contact moves the cursor past it. The fetch reads `createSettleMs` (60 s)
 * before the cursor, so the next cycle after Reapit shows it brings it in; the records read again unchanged are
 * dropped at fetch, so nothing else is written.
 */
const VISIBLE_AFTER_MS = 2_500;

describe('a Reapit contact another app created, shown after a cycle passed its instant', () => {
  it('reaches NurtureHub at the next cycle after Reapit shows it, nothing else written', async () => {
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 10, seed: 5, createVisibleAfterMs: VISIBLE_AFTER_MS },
    });
    try {
      expect(must(await h.run()).state).toBe('idle');
      const agency = agencyClient('reapit', h.sim);
      const lead = canonicalContactSchema.parse({
        firstName: 'Imogen',
        lastName: 'Portalby',
        email: 'imogen.portalby@example.co.uk',
        marketingConsent: 'grant',
      });
      must(await agency.create({ contact: lead, reference: 'portal-1' }));
      const records = (await h.sim.control.records()) as Array<{
        id: string;
        _eTag: string;
        surname?: string;
      }>;
      const other = records.find((r) => r.surname !== 'Portalby') ?? expect.unreachable();
      await new Promise((r) => setTimeout(r, 20));
      must(await agency.update({ externalId: other.id, patch: { title: 'Dr' }, version: other._eTag }));
      // A cycle while Reapit is still applying the create: it stages the edit, and its cursor passes the lead.
      expect(must(await h.run()).state).toBe('idle');
      await new Promise((r) => setTimeout(r, VISIBLE_AFTER_MS + 200));
      const writesBefore = (await h.sim.control.stats()).writes;

      const next = must(await h.run());
      expect(next.state).toBe('idle');
      const contacts = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 100 }));
      expect(contacts.map((c) => c.contact.lastName)).toContain('Portalby');
      // Only the lead was new to the cycle: the contacts read again before the cursor were dropped unchanged.
      expect(next.context.lastAudit?.counts).toMatchObject({ fetched: 1, upserts: 1 });
      expect((await h.sim.control.stats()).writes).toBe(writesBefore);
    } finally {
      await h.close();
    }
  });
});
