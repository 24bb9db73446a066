import { describe, expect, it } from 'vitest';
import { connectionStates } from '../../src/machines/connectionContext.ts';
import { useSharedStore } from '../support/sharedStore.ts';
import { checkAfterAllPaths } from './afterAllPaths.ts';
import { runPath } from './driver.ts';
import { Coverage, generatePaths, reachableTransitions } from './paths.ts';
import { newCrashLog, RealDriver } from './realDriver.ts';
import { realPath } from './realPath.ts';
import { type EndState, endState, sidesDisagree, type WorldInputs } from './realSystem.ts';

/**
 * Every path generated from the machine's adjacency map, run against the real system: PGlite, the
 * Reapit simulator over HTTP, the real phase actors; each outcome produced by a real fault, a crash (with
 * a dying process that finished its work, or in pushing applied a write it never recorded) before every
 * transition out of a non-idle state. After each path, a restored process runs fault-free to rest; its end
 * state must equal a fault-free run on the same inputs.
 */

const paths = generatePaths();
const coverage = new Coverage(reachableTransitions());
const log = newCrashLog();

/** Fault-free end states by inputs: most paths share their inputs, so most share one replay. */
const replays = new Map<string, Promise<EndState>>();

function faultFreeEndState(inputs: WorldInputs[]): Promise<EndState> {
  // Inputs other than CRM edits do not depend on when they came; CRM edits all precede any push.
  const merged: WorldInputs = {
    crmEdits: inputs.flatMap((i) => i.crmEdits),
    localEdits: inputs.flatMap((i) => i.localEdits),
    events: inputs.flatMap((i) => i.events),
    leads: inputs.flatMap((i) => i.leads),
  };
  const key = JSON.stringify(merged);
  let replay = replays.get(key);
  if (replay === undefined) {
    replay = (async () => {
      const driver = new RealDriver(sharedStore(), Date.now(), newCrashLog(), merged);
      try {
        await driver.start();
        await driver.converge();
        return await endState(driver.world);
      } finally {
        await driver.close();
      }
    })();
    replays.set(key, replay);
  }
  return replay;
}

const sharedStore = useSharedStore();

describe('connection machine, model-based (real system: PGlite + Reapit simulator)', () => {
  // Took every transition of the adjacency map, and only those; crashed in every non-idle state, in pushing after
  // the CRM applied a write the ledger missed, in reconciling between two batches.
  const passed = checkAfterAllPaths(paths, coverage, () => {
    const crashed = connectionStates.filter((state) => coverage.crashed.has(state));
    expect(crashed).toEqual(connectionStates.filter((state) => state !== 'idle'));
    expect(coverage.crashed.get('pushing')).toContain('afterProviderAck');
    expect(coverage.crashed.get('reconciling')).toContain('afterBatchCommit');
    expect(log.ackLost).toBeGreaterThan(0);
    expect(log.ackVacuous).toBe(0);
    expect(log.batchLost).toBeGreaterThan(0);
    console.log(
      `faults injected: ${[...log.injected].map(([k, f]) => `${k} → ${f}`).join(', ')}; ` +
        `ack-lost crashes: ${log.ackLost}; between-batch crashes: ${log.batchLost} (${log.batchVacuous} before a batch)`,
    );
  });

  it.each(paths.map((path) => [path.covers, path] as const))('%s', async (_covers, path) => {
    const t0 = Date.now();
    const driver = new RealDriver(sharedStore(), t0, log);
    try {
      await runPath(realPath(path, t0), driver, coverage);
      await driver.converge();
      expect(await sidesDisagree(driver.world)).toEqual([]);
      await driver.assertInvariants({ after: await driver.observe() });
      const expected = await faultFreeEndState(driver.applied);
      expect(await endState(driver.world)).toEqual(expected);
    } finally {
      await driver.close();
    }
    passed(path);
  });
});
