import type { ValueFrequencies } from './frequencies.ts';
import type { MatchRecord } from './matchRecord.ts';

/** How two records compare on one field: the Fellegi–Sunter comparison levels. */
export type ComparisonLevel = 'exact' | 'close' | 'different' | 'missing';

/** The fields pairs are scored on. */
export const matchFields = [
  'firstName',
  'lastName',
  'dateOfBirth',
  'email',
  'personalPhone',
  'householdPhone',
  'postcode',
  'addressLine1',
  'addressLine2',
  'town',
] as const;
export type MatchField = (typeof matchFields)[number];

/**
 * m = P(level | same person), u = P(level | different people), per field and level; weight = log2(m / u).
 * Set by reasoning about a UK agency's contact book of up to 100,000 people and checked on the generated UK
 * development set (test/fixtures/ukContacts.ts); never fitted to any benchmark's labels. u reflects how often two
 * different people share a value: a first name ~1 in 100, a surname ~1 in 500, a date of birth ~1 in 20,000, a
 * mobile or e-mail almost never, a landline 1 in 1,000 (households share one). m for "different" is kept
 * well above zero because people move, change e-mail and mistype, so a disagreement costs only a few bits.
 * The "missing" level is 0 bits by construction. Dates of birth more than two years apart are vetoed
 * (`dateOfBirthConflict`) or scored apart (`farApartDatesWeight`), so a date's "different" level only holds dates
 * a month to two years apart: u is the chance two people's birthdays fall that close (about 4 years in 70), m a
 * misremembered year. Its "close" level holds digit slips (u ~0.0006) and dates within a month (about 2 months in
 * 70 years, 0.0024). A given name's "different" level is another real name, not a typo or nickname: it is vetoed
 * (`firstNameConflict`) unless neither record holds an e-mail or mobile, and then it is scored. m 0.001: a slip
 * that lands on another real name (Jack/Jake) or a relative's name typed into the record, about one duplicate in
 * 1,000; twins always differ there, so it costs 10 bits (more without agreeing dates: `undatedOtherNameWeight`).
 */
const probabilities: Record<
  MatchField,
  Record<Exclude<ComparisonLevel, 'missing'>, [m: number, u: number]>
> = {
  firstName: { exact: [0.86, 0.01], close: [0.1, 0.004], different: [0.001, 0.986] },
  lastName: { exact: [0.86, 0.002], close: [0.1, 0.004], different: [0.04, 0.994] },
  dateOfBirth: { exact: [0.9, 0.00005], close: [0.08, 0.003], different: [0.03, 0.06] },
  email: { exact: [0.7, 0.00002], close: [0.05, 0.0005], different: [0.25, 0.99948] },
  personalPhone: { exact: [0.8, 0.00002], close: [0.01, 0.0001], different: [0.19, 0.99988] },
  householdPhone: { exact: [0.7, 0.001], close: [0.01, 0.001], different: [0.29, 0.998] },
  postcode: { exact: [0.85, 0.005], close: [0.08, 0.03], different: [0.07, 0.965] },
  addressLine1: { exact: [0.8, 0.002], close: [0.12, 0.005], different: [0.08, 0.993] },
  addressLine2: { exact: [0.7, 0.02], close: [0.1, 0.01], different: [0.2, 0.97] },
  town: { exact: [0.85, 0.05], close: [0.05, 0.01], different: [0.1, 0.94] },
};

/**
 * Dates of birth more than two years apart and not a typo: vetoed (`dateOfBirthConflict`) unless neither record
 * holds an e-mail or mobile, and then scored at this weight instead of the date's "different" level. m 0.001: a
 * relative's date or a default typed for the person, about one duplicate in 1,000; u 0.94, the chance two people
 * were born more than two years apart. Parent and child of one name always are, so it costs 10 bits.
 */
export const farApartDatesWeight = Math.log2(0.001 / 0.94);

/**
 * Another given name when the dates of birth do not agree (one is missing, or they differ). With agreeing dates the
 * other person could only be a twin; without, any member of the household — partner, sibling, parent or child —
 * fits, and such pairs are at least 50 times as many as twins (a household holds about 2.4 people, and about one
 * maternity in 65 is of twins). So the other name costs log2(50) ≈ 5.6 bits more: 15.6 bits.
 */
export const undatedOtherNameWeight = Math.log2(0.001 / 0.986) - Math.log2(50);

/** Match weight in bits for each field and level: log2(m/u), 0 when either side is missing. */
export const fieldWeights: Readonly<Record<MatchField, Readonly<Record<ComparisonLevel, number>>>> =
  Object.fromEntries(
    matchFields.map((field) => {
      const { exact, close, different } = probabilities[field];
      const bits = ([m, u]: [number, number]) => Math.log2(m / u);
      return [field, { exact: bits(exact), close: bits(close), different: bits(different), missing: 0 }];
    }),
  ) as Record<MatchField, Record<ComparisonLevel, number>>;

/**
 * The least u a value's share may give: a value seen once in a sample is not that rare in the population, so the
 * bonus of a rare exact agreement is capped (first name ≤ 9.7 bits, surname and postcode ≤ 12.1, town ≤ 7.4).
 */
const minimumShare = { firstName: 0.001, lastName: 0.0002, postcode: 0.0002, town: 0.005 } as const;

/**
 * The weight of one field at one level. An exact agreement on a term-frequency field uses the value's share as u
 * when frequencies are given (Splink's term-frequency adjustment), and a close one (not a postcode's) that share
 * scaled by the table's close u over its exact u; everything else comes from the table. When the two values differ
 * (a nickname, a slip, or names entered the wrong way round), the more common of the two sets u, so the weight is
 * symmetric and never overstated.
 */
export function fieldWeight(
  field: MatchField,
  level: ComparisonLevel,
  a: MatchRecord,
  frequencies?: ValueFrequencies | null,
  b: MatchRecord = a,
): number {
  // A postcode's close level spans a whole sector, whose share the full postcode's does not tell.
  const adjusted = level === 'exact' || (level === 'close' && field !== 'postcode');
  if (!adjusted || !frequencies || !(field in minimumShare)) return fieldWeights[field][level];
  const tfField = field as keyof typeof minimumShare;
  const share = (r: MatchRecord) =>
    frequencies.shares[tfField].get(r[tfField] ?? '') ?? 1 / frequencies.total;
  const termShare = Math.max(share(a), share(b), minimumShare[tfField]);
  const [m, u] = probabilities[field][level];
  // A close agreement scales the table's u by how much commoner the value is than the average exact agreement
  // (Splink's term-frequency adjustment on a fuzzy level): Bob/Robert or Smyth/Smith is weaker evidence than
  // Elkanzh/Elkanah, since many more pairs of different people are a nickname or a slip of a common name.
  const scale = level === 'exact' ? 1 : u / probabilities[field].exact[1];
  return Math.log2(m / (termShare * scale));
}

/**
 * A pair is the same person when its summed weight reaches this many bits (and no conflict rule fires).
 * The prior odds that two contacts of a 100,000-contact book are one person are about 1 in 2^17; 24 bits puts
 * the posterior above 99%. Name + town alone (≈19 bits) or name + postcode alone (≈22.5 bits) stay below it, so
 * two people with a common name in one town are never merged on that alone.
 */
export const matchThreshold = 24;
