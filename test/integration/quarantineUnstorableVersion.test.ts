import { describe, expect, it } from 'vitest';
import { rewritingListings, type Wire } from '../support/listingRewrite.ts';
import { agencyClient } from '../support/simulators.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A Reapit record whose `_eTag` holds text the store cannot hold (U+0000) is quarantined (docs/sync-semantics.md,
 * "Invalid input") under its id, which is readable and storable. It was quarantined as "a record without an id",
 * keyed by a digest of its payload, so when the CRM listed it valid again the fetch's release, by external id,
 * missed it and the entry stayed for good.
 */
describe('a Reapit record with an unstorable ETag', () => {
  it('is quarantined under its id, and released once listed valid', async () => {
    let corrupt = true;
    let broken: string | null = null;
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 5, seed: 5 },
      runner: {
        providerOptions: rewritingListings('/contacts/', (page) => {
          const first = (page._embedded as Wire[])[0];
          if (!corrupt || first === undefined) return;
          broken ??= String(first.id);
          if (first.id === broken) first._eTag = `${first._eTag}\u0000`;
        }),
      },
    });
    try {
      expect(must(await h.run()).state).toBe('idle');
      const held = must(await h.store.listQuarantine({ tenantId: h.tenantId, limit: 10 }));
      expect(held.map((q) => q.externalId)).toEqual([broken]);

      // The agency edits the record; the CRM lists it again, its ETag readable now.
      corrupt = false;
      const raws = (await h.sim.control.records()) as Array<{ id: string; _eTag: string }>;
      const version = raws.find((r) => r.id === broken)?._eTag ?? null;
      const edited = await agencyClient('reapit', h.sim).update({
        externalId: broken ?? '',
        patch: { title: 'Dr' },
        version,
      });
      expect(edited.ok).toBe(true);
      expect(must(await h.run()).state).toBe('idle');
      expect(must(await h.store.listQuarantine({ tenantId: h.tenantId, limit: 10 }))).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
