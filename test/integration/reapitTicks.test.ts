import { describe, expect, it } from 'vitest';
import type { ReapitSimulatorOptions } from '../../src/providers/reapit/simulator.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * Reapit writes 7-digit fractions (`…12.3456789Z`) and, as simulated, filters and lists by the millisecond. The
 * listing once compared the digits below the millisecond, so a page ending inside a millisecond lost the records
 * of it listed later with lower digits, for good: the cursor then passed them. Through the whole engine: every
 * record arrives in the first cycle, the cursor keeps the provider's own 7-digit string, a cycle with no change
 * stages nothing (the cursor's millisecond is read again and dropped as unchanged, not re-fetched for ever), and
 * later edits arrive.
 */
describe('Reapit timestamps finer than a millisecond', () => {
  it('lose no record at a page or cursor boundary and keep the cursor as Reapit wrote it', async () => {
    const simulator: ReapitSimulatorOptions = { contacts: 1_000, seed: 5, subMillisecondTicks: true };
    const h = await createSyncHarness('reapit', { simulator });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const rawRecords = async () =>
        (await h.sim.control.records()) as Array<{ id: string; modified: string }>;
      /** CRM records the engine never took in: neither linked nor remembered as a suppressed duplicate. */
      const missed = async () => {
        const ids = (await rawRecords()).map((r) => r.id);
        const links = must(await h.store.getLinksByExternalIds({ ...ref, externalIds: ids }));
        const suppressed = must(await h.store.getSuppressed({ ...ref, externalIds: ids }));
        const known = new Set([...links, ...suppressed].map((r) => r.externalId));
        return ids.filter((id) => !known.has(id));
      };

      const first = await auditedCycle(h);
      expect(first?.errors).toEqual([]);
      expect(await missed()).toEqual([]);
      const { cursor } = must(await h.store.getConnection(ref));
      expect(cursor?.modified).toMatch(/\.\d{7}Z$/);
      expect((await rawRecords()).find((r) => r.id === cursor?.externalId)?.modified).toBe(cursor?.modified);

      const quiet = await auditedCycle(h);
      expect(quiet?.fetched).toBe(0);
      expect(must(await h.store.getConnection(ref)).cursor).toEqual(cursor);

      const { changed } = await h.sim.control.edits({ count: 40, seed: 9 });
      const edited = await auditedCycle(h);
      expect(edited?.errors).toEqual([]);
      expect(edited?.fetched).toBe(changed.length);
      expect(await missed()).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
