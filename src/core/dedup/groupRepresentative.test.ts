import { describe, expect, it } from 'vitest';
import type { MatchExplanation } from './cluster.ts';
import { explainedFrom } from './groupRepresentative.ts';

const edge = (recordId: string, matchedId: string, score = 30): MatchExplanation => ({
  recordId,
  matchedId,
  rule: 'weightAboveThreshold',
  score,
  agreedFields: ['lastName'],
  closeFields: [],
});

const pairs = (explanations: readonly MatchExplanation[]) =>
  explanations.map((e) => `${e.recordId}>${e.matchedId}:${e.score}`).sort();

describe('explainedFrom', () => {
  // a is the cluster's first record; b hangs from a, c and d from b.
  const tree = [edge('b', 'a', 31), edge('c', 'b', 32), edge('d', 'b', 33), edge('y', 'x', 34)];

  it('leaves the trees as they are when each cluster is represented by its first record', () => {
    expect(pairs(explainedFrom(tree, ['a', 'x']))).toEqual(pairs(tree));
    expect(pairs(explainedFrom(tree, []))).toEqual(pairs(tree));
  });

  it('turns the path to a new representative round, keeping each match and its score', () => {
    expect(pairs(explainedFrom(tree, ['c']))).toEqual(['a>b:31', 'b>c:32', 'd>b:33', 'y>x:34']);
    expect(pairs(explainedFrom(tree, ['d', 'y']))).toEqual(['a>b:31', 'b>d:33', 'c>b:32', 'x>y:34']);
  });

  it('explains every record of a cluster but its representative, once', () => {
    const explained = explainedFrom(tree, ['c']).map((e) => e.recordId);
    expect(explained.sort()).toEqual(['a', 'b', 'd', 'y']);
  });
});
