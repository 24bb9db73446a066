import { describe, expect, it, test } from 'vitest';
import { connectionStates } from '../../src/machines/connectionContext.ts';
import { phaseActorIds, phaseSchema } from '../../src/machines/phases.ts';
import { checkAfterAllPaths } from './afterAllPaths.ts';
import { runPath } from './driver.ts';
import {
  Coverage,
  generatePaths,
  MODEL_INPUT,
  reachableTransitions,
  transitionKey,
  unreachableDefinedTransitions,
} from './paths.ts';
import { PureDriver } from './pureDriver.ts';
import { specTransitions } from './spec.ts';

const paths = generatePaths();
const coverage = new Coverage(reachableTransitions());

describe('connection machine, model-based (pure driver)', () => {
  // Took every transition of the adjacency map, and only those; crashed and restored in every non-idle state, in
  // pushing after the provider acknowledged, in reconciling after a batch committed.
  const passed = checkAfterAllPaths(paths, coverage, () => {
    const crashed = connectionStates.filter((state) => coverage.crashed.has(state));
    expect(crashed).toEqual(connectionStates.filter((state) => state !== 'idle'));
    expect(coverage.crashed.get('pushing')).toContain('afterProviderAck');
    expect(coverage.crashed.get('reconciling')).toContain('afterBatchCommit');
  });

  it.each(paths.map((path) => [path.covers, path] as const))('%s', async (_covers, path) => {
    await runPath(path, new PureDriver(), coverage);
    passed(path);
  });
});

describe('model completeness', () => {
  test.each(phaseSchema.options)('%s follows the failure policy', (phase) => {
    const reachable = reachableTransitions();
    const outcome = (kind: string, to: string) =>
      reachable.has(transitionKey(phase, `${phaseActorIds[phase]} ${kind}`, to));
    for (const kind of ['transient', 'rate_limited']) {
      expect([kind, outcome(kind, 'backoff'), outcome(kind, 'error')]).toEqual([kind, true, true]);
    }
    expect([outcome('quota_exhausted', 'backoff'), outcome('quota_exhausted', 'error')]).toEqual([
      true,
      false,
    ]);
    for (const kind of ['auth_failed', 'fatal']) {
      expect([kind, outcome(kind, 'backoff'), outcome(kind, 'error')]).toEqual([kind, false, true]);
    }
  });

  it('realises every transition written in the machine definition', () => {
    expect(unreachableDefinedTransitions()).toEqual([]);
  });

  // The paths above take their expectations from the machine, so a wrong machine yields wrong paths that
  // pass. The reference model in spec.ts is written from ARCHITECTURE.md; the two graphs must be equal.
  it('has exactly the transitions of the reference model (spec.ts), down to attempt, phase and reason', () => {
    const machine = reachableTransitions(MODEL_INPUT, 'abstract');
    const spec = specTransitions();
    expect({
      missingFromMachine: [...spec].filter((key) => !machine.has(key)),
      notInSpec: [...machine].filter((key) => !spec.has(key)),
    }).toEqual({ missingFromMachine: [], notInSpec: [] });
  });
});

// One path per transition between abstract states (attempt, resumePhase, errorReason, mid-window), not per
// pair of state values: e.g. `sync.abandoned` in a backoff of each phase, retries at every attempt count.
const abstractPaths = generatePaths(MODEL_INPUT, 'abstract');
const abstractCoverage = new Coverage(reachableTransitions(MODEL_INPUT, 'abstract'), 'abstract');

describe('connection machine, model-based over abstract states (pure driver)', () => {
  // Took every abstract transition, and only those.
  const passed = checkAfterAllPaths(abstractPaths, abstractCoverage, () => {});

  it.each(abstractPaths.map((path) => [path.covers, path] as const))('%s', async (_covers, path) => {
    await runPath(path, new PureDriver(), abstractCoverage);
    passed(path);
  });
});
