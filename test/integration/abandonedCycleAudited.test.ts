import { expect, it } from 'vitest';
import { abandonRun } from '../../src/runner/abandonRun.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * The scheduler gives up on a run mid-cycle (Inngest's retries of a step spent): the machine stops in `error` and
 * its failed entry says why. Retried and completed, the cycle's entry lists every error since it began, but listed
 * none: a phase's failure leaves a note of its own, an abandonment did not.
 */
it('lists the abandonment among the errors of the cycle completed on retry, once', async () => {
  const h = await createSyncHarness('loop', { simulator: { contacts: 8, seed: 6 } });
  try {
    const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
    expect(must(await h.run()).state).toBe('idle');
    await h.sim.control.edits({ count: 3, seed: 2, apart: true });
    expect(must(await h.run('phase')).state).not.toBe('idle');
    const abandoned = must(await abandonRun(h.deps, ref, 'retries of the step spent: store unreachable'));
    expect(abandoned.state).toBe('error');
    expect(must(await h.run('retry')).state).toBe('idle');

    const [completed, failed] = must(await h.store.listAudit({ ...ref, limit: 2 })).entries.map(
      (e) => e.body,
    );
    const stopped = expect.objectContaining({
      message: expect.stringMatching(/^stopped in error \(fatal\) during \w+: .*retries of the step spent/),
    });
    expect(failed).toMatchObject({ outcome: 'failed', errors: [stopped] });
    expect(completed).toMatchObject({ outcome: 'completed', errors: [stopped] });
  } finally {
    await h.close();
  }
});
