import type { MatchExplanation } from './cluster.ts';
import type { ValueFrequencies } from './frequencies.ts';
import type { MatchRecord } from './matchRecord.ts';
import { cannotMatch, scorePair } from './scorePair.ts';

/**
 * The existing contact an incoming one duplicates, or null: the highest-scoring candidate that matches
 * (ties to the smaller id, so the answer does not depend on candidate order). Candidates come from the store's
 * `match_keys` index or a provider's search by e-mail; a candidate with the incoming record's own id is ignored.
 * `frequencies`, when the caller has them for the tenant, make rare-name agreement count for more. Pure.
 */
export function findMatch(
  incoming: MatchRecord,
  candidates: readonly MatchRecord[],
  frequencies?: ValueFrequencies | null,
): MatchExplanation | null {
  let best: MatchExplanation | null = null;
  for (const candidate of candidates) {
    if (candidate.id === incoming.id || cannotMatch(incoming, candidate)) continue;
    const pair = scorePair(incoming, candidate, frequencies);
    if (!pair.isMatch) continue;
    const better =
      best === null ||
      pair.score > best.score ||
      (pair.score === best.score && candidate.id < best.matchedId);
    if (better) {
      best = {
        recordId: incoming.id,
        matchedId: candidate.id,
        rule: pair.rule,
        score: pair.score,
        agreedFields: pair.agreedFields,
        closeFields: pair.closeFields,
      };
    }
  }
  return best;
}
