import type { MatchExplanation } from './cluster.ts';

/**
 * A batch's explanations with each cluster's tree hung from `representatives` instead of its first record: the
 * edges on the path from a representative to its cluster's first record turn round, so every other record of the
 * cluster is still explained by one match, now towards the record that stands for the cluster. Pure.
 */
export function explainedFrom(
  explanations: readonly MatchExplanation[],
  representatives: Iterable<string>,
): MatchExplanation[] {
  const byRecord = new Map(explanations.map((explanation) => [explanation.recordId, explanation]));
  for (const representative of representatives) {
    const path: MatchExplanation[] = [];
    for (let edge = byRecord.get(representative); edge !== undefined; edge = byRecord.get(edge.matchedId))
      path.push(edge);
    for (const edge of path) byRecord.delete(edge.recordId);
    for (const edge of path)
      byRecord.set(edge.matchedId, { ...edge, recordId: edge.matchedId, matchedId: edge.recordId });
  }
  return [...byRecord.values()];
}
