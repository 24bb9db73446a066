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
 * the incoming record matches two people (J Smith against John and Jane Smith of one house): which of them it is
 * the record does not say, and missing a duplicate is the lesser harm than merging into the wrong person. Pure.
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
  if (chosen !== null && matched.some((other) => twoPeople(chosen, other))) return null;
  return best;
}

/**
 * Two records a conflict rule refuses, or whose given names differ and that do not match: two people. Given names
 * that differ but match on the rest (Mohammed and Muhammad Khan of one date, address and landline) are one person the
 * scorer recognises, and read as two they split that person at every later record.
 */
export function twoPeople(a: MatchRecord, b: MatchRecord): boolean {
  if (a.id === b.id) return false;
  return cannotMatch(a, b) || (compareNames(a, b).firstName === 'different' && !scorePair(a, b).isMatch);
}
