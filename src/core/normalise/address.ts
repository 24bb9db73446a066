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

/** An address line with its house number split off, folded and with street types spelt out. */
export interface NormalisedAddressLine {
  /** The whole line, normalised: `12a high st.` → `12a high street`. */
  readonly line: string;
  /** The leading house or flat number (`12a`), or null. */
  readonly number: string | null;
}

export function normaliseAddressLine(raw: string | null | undefined): NormalisedAddressLine | null {
  const tokens = foldText(raw).split(' ').filter(Boolean);
  if (tokens.length === 0) return null;
  // `St` before a name is Saint (St John's Road), after one it is Street: only expand it when it ends the line.
  const expanded = tokens.map((t, i) =>
    t === 'st' && i < tokens.length - 1 ? 'saint' : (streetTypes[t] ?? t),
  );
  const first = expanded[0] ?? '';
  return { line: expanded.join(' '), number: /^\d/.test(first) ? first : null };
}

/** A town or locality folded for comparison. */
export function normaliseTown(raw: string | null | undefined): string | null {
  const folded = foldText(raw);
  return folded === '' ? null : folded;
}
