import { describe, expect, it } from 'vitest';
import type { ProviderName } from '../../src/providers/provider.ts';
import { rewritingListings, type Wire } from '../support/listingRewrite.ts';
import { useSharedStore } from '../support/sharedStore.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/** A stamp no listing can place: a UK-format date from a broken export. */
const UNREADABLE = '31/05/2025 10:00';

/** The stamp without its zone designator: UK local time, as an export or a misconfigured server writes it. */
const zoneless = (stamp: string) => stamp.replace(/(Z|[+-]\d{2}:\d{2})$/, '');

/**
 * Each listing provider, with where its listing page holds its records and their `modified` stamp. The record's
 * stamp is written over on the wire, between the real simulator and the adapter.
 */
const cases: Array<{
  provider: ProviderName;
  path: string;
  items: (page: Wire) => Wire[];
  stamp: (item: Wire) => Wire;
  field: string;
}> = [
  {
    provider: 'reapit',
    path: '/contacts/',
    items: (p) => p._embedded as Wire[],
    stamp: (i) => i,
    field: 'modified',
  },
  {
    provider: 'alto',
    path: '/contacts/all',
    items: (p) => p.items as Wire[],
    stamp: (i) => i,
    field: 'modifiedAt',
  },
  {
    provider: 'loop',
    path: '/contacts',
    items: (p) => p.results as Wire[],
    stamp: (i) => i,
    field: 'updatedAt',
  },
  {
    provider: 'street',
    path: '/people',
    items: (p) => p.data as Wire[],
    stamp: (i) => i.attributes as Wire,
    field: 'updated_at',
  },
];

/**
 * A listed record whose `modified` stamp is no instant fails its schema, and is quarantined under its id and
 * listed in the cycle's audit errors, as any malformed record (docs/sync-semantics.md, "Invalid input"). On Alto,
 * Loop and Street it was dropped before it was mapped: read as later than every instant, it fell past the window's
 * upper bound, with no quarantine entry and no audit trace, at every cycle.
 */
describe('a listed record whose modified stamp is no instant', () => {
  const sharedStore = useSharedStore();

  it.each(cases)('$provider: is quarantined under its id and audited; the rest syncs', async (c) => {
    let broken: string | null = null;
    const h = await createSyncHarness(c.provider, {
      simulator: { contacts: 10, seed: 5 },
      store: sharedStore(),
      runner: {
        providerOptions: rewritingListings(c.path, (page) => {
          const first = c.items(page)[0];
          if (first === undefined) return;
          broken ??= String(first.id);
          if (first.id === broken) c.stamp(first)[c.field] = UNREADABLE;
        }),
      },
    });
    try {
      const run = must(await h.run());
      expect(run.state).toBe('idle');
      expect(broken).not.toBeNull();
      const quarantine = must(await h.store.listQuarantine({ tenantId: h.tenantId, limit: 10 }));
      expect(quarantine.map((q) => q.externalId)).toEqual([broken]);
      const [entry] = must(await h.store.listAudit({ tenantId: h.tenantId })).entries;
      const notes = entry?.body.errors.map((e) => e.message) ?? [];
      expect(notes.filter((m) => m.startsWith(`quarantined ${broken}: `))).toHaveLength(1);
      expect(run.context.lastAudit?.counts).toMatchObject({ fetched: 9, quarantined: 1 });
    } finally {
      await h.close();
    }
  });
});

/**
 * A record whose `modified` stamp has no zone designator fails its schema (`z.iso.datetime({ offset: true })`) and
 * is quarantined as any malformed record is, the rest of the listing going on. Here it is the last record of a full
 * first page (150 contacts, pages of 100), where the listing re-anchors. Reapit took the zoneless stamp as the next
 * page's anchor and sent it back as `modifiedFrom`, refused with 400 [R1]: the cycle ended in error, fatal, at that
 * page on every run. Loop and Street quarantined it already.
 */
describe('a listed record whose modified stamp has no zone, at the end of a full page', () => {
  const sharedStore = useSharedStore();

  // Alto's pages hold 250: 150 records make no full page.
  it.each(cases.filter((c) => c.provider !== 'alto'))(
    '$provider: is quarantined; the other 149 sync',
    async (c) => {
      let broken: string | null = null;
      const h = await createSyncHarness(c.provider, {
        simulator: { contacts: 150, seed: 11 },
        store: sharedStore(),
        runner: {
          providerOptions: rewritingListings(c.path, (page) => {
            const items = c.items(page);
            if (broken === null && items.length === 100) broken = String(items[99]?.id);
            for (const item of items) {
              if (item.id !== broken) continue;
              const holder = c.stamp(item);
              holder[c.field] = zoneless(String(holder[c.field]));
            }
          }),
        },
      });
      try {
        const run = must(await h.run());
        expect(broken).not.toBeNull();
        expect(run.state).toBe('idle');
        const quarantine = must(await h.store.listQuarantine({ tenantId: h.tenantId, limit: 10 }));
        expect(quarantine.map((q) => q.externalId)).toEqual([broken]);
        expect(run.context.lastAudit?.counts).toMatchObject({ fetched: 149, quarantined: 1 });
      } finally {
        await h.close();
      }
    },
    120_000,
  );
});
