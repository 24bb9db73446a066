import { expect, it } from 'vitest';
import { err } from '../../src/core/result.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { withStoreMethods } from '../support/storeOverrides.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A fetch page commits its staging, and the snapshot recording that page is not saved (the store blipped, the
 * process died): the next run fetches the same page again. The cycle still staged and reconciled every record of
 * it, so its audit entry must count them as fetched.
 */
it('counts the records of a fetch page run again after its snapshot was lost', async () => {
  const memory = must(await openMemoryStore());
  const state = { refuseReconcilingSave: true };
  const store = withStoreMethods(memory, {
    saveSnapshot: (real, params) => {
      if (state.refuseReconcilingSave && params.stateValue === 'reconciling') {
        state.refuseReconcilingSave = false;
        return Promise.resolve(err({ kind: 'unavailable', message: 'connection terminated by the test' }));
      }
      return real.saveSnapshot(params);
    },
  });
  const h = await createSyncHarness('reapit', { simulator: { contacts: 4, seed: 5 }, store });
  try {
    const cut = await h.run();
    expect(cut.ok).toBe(false);
    const entry = await auditedCycle(h);
    // Every record came in and was reconciled, four contacts needing no CRM write: four fetched.
    expect(entry?.written.unchanged).toBe(4);
    expect(entry?.fetched).toBe(4);
  } finally {
    await h.close();
    await memory.close();
  }
}, 120_000);
