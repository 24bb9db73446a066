import { foldText } from './text.ts';

/** Street-type abbreviations (UK, plus the Australian ones in FEBRL-style data) → full word. */
const streetTypes: Readonly<Record<string, string>> = {
  rd: 'road',
  st: 'street',
  str: 'street',
  ave: 'avenue',
  av: 'avenue',
  ln: 'lane',
  dr: 'drive',
  cl: 'close',
  cres: 'crescent',
  cresc: 'crescent',
  cr: 'crescent',
  ct: 'court',
  crt: 'court',
  pl: 'place',
  sq: 'square',
  gdns: 'gardens',
  gdn: 'garden',
  gr: 'grove',
  gro: 'grove',
  ter: 'terrace',
  terr: 'terrace',
  tce: 'terrace',
  pk: 'park',
  wy: 'way',
  hwy: 'highway',
  pde: 'parade',
  cct: 'circuit',
  blvd: 'boulevard',
  mt: 'mount',
  hts: 'heights',
  est: 'estate',
  flt: 'flat',
  apt: 'apartment',
  hse: 'house',
};

/**
 * A flat within a building, as typed: `Flat 2`, `Apt. 4b`, `Unit C` anywhere in the line (but not `Upper Flat, 3`,
 * the upper flat of number 3), or `2/12` leading it (flat 2 of number 12; folded, it would read as number 2).
 */
const namedFlat = /\b(?:flat|flt|apartment|apt|unit)(?:\.\s*|\s+)(\d+[a-z]?|[a-z])\b/i;
const slashFlat = /^\s*(\d+[a-z]?)\s*\/\s*(?=\d)/i;

/** An address line with its flat and house numbers split off, folded and with street types spelt out. */
export interface NormalisedAddressLine {
  /**
   * The whole line, normalised, its flat (whatever word named it) first: `12a High St.` → `12a high street`;
   * `12 High St, Apt 2`, `Flat 2, 12 High Street` and `2/12 High St` → `flat 2 12 high street`.
   */
  readonly line: string;
  /** The house number leading the line once the flat is taken out (`12a`), or null. */
  readonly number: string | null;
  /** The flat, apartment or unit number within the building (`2`, `4b`, `c`), or null. */
  readonly subPremise: string | null;
}

export function normaliseAddressLine(raw: string | null | undefined): NormalisedAddressLine | null {
  const { subPremise, rest } = splitSubPremise(raw ?? '');
  const tokens = foldText(rest).split(' ').filter(Boolean);
  if (tokens.length === 0 && subPremise === null) return null;
  // `St` before a name is Saint (St John's Road), after one it is Street: only expand it when it ends the line
  // (the flat taken out, so `12 High St, Flat 2` ends in Street).
  const expanded = tokens.map((t, i) =>
    t === 'st' && i < tokens.length - 1 ? 'saint' : (streetTypes[t] ?? t),
  );
  const first = expanded[0] ?? '';
  const line = [...(subPremise === null ? [] : ['flat', subPremise]), ...expanded].join(' ');
  return { line, number: /^\d/.test(first) ? first : null, subPremise };
}

function splitSubPremise(raw: string): { subPremise: string | null; rest: string } {
  const match = slashFlat.exec(raw) ?? namedFlat.exec(raw);
  if (match === null) return { subPremise: null, rest: raw };
  const rest = `${raw.slice(0, match.index)} ${raw.slice(match.index + match[0].length)}`;
  return { subPremise: foldText(match[1]), rest };
}

/** A town or locality folded for comparison. */
export function normaliseTown(raw: string | null | undefined): string | null {
  const folded = foldText(raw);
  return folded === '' ? null : folded;
}
