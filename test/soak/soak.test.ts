import { describe, expect, it } from 'vitest';
import { DEFAULT_FAULTS, runSoak } from './runSoak.ts';

/**
 * The soak, short: every provider × one tenant × four cycles, the same faults as `npm run soak`, and the child
 * process killed with SIGKILL in at least one round (a kill that misses stays due for the next round).
 */
describe('soak (short)', () => {
  it('cycles under injected faults and SIGKILL crashes end where a fault-free replay of the same edits ends', async () => {
    const summary = await runSoak({ rounds: 4, tenants: 1, seed: 7, crashRate: 0.4, faults: DEFAULT_FAULTS });
    expect(summary.crashesSurvived).toBeGreaterThanOrEqual(1);
    expect(summary.faultsInjected.errors).toBeGreaterThan(0);
    expect(summary.problems).toEqual([]);
    expect(summary.comparison).toBe('identical');
    expect(summary.lostUpdates).toBe(0);
    expect(summary.duplicateContacts).toEqual({ local: 0, crm: 0 });
    expect(summary.doubledEngagement).toBe(0);
    expect(summary.missingEngagement).toBe(0);
    expect(summary.cyclesAuditedOnce).toBe(true);
    expect(summary.allIdle).toBe(true);
    // Four rounds and the settling one.
    expect(summary.cycles).toBe(5 * (4 + 1));
    expect(summary.passed).toBe(true);
  }, 180_000);
});
