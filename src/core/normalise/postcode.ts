import { parse } from 'postcode';

/** A postcode as a key: the UK form `SW1A 1AA` with its sector, or for other countries the trimmed upper-case text. */
export interface NormalisedPostcode {
  /** Upper case, one space before the inward code (UK) or single spaces (elsewhere). */
  readonly postcode: string;
  /** The UK sector (`SW1A 1`): nearby addresses, used as the "close" level. Null outside the UK format. */
  readonly sector: string | null;
}

export function normalisePostcode(raw: string | null | undefined): NormalisedPostcode | null {
  const value = (raw ?? '').trim().toUpperCase().replace(/\s+/g, ' ');
  if (value === '') return null;
  const parsed = parse(value);
  if (parsed.valid) return { postcode: parsed.postcode, sector: parsed.sector };
  return { postcode: value, sector: null };
}
