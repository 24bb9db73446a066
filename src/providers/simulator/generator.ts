/**
 * A deterministic generator of realistic, messy UK contacts shared by every simulator: the same seed
 * always gives the same people, formats, duplicates, gaps and colliding timestamps.
 * Phone numbers are Ofcom drama ranges and e-mail domains are real providers with invented local parts.
 */

export interface SeedAddress {
  buildingNumber: string;
  street: string;
  locality: string | null;
  town: string;
  county: string | null;
  postcode: string;
}

/** A contact in provider-neutral form; each simulator renders it in its own wire shape. */
export interface SeedContact {
  title: string | null;
  firstName: string | null;
  lastName: string;
  email: string | null;
  mobilePhone: string | null;
  homePhone: string | null;
  workPhone: string | null;
  address: SeedAddress | null;
  dateOfBirth: string | null;
  marketingConsent: 'grant' | 'deny' | 'notAsked';
  archived: boolean;
}

export interface SeededContact {
  contact: SeedContact;
  /** Epoch ms; groups of records share the exact same value. */
  createdMs: number;
  modifiedMs: number;
}

/** mulberry32: tiny, fast, and the same sequence on every platform. */
export function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
  };
}
export type Random = ReturnType<typeof createRandom>;

const FIRST = [
  'Oliver',
  'Amelia',
  'George',
  'Isla',
  'Harry',
  'Ava',
  'Jack',
  'Mia',
  'Noah',
  'Sophie',
  'Mohammed',
  'Priya',
  'Charlie',
  'Grace',
  'Thomas',
  'Emily',
  'Rhys',
  'Siobhan',
  'Callum',
  'Aoife',
  'Robert',
  'Margaret',
  'Alfie',
  'Freya',
  'Leo',
  'Poppy',
  'Arthur',
  'Ivy',
  'Oscar',
  'Lily',
  'Henry',
  'Rosie',
  'Archie',
  'Evie',
  'Theo',
  'Ella',
  'Freddie',
  'Daisy',
  'Louis',
  'Phoebe',
  'Alexander',
  'Florence',
  'Joshua',
  'Sienna',
  'William',
  'Matilda',
  'Edward',
  'Harriet',
  'Daniel',
  'Eleanor',
  'Samuel',
  'Chloe',
  'Joseph',
  'Lucy',
  'Benjamin',
  'Hannah',
  'Ethan',
  'Jessica',
  'Adam',
  'Zara',
  'Ryan',
  'Aisha',
  'Lewis',
  'Niamh',
  'Kieran',
  'Fatima',
  'Owen',
  'Megan',
  'Dylan',
  'Erin',
  'David',
  'Susan',
  'Peter',
  'Janet',
  'Andrew',
  'Helen',
  'Stephen',
  'Karen',
  'Yusuf',
  'Nadia',
] as const;
const NICK: Record<string, string> = {
  Robert: 'Bob',
  Margaret: 'Maggie',
  Thomas: 'Tom',
  Charlie: 'Charles',
  William: 'Will',
  Daniel: 'Dan',
  David: 'Dave',
  Andrew: 'Andy',
};
const LAST = [
  'Smith',
  'Jones',
  'Taylor',
  'Brown',
  'Williams',
  "O'Brien",
  'Patel',
  'Khan',
  'Evans',
  'Davies',
  'Thomas',
  'Roberts',
  'Smith-Jones',
  'McDonald',
  'Wright',
  'Walker',
  'Hughes',
  'Ahmed',
  'Murphy',
  'Clarke',
] as const;
/**
 * The long tail of surnames: a book of 100,000 people from 20 surnames and 80 given names alone held a few hundred
 * people per name, so distinct people met as duplicates (a quarter of the records suppressed, against the 6 %
 * made as duplicates) and every name key was shared past the block-size cap. Place-name surnames, prefix ×
 * suffix: 2,000 of them.
 */
