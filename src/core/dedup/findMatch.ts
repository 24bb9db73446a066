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
 * the incoming record matches two people it does not tell apart (J Smith against John and Jane Smith of one house,
 * William against twins Thomas and James): which of them it is the record does not say, and missing a duplicate is
 * the lesser harm than merging into the wrong person. Pure.
 */
export function findMatch(
  incoming: MatchRecord,
  candidates: readonly MatchRecord[],
  frequencies?: ValueFrequencies | null,
): MatchExplanation | null {
  const matched: Array<{ record: MatchRecord; explanation: MatchExplanation }> = [];
  for (const candidate of candidates) {
    if (candidate.id === incoming.id || cannotMatch(incoming, candidate)) continue;
    const pair = scorePair(incoming, candidate, frequencies);
    if (!pair.isMatch) continue;
    const { rule, score, agreedFields, closeFields } = pair;
    const explanation = {
      recordId: incoming.id,
      matchedId: candidate.id,
      rule,
      score,
      agreedFields,
      closeFields,
    };
    matched.push({ record: candidate, explanation });
  }
  // Those its given name does not set apart come first: Mohammed against the stored Muhammad (a spelling the scorer
  // accepts) and a sparse Mohammed is the latter's, whichever scores higher.
  const named = matched.filter(({ record }) => compareNames(incoming, record).firstName !== 'different');
  const pool = named.length > 0 ? named : matched;
  let best: (typeof pool)[number] | undefined;
  for (const entry of pool) {
    const { score, matchedId } = entry.explanation;
    if (
      best === undefined ||
      score > best.explanation.score ||
      (score === best.explanation.score && matchedId < best.explanation.matchedId)
    )
      best = entry;
  }
  if (best === undefined) return null;
  const chosen = best.record;
  return pool.some(({ record }) => twoPeople(chosen, record)) ? null : best.explanation;
}

/** Two records a conflict rule refuses, or whose given names differ: two people, whatever else they share. */
function twoPeople(a: MatchRecord, b: MatchRecord): boolean {
  return a.id !== b.id && (cannotMatch(a, b) || compareNames(a, b).firstName === 'different');
}
