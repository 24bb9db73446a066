import { foldText } from './text.ts';

/** Titles that say nothing about identity beyond gender; stripped from the front of a given name. */
const titleGender: Readonly<Record<string, 'male' | 'female' | null>> = {
  mr: 'male',
  master: 'male',
  sir: 'male',
  lord: 'male',
  mrs: 'female',
  ms: 'female',
  miss: 'female',
  mx: null,
  dr: null,
  prof: null,
  professor: null,
  rev: null,
  revd: null,
};

/** A given name reduced to the form people are compared on. */
export interface NormalisedGivenName {
  /** The first name token, folded (`josé` → `jose`); an initial when that is all there is. */
  readonly first: string;
  /** Initials of any further given names, in order (`John A. B.` → `ab`). */
  readonly middleInitials: string;
}

/** `Mr John A. Smith`-style given-name text → first token and middle initials, titles dropped. */
export function normaliseGivenName(raw: string | null | undefined): NormalisedGivenName | null {
  const tokens = foldText(raw)
    .split(' ')
    .filter((t) => t !== '' && !(t in titleGender));
  const [first, ...rest] = tokens;
  if (first === undefined) return null;
  return { first, middleInitials: rest.map((t) => t[0]).join('') };
}

/** A surname folded with its spaces and hyphens removed, so `Smith-Jones`, `smith jones` and `SMITHJONES` agree. */
export function normaliseSurname(raw: string | null | undefined): string | null {
  const folded = foldText(raw).replaceAll(' ', '');
  return folded === '' ? null : folded;
}

/** The gender a title implies (`Mrs` → female), or null when it implies none or is absent. */
export function titleToGender(raw: string | null | undefined): 'male' | 'female' | null {
  const first = foldText(raw).split(' ')[0] ?? '';
  return titleGender[first] ?? null;
}