const SURNAME_STARTS = [
  'Ash',
  'Brad',
  'Black',
  'Brook',
  'Chad',
  'Crane',
  'Dun',
  'Fair',
  'Gold',
  'Green',
  'Hal',
  'Hart',
  'Hay',
  'Holl',
  'King',
  'Lang',
  'Lind',
  'Mar',
  'Mid',
  'Nor',
  'Old',
  'Pen',
  'Red',
  'Rad',
  'Ros',
  'Sand',
  'Shel',
  'Stan',
  'Stock',
  'Thorn',
  'Wake',
  'Wal',
  'West',
  'Whit',
  'Win',
  'Wood',
  'Bar',
  'Bel',
  'Car',
  'Har',
  'Mor',
  'Sut',
  'Tal',
  'Fen',
  'Gar',
  'Ather',
  'Bright',
  'Cot',
  'Dray',
  'Elm',
] as const;
const SURNAME_ENDS = [
  'ton',
  'worth',
  'ley',
  'field',
  'ham',
  'by',
  'well',
  'ford',
  'more',
  'wood',
  'ridge',
  'stone',
  'bury',
  'combe',
  'don',
  'hurst',
  'ington',
  'land',
  'low',
  'mere',
  'shaw',
  'wick',
  'ward',
  'cliffe',
  'dale',
  'gate',
  'hill',
  'man',
  'son',
  'er',
  'ock',
  'ett',
  'in',
  'ish',
  'sey',
  'ney',
  'den',
  'holm',
  'thwaite',
  'ell',
] as const;
/** About a third of people carry one of the common surnames. */
const surname = (r: Random): string =>
  r.chance(0.3) ? r.pick(LAST) : `${r.pick(SURNAME_STARTS)}${r.pick(SURNAME_ENDS)}`;
const TITLES = ['Mr', 'Mrs', 'Ms', 'Miss', 'Dr', 'Mr.', 'MRS'] as const;
const DOMAINS = [
  'gmail.com',
  'hotmail.co.uk',
  'outlook.com',
  'btinternet.com',
  'yahoo.co.uk',
  'sky.com',
] as const;
const STREETS = [
  'High Street',
  'Station Road',
  'Church Lane',
  'Victoria Road',
  'Green Lane',
  'Manor Road',
  'Park Avenue',
  'Kings Road',
  'Queensway',
  'Mill Lane',
] as const;
const PLACES = [
  { town: 'London', county: null, outward: ['SW1A', 'E1', 'N16', 'SE15', 'W5'] },
  { town: 'Manchester', county: 'Greater Manchester', outward: ['M1', 'M14', 'M20'] },
  { town: 'Leeds', county: 'West Yorkshire', outward: ['LS1', 'LS6'] },
  { town: 'Bristol', county: null, outward: ['BS1', 'BS8'] },
  { town: 'Cardiff', county: 'South Glamorgan', outward: ['CF10', 'CF24'] },
  { town: 'Glasgow', county: null, outward: ['G1', 'G12'] },
] as const;

const mobileRaw = (r: Random) => `7700${r.int(900000, 900999)}`;
const landlineRaw = (r: Random) => r.pick([`161496${r.int(1000, 1999)}`, `207946${r.int(1000, 1999)}`]);

/** A UK number (national digits without the 0) written the way agency staff actually type them. */
function formatPhone(r: Random, digits: string): string {
  const area = digits.startsWith('7') ? digits.slice(0, 4) : digits.slice(0, 3);
  const rest = digits.slice(area.length);
  return r.pick([
    `0${area} ${rest}`,
    `0${digits}`,
    `+44 ${area} ${rest}`,
    `+44${digits}`,
    `(0${area}) ${rest}`,
    `0044 ${area} ${rest.slice(0, 3)} ${rest.slice(3)}`,
  ]);
}

function formatPostcode(r: Random, outward: string): string {
  const inward = `${r.int(1, 9)}${r.pick(['A', 'B', 'D', 'E', 'F', 'G', 'H', 'J', 'L', 'N'])}${r.pick(['A', 'B', 'D', 'P', 'Q', 'T', 'U', 'W', 'X', 'Z'])}`;
  return r.pick([
    `${outward} ${inward}`,
    `${outward}${inward}`,
    `${outward} ${inward}`.toLowerCase(),
    ` ${outward}  ${inward}`,
  ]);
}

function messyCase(r: Random, name: string): string {
  return r.pick([name, name, name, name.toUpperCase(), name.toLowerCase(), `${name} `]);
}

