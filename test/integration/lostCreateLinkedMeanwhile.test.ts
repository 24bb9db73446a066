import { describe, expect, it } from 'vitest';
import { idOf, LEAD_ID, lead } from '../support/lostCreate.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A create whose answer was lost is looked for before it is sent again. If, while the look lists the CRM's changes,
 * the contact is linked to the record (another run, its lease lost, acknowledging the create's answer late), that
 * record is the contact's own: it was taken for another contact's record, skipped, and the person created twice.
 */
describe('a lost create linked to its record while it is looked for', () => {
  it('is taken as acknowledged, not sent again', async () => {
    const marker = lead.email ?? '';
    let offsetMs = 0;
    let dropAnswer = true;
    let onScan: (() => Promise<void>) | null = null;
    const racingFetch: typeof fetch = async (input, init) => {
      const method = init?.method ?? 'GET';
      const creatingLead = method === 'POST' && String(init?.body).includes(marker);
      const response = await fetch(input, init);
      if (creatingLead && dropAnswer) {
        dropAnswer = false;
        throw new TypeError('fetch failed: socket hang up'); // applied, its answer lost
      }
      const linking = method === 'GET' && String(input).includes('/api/contacts?') ? onScan : null;
      onScan = null;
      await linking?.();
      return response;
    };
    const h = await createSyncHarness('loop', {
      simulator: { contacts: 20, seed: 3 },
      runner: {
        clock: () => new Date(Date.now() + offsetMs),
        providerOptions: () => ({ fetch: racingFetch }),
      },
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      must(await h.run());
      must(
        await h.store.upsertContacts({
          tenantId: h.tenantId,
          contacts: [{ id: LEAD_ID, contact: lead }],
          now: new Date(),
        }),
      );
      expect(must(await h.run()).state).toBe('backoff');
      const copies = async () =>
        (await h.sim.control.records()).filter((r) => JSON.stringify(r).includes(marker));
      const [made] = await copies();
      expect(made).toBeDefined();

      onScan = async () => {
        const link = {
          externalId: idOf(made),
          contactId: LEAD_ID,
          base: lead,
          pushedHashes: {},
          remoteVersion: null,
          remoteHash: null,
        };
        must(await h.store.upsertLinks({ ...ref, links: [link], now: new Date() }));
      };
      offsetMs = 60 * 60 * 1000;
      expect(must(await h.run()).state).toBe('idle');
      expect(onScan).toBeNull();
      expect(await copies()).toHaveLength(1);
      const links = must(await h.store.getLinksByContactIds({ ...ref, contactIds: [LEAD_ID] }));
      expect(links.map((l) => l.externalId)).toEqual([idOf(made)]);
    } finally {
      await h.close();
    }
  });
});
