import { describe, expect, it } from 'vitest';
import { DEFAULT_FAULTS, runSoak } from './runSoak.ts';

/**
 * The soak, short: every provider × one tenant × four cycles, the same faults as `npm run soak`, and the child
 * process killed with SIGKILL in at least one round (a kill that misses stays due for the next round).
 */
describe('soak (short)', () => {
  it('cycles under injected faults and SIGKILL crashes end where a fault-free replay of the same edits ends', async () => {
    const summary = await runSoak({ rounds: 5, tenants: 1, seed: 7, crashRate: 0.4, faults: DEFAULT_FAULTS });
    expect(summary.problems).toEqual([]);
    expect(summary.planChecks.leadsChecked).toBeGreaterThan(0);
    expect(summary.planChecks.editsChecked).toBeGreaterThan(0);
    expect(summary.planChecks.leadProblems).toEqual({ faulted: 0, replay: 0 });
    expect(summary.planChecks.editProblems).toEqual({ faulted: 0, replay: 0 });
    expect(summary.planChecks.duplicateIdentities).toEqual({ faulted: 0, replay: 0 });
    // Every injected fault kind happened, and a SIGKILL landed mid-cycle: the seed fixes the faults, and the kill
    // comes at a share of the measured round (the same counts in 5 runs, one beside a busy core).
    expect(summary.crashesSurvived).toBeGreaterThanOrEqual(1);
    expect(summary.resumedMidCycle).toBeGreaterThanOrEqual(1);
    expect(summary.faultsInjected.errors).toBeGreaterThan(0);
    expect(summary.faultsInjected.timeouts).toBeGreaterThan(0);
    expect(summary.faultsInjected.drops).toBeGreaterThan(0);
    // A write the CRM applied whose answer was lost: sent again, it would create a person twice.
    expect(summary.faultsInjected.lostAnswers).toBeGreaterThan(0);
    expect(summary.faultsInjected.rateLimited).toBeGreaterThan(0);
    expect(summary.comparison).toBe('identical');
    expect(summary.lostUpdates).toBe(0);
    expect(summary.duplicateContacts).toEqual({ local: 0, crm: 0 });
    expect(summary.doubledEngagement).toBe(0);
    expect(summary.missingEngagement).toBe(0);
    expect(summary.cyclesAuditedOnce).toBe(true);
    expect(summary.allIdle).toBe(true);
    // Five rounds and the settling one.
    expect(summary.cycles).toBe(5 * (5 + 1));
    expect(summary.passed).toBe(true);
  }, 180_000);
});
