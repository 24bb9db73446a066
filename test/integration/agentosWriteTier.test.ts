import { describe, expect, it } from 'vitest';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

const LEAD_ID = '8a2d4c6e-1f3b-5a7c-9e0d-2b4c6e8f0a1c';
const LEAD_EMAIL = 'tomasz.nowak@example.org';

/**
 * An agentOS key reaches only the API tiers the agency enabled; elsewhere it gets 401 [G1]. A key that reads
 * (`contacts`) but lacks the write tier (`applications`) stopped the whole connection in `auth_failed` at its first
 * create, reads included, with a message that did not say what was wrong. Now the writes are held and noted with
 * what to enable, the reads go on, and the held create goes out in the first cycle after the tier is enabled.
 */
describe('an agentOS key without the write tier', () => {
  it('keeps reading, holds the create with a note naming the tier, and sends it once the tier is enabled', async () => {
    const h = await createSyncHarness('agentos', { simulator: { contacts: 10, seed: 4 } });
    try {
      const setTiers = async (tiers: string[]) => {
        const response = await fetch(`${h.sim.baseUrl}/_sim/tiers`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ tiers }),
        });
        expect(response.status).toBe(200);
      };
      const copies = async () =>
        (await h.sim.control.records()).filter((r) => JSON.stringify(r).includes(LEAD_EMAIL));

      await auditedCycle(h);
      await setTiers(['contacts']);
      const lead = canonicalContactSchema.parse({
        firstName: 'Tomasz',
        lastName: 'Nowak',
        email: LEAD_EMAIL,
        marketingConsent: 'grant',
      });
      must(
        await h.store.upsertContacts({
          tenantId: h.tenantId,
          contacts: [{ id: LEAD_ID, contact: lead }],
          now: new Date(),
        }),
      );
      const { changed } = await h.sim.control.edits({ count: 3, seed: 8 });

      const held = await auditedCycle(h);
      expect(held?.outcome).toBe('completed');
      expect(held?.fetched).toBeGreaterThan(0);
      expect(held?.written).toMatchObject({ created: 0 });
      expect(held?.errors).toEqual([
        {
          status: 401,
          message: expect.stringMatching(
            /1 write held, tried again next cycle; reads go on: .*lacks the write tier "applications"; enable it for this key in agentOS/,
          ),
          retry: true,
        },
      ]);
      expect(await copies()).toEqual([]);
      // The reads of that cycle were kept: every record the agency changed is linked.
      const links = must(
        await h.store.getLinksByExternalIds({
          tenantId: h.tenantId,
          connectionId: h.connectionId,
          externalIds: changed,
        }),
      );
      expect(links.map((l) => l.externalId).sort()).toEqual([...changed].sort());

      const stillHeld = await auditedCycle(h);
      expect(stillHeld?.errors).toEqual([expect.objectContaining({ status: 401, retry: true })]);

      await setTiers(['contacts', 'applications']);
      const sent = await auditedCycle(h);
      expect(sent?.errors).toEqual([]);
      expect(sent?.written).toMatchObject({ created: 1 });
      expect(await copies()).toHaveLength(1);
    } finally {
      await h.close();
    }
  });
});
