import type { MatchExplanation } from './cluster.ts';
import { compareNames } from './compare.ts';
import type { ValueFrequencies } from './frequencies.ts';
import type { MatchRecord } from './matchRecord.ts';
import { cannotMatch, scorePair } from './scorePair.ts';

/**
 * The existing contact an incoming one duplicates, or null: the highest-scoring candidate that matches
 * (ties to the smaller id, so the answer does not depend on candidate order). Candidates come from the store's
 * `match_keys` index or a provider's search by e-mail; a candidate with the incoming record's own id is ignored.
 * `frequencies`, when the caller has them for the tenant, make rare-name agreement count for more. Null too when
 * the incoming record matches two people it does not tell apart (J Smith against John and Jane Smith of one house):
 * which of them it is the record does not say, and missing a duplicate is the lesser harm than merging into the
 * wrong person. Pure.
 */
export function findMatch(
  incoming: MatchRecord,
  candidates: readonly MatchRecord[],
  frequencies?: ValueFrequencies | null,
): MatchExplanation | null {
  let best: MatchExplanation | null = null;
  let bestRecord: MatchRecord | null = null;
  const matched: MatchRecord[] = [];
  for (const candidate of candidates) {
    if (candidate.id === incoming.id || cannotMatch(incoming, candidate)) continue;
    const pair = scorePair(incoming, candidate, frequencies);
    if (!pair.isMatch) continue;
    matched.push(candidate);
    const better =
      best === null ||
      pair.score > best.score ||
      (pair.score === best.score && candidate.id < best.matchedId);
    if (better) {
      bestRecord = candidate;
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
  const chosen = bestRecord;
  if (chosen !== null && matched.some((other) => cannotTell(incoming, chosen, other))) return null;
  return best;
}

/**
 * Whether the best candidate and another matched one are two people (a conflict rule refuses them, or their given
 * names differ) that the incoming record's given name does not tell apart: `J Smith` or `Smith` against John and Jane.
 * `Mohammed Khan` against the stored Mohammed and Muhammad Khan of one house is the first's: answering nobody there
 * made a contact of each later record of him.
 */
function cannotTell(incoming: MatchRecord, best: MatchRecord, other: MatchRecord): boolean {
  if (best.id === other.id || compareNames(incoming, other).firstName === 'different') return false;
  return cannotMatch(best, other) || compareNames(best, other).firstName === 'different';
}
