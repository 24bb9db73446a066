import { expect, it } from 'vitest';
import { z } from 'zod';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

const recordSchema = z.object({ id: z.string(), updatedAt: z.string() });

/**
 * Loop steps `pageNumber` inside a run of equal `updatedAt` longer than a page (100), reading the page before again
 * with each: members saved or deleted meanwhile shift the rest back, and up to a page of them slide onto the page
 * read again. Here 101 of a run of 250 are deleted after its second page: the run's next member slid past the page
 * read again, nobody edits it, and the cursor passed the run at the cycle's end, so no window listed it again. Now a
 * page read again that no longer starts with a member the request before listed sends the listing back to the run's
 * first page.
 */
it('a Loop run member nobody edited is listed when more than a page of its run leaves mid-listing', async () => {
  let beforePageThree: (() => Promise<void>) | null = null;
  const interposed: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname.endsWith('/contacts') && url.searchParams.has('modifiedSince')) {
      const page = url.searchParams.get('pageNumber');
      const step = beforePageThree;
      if (step !== null && page === '3') {
        beforePageThree = null;
        await step();
      }
    }
    return fetch(input, init);
  };
  const h = await createSyncHarness('loop', {
    simulator: { contacts: 400, sameModified: 250, seed: 12 },
    runner: { providerOptions: () => ({ fetch: interposed }) },
  });
  try {
    // The simulator's records in its listing order, (updatedAt, id).
    const all = z.array(recordSchema).parse(await h.sim.control.records());
    const stampOf = (r: z.infer<typeof recordSchema>) => Date.parse(r.updatedAt);
    const runAt = all.map(stampOf).find((at, _, stamps) => stamps.filter((s) => s === at).length >= 250);
    const run = all.filter((r) => stampOf(r) === runAt).map((r) => r.id);
    expect(run).toHaveLength(250);
    beforePageThree = async () => {
      expect((await h.sim.control.remove(run.slice(0, 101))).removed).toHaveLength(101);
    };

    await auditedCycle(h);
    expect(beforePageThree).toBeNull();
    await auditedCycle(h);

    const remaining = z
      .array(recordSchema)
      .parse(await h.sim.control.records())
      .map((r) => r.id);
    expect(remaining).toHaveLength(299);
    const linked = new Set(
      must(
        await h.store.getLinksByExternalIds({
          tenantId: h.tenantId,
          connectionId: h.connectionId,
          externalIds: remaining,
        }),
      ).map((link) => link.externalId),
    );
    // Every record the CRM holds was read: linked, or suppressed as a duplicate of one that is.
    const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
    const suppressed = new Set(
      must(await h.store.getSuppressed({ ...ref, externalIds: remaining })).map(
        (record) => record.externalId,
      ),
    );
    expect(remaining.filter((id) => !linked.has(id) && !suppressed.has(id))).toEqual([]);
  } finally {
    await h.close();
  }
}, 120_000);
