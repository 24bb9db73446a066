import { describe, expect, it } from 'vitest';
import { CycleLedger, checkCycles } from './cycleLedger.ts';

/** The soak's audit check against the ids the runners were handed fails on each way the log can be wrong. */
describe('checkCycles', () => {
  const ledgerOf = (ids: string[][]) => {
    const ledger = new CycleLedger();
    for (const [round, list] of ids.entries())
      for (const cycleId of list) ledger.hand('t/p', { round, cycleId, generation: 1 });
    return ledger;
  };
  const done = (cycleId: string) => ({ cycleId, outcome: 'completed' });

  it('passes one completed entry per id and round; an error entry before it is not terminal', () => {
    const ledger = ledgerOf([['a'], ['b']]);
    const check = checkCycles(
      't/p',
      ledger,
      't/p',
      [done('a'), { cycleId: 'b/error@x', outcome: 'failed' }, done('b')],
      2,
    );
    expect(check.problems).toEqual([]);
  });

  it('fails a cycle audited twice, one never audited, and an entry for an id never handed out', () => {
    const ledger = ledgerOf([['a'], ['b']]);
    expect(checkCycles('t/p', ledger, 't/p', [done('a'), done('a'), done('b')], 2).problems).toHaveLength(2);
    expect(checkCycles('t/p', ledger, 't/p', [done('a')], 2).problems).toHaveLength(2);
    expect(checkCycles('t/p', ledger, 't/p', [done('a'), done('b'), done('zz')], 2).problems).toHaveLength(1);
  });

  it('fails a round with two completed cycles; accepts an id lost to a kill before its first snapshot', () => {
    expect(
      checkCycles('t/p', ledgerOf([['a', 'b']]), 't/p', [done('a'), done('b')], 1).problems,
    ).toHaveLength(1);
    const ledger = new CycleLedger();
    ledger.hand('t/p', { round: 0, cycleId: 'a', generation: 1 });
    ledger.killed.add(1);
    ledger.see('t/p', { round: 0, generation: 2, state: 'idle', cycleId: null, lastAuditCycleId: null });
    ledger.hand('t/p', { round: 0, cycleId: 'b', generation: 2 });
    const check = checkCycles('t/p', ledger, 't/p', [done('b')], 1);
    expect(check.problems).toEqual([]);
    expect(check.lost).toBe(1);
    // Found mid-cycle instead, the id was saved: it must be audited.
    ledger.seen.set('t/p', [
      { round: 0, generation: 2, state: 'fetching', cycleId: 'a', lastAuditCycleId: null },
    ]);
    expect(checkCycles('t/p', ledger, 't/p', [done('b')], 1).problems).toHaveLength(1);
  });
});
