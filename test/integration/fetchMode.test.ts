import { describe, expect, it } from 'vitest';
import { answeredRequests } from '../support/simulators.ts';
import { createSyncHarness } from '../support/syncHarness.ts';

describe('fetchMode', () => {
  it('full lists and stages every record each cycle; delta only what changed since the cursor', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 150, seed: 5 } });
    try {
      const first = await h.run();
      if (!first.ok) throw new Error(first.error.message);
      await h.sim.control.edits({ count: 4, seed: 9 });
      const total = (await h.sim.control.records()).length;

      const fetchedBy = async (fetchMode: 'delta' | 'full') => {
        h.deps.fetchMode = fetchMode;
        // Answered requests: each run's limiter is new, so back-to-back runs may meet a 429 and send again.
        const before = await answeredRequests(h.sim);
        const run = await h.run();
        if (!run.ok) throw new Error(run.error.message);
        expect(run.value.state).toBe('idle');
        const after = await answeredRequests(h.sim);
        const audit = await h.store.listAudit({ tenantId: h.tenantId });
        if (!audit.ok) throw new Error(audit.error.message);
        return { fetched: audit.value.entries[0]?.body.fetched, requests: after - before };
      };
      const full = await fetchedBy('full');
      expect(full.fetched).toBe(total);
      expect(full.requests).toBeGreaterThanOrEqual(Math.ceil(total / 100));
      // The full cycle moved the cursor past the edits: an unchanged delta cycle reads one page of nothing new,
      // after Reapit's page of the creates of the minute before the cursor (none).
      const delta = await fetchedBy('delta');
      expect(delta.fetched).toBe(0);
      expect(delta.requests).toBe(2);
    } finally {
      await h.close();
    }
  });
});