export function generateContact(r: Random): SeedContact {
  const first = r.pick(FIRST);
  const last = surname(r);
  const place = r.pick(PLACES);
  const local =
    `${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, '') + (r.chance(0.4) ? String(r.int(1, 99)) : '');
  return {
    title: r.chance(0.7) ? r.pick(TITLES) : null,
    firstName: r.chance(0.95) ? messyCase(r, first) : null,
    lastName: messyCase(r, last),
    email: r.chance(0.85)
      ? r.chance(0.1)
        ? `${local}@${r.pick(DOMAINS)}`.toUpperCase()
        : `${local}@${r.pick(DOMAINS)}`
      : null,
    mobilePhone: r.chance(0.8) ? formatPhone(r, mobileRaw(r)) : null,
    homePhone: r.chance(0.3) ? formatPhone(r, landlineRaw(r)) : null,
    workPhone: r.chance(0.1) ? formatPhone(r, landlineRaw(r)) : null,
    address: r.chance(0.8)
      ? {
          buildingNumber: r.chance(0.9) ? String(r.int(1, 220)) : `Flat ${r.int(1, 12)}`,
          street: r.pick(STREETS),
          locality: r.chance(0.2) ? 'Old Town' : null,
          town: r.chance(0.1) ? place.town.toUpperCase() : place.town,
          county: place.county,
          postcode: formatPostcode(r, r.pick(place.outward)),
        }
      : null,
    dateOfBirth: r.chance(0.4)
      ? `${r.int(1940, 2004)}-${String(r.int(1, 12)).padStart(2, '0')}-${String(r.int(1, 28)).padStart(2, '0')}`
      : null,
    marketingConsent: r.pick(['grant', 'grant', 'deny', 'notAsked'] as const),
    archived: r.chance(0.03),
  };
}

/** The same person typed in again by someone else: nickname, other phone format, e-mail case. */
export function duplicateOf(r: Random, original: SeedContact): SeedContact {
  const first = original.firstName?.trim() ?? null;
  return {
    ...original,
    firstName: first && NICK[first] && r.chance(0.5) ? NICK[first] : original.firstName,
    email: original.email && r.chance(0.5) ? original.email.toUpperCase() : original.email,
    mobilePhone: original.mobilePhone
      ? formatPhone(r, original.mobilePhone.replace(/\D/g, '').replace(/^(44|0044|0)/, ''))
      : null,
    title: r.chance(0.5) ? null : original.title,
  };
}

/** Epoch ms of the first seeded `created` value; seeds spread over the 180 days after it. */
export const SEED_EPOCH_MS = Date.parse('2025-01-06T09:00:00Z');
const SEED_SPAN_MS = 180 * 86_400_000;

/**
 * The unit of the gaps between modified values (1–40 units between groups of about two records): a minute for
 * up to about 23,000 seeds, shorter for more, so that however many there are they end within `SEED_SPAN_MS`. A
 * minute for every count put most of a million seeds years in the future, outside every fetch window.
 */
const modifiedStepMs = (count: number) =>
  Math.min(60_000, Math.floor(SEED_SPAN_MS / (Math.max(count, 1) * 11)));

/**
 * `count` contacts in modified order. About 6% are near-duplicates of earlier ones; modified values come in
 * groups (bulk imports) that share one exact timestamp, and `sameModified` records share one more,
 * placed in the middle so records lie on both sides of it.
 */
export function generateContacts(options: {
  count: number;
  seed: number;
  sameModified?: number;
}): SeededContact[] {
  const r = createRandom(options.seed);
  const contacts: SeedContact[] = [];
  for (let i = 0; i < options.count; i++) {
    const source =
      contacts.length > 5 && r.chance(0.06) ? contacts[r.int(0, contacts.length - 1)] : undefined;
    contacts.push(source ? duplicateOf(r, source) : generateContact(r));
  }
  const out: SeededContact[] = [];
  const big = Math.min(options.sameModified ?? 0, options.count);
  const bigStart = Math.floor((options.count - big) / 2);
  let modifiedMs = SEED_EPOCH_MS;
  const stepMs = modifiedStepMs(options.count);
  for (let i = 0; i < contacts.length; ) {
    let size = i === bigStart && big > 0 ? big : r.chance(0.15) ? r.int(2, 12) : 1;
    if (i < bigStart) size = Math.min(size, bigStart - i);
    modifiedMs += r.int(1, 40) * stepMs + r.int(0, 999);
    for (let k = 0; k < size && i < contacts.length; k++, i++) {
      const contact = contacts[i] as SeedContact;
      out.push({ contact, createdMs: modifiedMs - r.int(0, 30) * 86_400_000, modifiedMs });
    }
  }
  return out;
}
