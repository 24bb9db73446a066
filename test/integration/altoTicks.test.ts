import { describe, expect, it } from 'vitest';
import { contentHash } from '../../src/core/canonicalJson.ts';
import { fromListItem } from '../../src/providers/alto/mapping.ts';
import type { AltoSimulatorOptions } from '../../src/providers/alto/simulator.ts';
import { type AltoRecord, listItem } from '../../src/providers/alto/simulatorRecords.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * Alto writes 7-digit stamps (`…30.1234567+00:00` [A1]) and, as simulated, filters and lists by the millisecond,
 * so the records of one millisecond come in no order of the digits below it. The listing once compared those
 * digits: after a page ending inside a millisecond it dropped the records of it listed next with lower ones, for
 * good, as the cursor passed them. Through the whole engine, over several cycles, with the CRM's clock held on one
 * millisecond so that saves share it: saves made during a listing, a next-token Alto refuses inside a
 * millisecond, saves after the cycle just below and above the cursor's digits, then in the next millisecond.
 */
describe('Alto timestamps finer than a millisecond', () => {
  it('lose no save at a page, token or cursor boundary, across cycles', async () => {
    // The CRM's clock: a minute behind ours, so every save lands inside the cycle's window.
    let crmNowMs = Date.now() - 60_000;
    /** Run once, after the listing page it follows has been served: saves made while a cycle lists. */
    let afterPage: { page: number; run: () => Promise<unknown> } | null = null;
    /** The listing request whose next-token is replaced by one Alto refuses (an expired token). */
    let refuseTokenOf: number | null = null;
    let refusedWith: number | null = null;
    let listed = 0;
    const listing: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.pathname !== '/contacts/all') return fetch(input, init);
      listed += 1;
      if (listed === refuseTokenOf && url.searchParams.has('next-token'))
        url.searchParams.set('next-token', 'expired');
      const response = await fetch(url, init);
      if (listed === refuseTokenOf) refusedWith = response.status;
      if (afterPage?.page === listed) await afterPage.run();
      return response;
    };
    const simulator: AltoSimulatorOptions = {
      contacts: 800,
      sameModified: 400,
      seed: 5,
      subMillisecondTicks: true,
      clock: () => crmNowMs,
    };
    const h = await createSyncHarness('alto', {
      simulator,
      runner: { providerOptions: () => ({ fetch: listing }) },
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const records = async () => (await h.sim.control.records()) as AltoRecord[];
      /** CRM records whose current content the engine does not hold: never taken in, or a save it missed. */
      const stale = async () => {
        const crm = await records();
        const ids = crm.map((r) => r.id);
        const links = must(await h.store.getLinksByExternalIds({ ...ref, externalIds: ids }));
        const suppressed = must(await h.store.getSuppressed({ ...ref, externalIds: ids }));
        const held = new Map<string, string | null>([
          ...links.map((l) => [l.externalId, l.remoteHash] as const),
          ...suppressed.map((s) => [s.externalId, s.contentHash] as const),
        ]);
        return crm.flatMap((r) => {
          const inbound = must(fromListItem(listItem(r)));
          const contact = inbound.removed
            ? { ...inbound.contact, status: 'archived' as const }
            : inbound.contact;
          return held.get(r.id) === contentHash(contact) ? [] : [r.id];
        });
      };
      const cursorOf = async () => must(await h.store.getConnection(ref)).cursor;
      const edits = (seed: number) => h.sim.control.edits({ count: 40, seed });
      const sub = (stamp: string) => stamp.slice(0, stamp.indexOf('+'));

      // First sync: 400 records share one millisecond across pages 2 and 3 (250 a page), with digits below it
      // in no order of their ids; Alto refuses the token of page 3, so the listing restarts inside that
      // millisecond; and 40 saves land in the CRM's millisecond after page 2.
      const seeded = await records();
      const msAt = (i: number) => Date.parse(seeded[i]?.modifiedAt ?? '');
      expect(msAt(499)).toBe(msAt(500));
      const shared = seeded.filter((r) => Date.parse(r.modifiedAt) === msAt(500)).map((r) => r.modifiedAt);
      expect(new Set(shared).size).toBeGreaterThan(300);
      afterPage = { page: 2, run: () => edits(7) };
      refuseTokenOf = 3;
      const first = await auditedCycle(h);
      expect(first?.errors).toEqual([]);
      expect(refusedWith).toBe(400);
      expect(await stale()).toEqual([]);
      const cursor = await cursorOf();
      expect(Date.parse(cursor?.modified ?? '')).toBe(crmNowMs);
      // The cursor keeps Alto's own 7-digit string.
      expect((await records()).find((r) => r.id === cursor?.externalId)?.modifiedAt).toBe(cursor?.modified);

      // Saves after the cycle in the cursor's own millisecond, some just below its digits and some above. A
      // record's digits follow from its id and the millisecond, which follows our clock: rounds of saves until
      // both sides hold some (twelve rounds of 40 were once not enough in a CI run).
      const at = sub(cursor?.modified ?? '');
      const changed = new Set<string>();
      const sides = async () => {
        const stamps = (await records()).filter((r) => changed.has(r.id)).map((r) => sub(r.modifiedAt));
        return { below: stamps.some((s) => s < at), above: stamps.some((s) => s > at) };
      };
      for (let seed = 8; seed < 48; seed++) {
        for (const id of (await edits(seed)).changed) changed.add(id);
        const { below, above } = await sides();
        if (below && above) break;
      }
      expect(await sides()).toEqual({ below: true, above: true });
      const below = await auditedCycle(h);
      expect(below?.errors).toEqual([]);
      expect(await stale()).toEqual([]);

      // The window run again with nothing saved: the cursor's millisecond is read and dropped as unchanged.
      const settled = await cursorOf();
      const quiet = await auditedCycle(h);
      expect(quiet?.fetched).toBe(0);
      expect(await cursorOf()).toEqual(settled);

      // Saves in the next millisecond, just above the cursor's: read, and the cursor moves on to them.
      crmNowMs += 1;
      await edits(9);
      const above = await auditedCycle(h);
      expect(above?.errors).toEqual([]);
      expect(await stale()).toEqual([]);
      expect(Date.parse((await cursorOf())?.modified ?? '')).toBe(crmNowMs);
      expect((await auditedCycle(h))?.fetched).toBe(0);
    } finally {
      await h.close();
    }
  });
});
