import { expect, it } from 'vitest';
import { rewritingListings, type Wire } from '../support/listingRewrite.ts';
import { useSharedStore } from '../support/sharedStore.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

const UNREADABLE = '31/05/2025 10:00';

/**
 * Loop: a run of 150 records sharing one `updatedAt` is longer than a page (100), so page 2 is read with page 1
 * again. A malformed record of page 1 read three times in the cycle is one record quarantined: the cycle's
 * `quarantined` count said 3 beside one audit error and one quarantine entry (docs/api.md: "records that failed
 * their schema").
 */
const sharedStore = useSharedStore();

it('loop: a malformed record on a page read twice in one cycle counts as one quarantined record', async () => {
  let broken: string | null = null;
  let listings = 0;
  const h = await createSyncHarness('loop', {
    simulator: { contacts: 150, sameModified: 150, seed: 5 },
    store: sharedStore(),
    runner: {
      providerOptions: rewritingListings('/contacts', (page) => {
        listings += 1;
        const items = page.results as Wire[];
        broken ??= String(items[0]?.id);
        for (const item of items) if (item.id === broken) item.updatedAt = UNREADABLE;
      }),
    },
  });
  try {
    const run = must(await h.run());
    expect(run.state).toBe('idle');
    // Page 1 was read more than once: the premise.
    expect(listings).toBeGreaterThan(2);
    const quarantine = must(await h.store.listQuarantine({ tenantId: h.tenantId, limit: 10 }));
    expect(quarantine.map((q) => q.externalId)).toEqual([broken]);
    const [entry] = must(await h.store.listAudit({ tenantId: h.tenantId })).entries;
    const notes = entry?.body.errors.map((e) => e.message) ?? [];
    expect(notes.filter((m) => m.startsWith(`quarantined ${broken}: `))).toHaveLength(1);
    expect(entry?.body.fetched).toBe(149);
    expect(run.context.lastAudit?.counts).toMatchObject({ fetched: 149, quarantined: 1 });
  } finally {
    await h.close();
  }
}, 120_000);
