import { describe, expect, it } from 'vitest';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A Reapit delta looks `createSettleMs` (60 s) back before its cursor for the creates Reapit may have shown late
 * (`test/integration/reapitCreatedElsewhereLate.test.ts`), and asks for the creates of that minute alone
 * (`createdFrom`): the edits the cycle before listed are not listed again. Listed by `modified`, every cycle read
 * the previous minute's edits once more, a page per 100 of them.
 */
describe('a Reapit delta right after one that listed many edits', () => {
  it('lists the creates of the minute before its cursor, not that minute’s edits again', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 400, seed: 11 } });
    try {
      expect(must(await h.run()).state).toBe('idle');
      const { changed } = await h.sim.control.edits({ count: 350, seed: 3, apart: true });
      // More than two pages of 100 (some records were picked twice).
      expect(changed.length).toBeGreaterThan(200);
      const edited = must(await h.run());
      expect(edited.context.lastAudit?.counts).toMatchObject({ fetched: changed.length });

      const before = (await h.sim.control.stats()).requests;
      const next = must(await h.run());
      expect(next.state).toBe('idle');
      expect(next.context.lastAudit?.counts).toMatchObject({ fetched: 0 });
      // One page of the minute's creates (none), one of the window from the cursor (its own instant's record).
      // Listed by `modified`, the edits came again with the cursor's record: three pages of 100.
      expect((await h.sim.control.stats()).requests - before).toBe(2);
    } finally {
      await h.close();
    }
  });
});
