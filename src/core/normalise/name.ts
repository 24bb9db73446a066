import { foldText } from './text.ts';

/**
 * Titles that say nothing about identity beyond gender; stripped from the given name wherever they stand. The
 * courtesy, clerical and service titles of UK title lists (Lady, Dame, Revd, Rt Hon, Capt, Cllr…) are here too:
 * typed into the given-name box they would otherwise read as a first name and veto a true pair as two people.
 * Titles that are also given names or their short forms (Earl, Prince, Col for Colin, Gen for Genevieve) are left out.
 */
const titleGender: Readonly<Record<string, 'male' | 'female' | null>> = {
  mr: 'male',
  master: 'male',
  sir: 'male',
  lord: 'male',
  baron: 'male',
  viscount: 'male',
  mrs: 'female',
  ms: 'female',
  miss: 'female',
  lady: 'female',
  dame: 'female',
  baroness: 'female',
  countess: 'female',
  duchess: 'female',
  marchioness: 'female',
  viscountess: 'female',
  mx: null,
  dr: null,
  prof: null,
  professor: null,
  rev: null,
  revd: null,
  reverend: null,
  very: null,
  venerable: null,
  rt: null,
  hon: null,
  honourable: null,
  cllr: null,
  capt: null,
  captain: null,
  maj: null,
  major: null,
  colonel: null,
  lt: null,
  lieut: null,
  lieutenant: null,
  general: null,
  brig: null,
  brigadier: null,
  adm: null,
  admiral: null,
  sgt: null,
};

/** A peer's or monarch's number (`1st`, `3rd`, `19th`): part of a title, never a name. */
const ordinal = /^\d+(st|nd|rd|th)$/;

/** A given name reduced to the form people are compared on. */
export interface NormalisedGivenName {
  /**
   * The first given name, folded (`josé` → `jose`), a hyphenated one whole (`anne-marie`); an initial when that is
   * all there is.
   */
  readonly first: string;
  /** Initials of any further given names, in order (`John A. B.` → `ab`). */
  readonly middleInitials: string;
}

/**
 * A hyphen between two letters: it joins one name (Anne-Marie), not a name and a middle name. Any dash a keyboard or
 * word processor gives (`\p{Pd}`: en dash, fullwidth hyphen; and the minus sign): read as a space, `Anne–Marie` was
 * `Anne` with a middle initial and matched her mother Anne.
 */
const nameHyphen = /(?<=[\p{L}\p{M}])[\p{Pd}\u2212](?=\p{L})/u;

/** `Mr John A. Smith`-style given-name text → first token and middle initials, titles dropped. */
export function normaliseGivenName(raw: string | null | undefined): NormalisedGivenName | null {
  const tokens = (raw ?? '')
    .split(nameHyphen)
    .map(foldText)
    .join('-')
    .split(' ')
    .filter((t) => t !== '' && !isTitle(t) && !ordinal.test(t));
  const [first, ...rest] = tokens;
  if (first === undefined) return null;
  return { first, middleInitials: rest.map((t) => t[0]).join('') };
}

/** A title, or titles joined by a hyphen (`Major-General`). */
const isTitle = (token: string): boolean => token.split('-').every((part) => part in titleGender);

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
