import type { MatchRecord } from './matchRecord.ts';

/** Fields whose exact agreement is worth more for a rare value than a common one (Smith vs Featherstonehaugh). */
export const termFrequencyFields = ['firstName', 'lastName', 'postcode', 'town'] as const;
export type TermFrequencyField = (typeof termFrequencyFields)[number];

/** How common each value is in a population of contacts: the u-probability of an exact agreement on it. */
export interface ValueFrequencies {
  /** Number of records the shares were counted over. */
  readonly total: number;
  /** Per field, the share (0..1) of records holding each value. Values not listed count as seen once. */
  readonly shares: Readonly<Record<TermFrequencyField, ReadonlyMap<string, number>>>;
}

/**
 * Below this many records a share says more about the sample than the population, so the fixed u of the
 * weight table is used instead.
 */
export const minimumFrequencyPopulation = 1000;

/** Count value shares over a population (a batch, or a tenant's stored contacts); null when it is too small. */
export function valueFrequencies(records: readonly MatchRecord[]): ValueFrequencies | null {
  if (records.length < minimumFrequencyPopulation) return null;
  const count = (pick: (r: MatchRecord) => string | null): ReadonlyMap<string, number> => {
    const counts = new Map<string, number>();
    for (const record of records) {
      const value = pick(record);
      if (value !== null) counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    for (const [value, n] of counts) counts.set(value, n / records.length);
    return counts;
  };
  return {
    total: records.length,
    shares: {
      firstName: count((r) => r.firstName),
      lastName: count((r) => r.lastName),
      postcode: count((r) => r.postcode),
      town: count((r) => r.town),
    },
  };
}
