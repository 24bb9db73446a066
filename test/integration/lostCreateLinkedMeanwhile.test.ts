import { describe, expect, it } from 'vitest';
import { idOf, LEAD_ID, lead } from '../support/lostCreate.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

const marker = lead.email ?? '';
/** What the run that took the lease over wrote when it linked the lead: told by its version. */
const HOLDERS_VERSION = 'linked-by-the-holder';

/**
 * Loop, a first sync, then the lead to create. `between(method, url, response)`, once set, runs once, after a call's
 * answer came and before the run reads it: another run linking the lead meanwhile. The first create of the lead is
 * answered and its answer lost when `loseAnswer` is set.
 */
async function racedLead(loseAnswer: boolean) {
  let offsetMs = 0;
  let dropAnswer = loseAnswer;
  const race: { between: ((method: string, url: string, response: Response) => Promise<boolean>) | null } = {
    between: null,
  };
  const racingFetch: typeof fetch = async (input, init) => {
    const method = init?.method ?? 'GET';
    const response = await fetch(input, init);
    if (method === 'POST' && String(init?.body).includes(marker) && dropAnswer) {
      dropAnswer = false;
      throw new TypeError('fetch failed: socket hang up'); // applied, its answer lost
    }
    if (race.between !== null && (await race.between(method, String(input), response.clone())))
      race.between = null;
    return response;
  };
  const h = await createSyncHarness('loop', {
    simulator: { contacts: 20, seed: 3 },
    runner: {
      clock: () => new Date(Date.now() + offsetMs),
      providerOptions: () => ({ fetch: racingFetch }),
    },
  });
  must(await h.run());
  must(
    await h.store.upsertContacts({
      tenantId: h.tenantId,
      contacts: [{ id: LEAD_ID, contact: lead }],
      now: new Date(),
    }),
  );
  const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
  return {
    h,
    race,
    later: () => (offsetMs = 60 * 60 * 1000),
    copies: async () => (await h.sim.control.records()).filter((r) => JSON.stringify(r).includes(marker)),
    linkLead: async (externalId: string) => {
      const link = {
        externalId,
        contactId: LEAD_ID,
        base: lead,
        pushedHashes: {},
        remoteVersion: HOLDERS_VERSION,
        remoteHash: null,
      };
      must(await h.store.upsertLinks({ ...ref, links: [link], now: new Date() }));
    },
    leadLinks: async () => must(await h.store.getLinksByContactIds({ ...ref, contactIds: [LEAD_ID] })),
  };
}

const closing = async (h: SyncHarness, test: () => Promise<void>) => {
  try {
    await test();
  } finally {
    await h.close();
  }
};

/**
 * A run that lost its lease goes on to take the answers of its writes in flight, so the contact may be linked by it
 * while the run that took over acknowledges or looks for the same create.
 */
describe('a create linked to its record by another run meanwhile', () => {
  // Looked for, it was taken for another contact's record, skipped, and the person created twice.
  it('is taken as acknowledged when it is linked while the lost create is looked for', async () => {
    const t = await racedLead(true);
    await closing(t.h, async () => {
      expect(must(await t.h.run()).state).toBe('backoff');
      const [made] = await t.copies();
      expect(made).toBeDefined();
      // The look lists the CRM's changes: the link lands between that answer and its reading.
      t.race.between = async (method, url) => {
        if (method !== 'GET' || !url.includes('/api/contacts?')) return false;
        await t.linkLead(idOf(made));
        return true;
      };
      t.later();
      expect(must(await t.h.run()).state).toBe('idle');
      expect(t.race.between).toBeNull();
      expect(await t.copies()).toHaveLength(1);
      expect((await t.leadLinks()).map((l) => l.externalId)).toEqual([idOf(made)]);
    });
  });

  // Acknowledged, the late answer wrote its own base and version over the link the other run keeps.
  it("leaves that run's link as it is when the create's answer comes after it", async () => {
    const t = await racedLead(false);
    await closing(t.h, async () => {
      t.race.between = async (method, _url, response) => {
        if (method !== 'POST') return false;
        await t.linkLead(String(((await response.json()) as { id: string }).id));
        return true;
      };
      expect(must(await t.h.run()).state).toBe('idle');
      expect(t.race.between).toBeNull();
      const [made] = await t.copies();
      expect(await t.copies()).toHaveLength(1);
      expect((await t.leadLinks()).map((l) => [l.externalId, l.remoteVersion])).toEqual([
        [idOf(made), HOLDERS_VERSION],
      ]);
    });
  });
});
