import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { boundedMemo } from '../memo.ts';

/**
 * A phone number in E.164, read with GB as the default region, so national (`07700 900123`), international
 * (`+44 …`, `0044 …`) and bracketed forms agree. `isPossible` rather than `isValid`: Ofcom's drama ranges and
 * new allocations fail the stricter check but are still real identifiers for matching. An extension is left out:
 * for matching, one switchboard's desks reach the same household or office.
 */
export function normalisePhone(raw: string | null | undefined): string | null {
  return parse(raw)?.number ?? null;
}

/**
 * The number as a field's value: E.164 as `normalisePhone` gives it, with its extension (`+442079460000;ext=214`,
 * RFC 3966). Two extensions of one switchboard reach different desks, so they are different values. A note typed
 * beside the number (`(husband)`, `DO NOT CALL`) is part of the value too, which is then the trimmed text as typed:
 * the parser reads the number and drops the note.
 */
export function phoneValue(raw: string | null | undefined): string | null {
  const parsed = parse(raw);
  if (parsed === null) return null;
  const typed = raw?.trim() ?? '';
  if (!numberOnly.test(typed.replace(PHONE_EXTENSION, ''))) return typed;
  return parsed.ext === null ? parsed.number : `${parsed.number};ext=${parsed.ext}`;
}

/** An extension ending the text, in the spellings the parser reads: `ext. 214`, `x214`, `#214`, `;ext=214`. */
export const PHONE_EXTENSION = /(?:;ext=|ext(?:ension|n)?\.?|x|#)\s*:?\s*\d+$/i;
/** Digits and what people space or group them with; anything else is a note. */
const numberOnly = /^[\d\s+().,/-]*$/;

function parse(raw: string | null | undefined): ParsedPhone | null {
  const value = raw?.trim() ?? '';
  return value === '' ? null : parseCached(value);
}

interface ParsedPhone {
  number: string;
  ext: string | null;
}

// Parsing dominates matching time; the same numbers recur in every candidate set.
const parseCached = boundedMemo((value: string): ParsedPhone | null => {
  const parsed = parsePhoneNumberFromString(value, 'GB');
  if (parsed?.isPossible()) return { number: parsed.number, ext: parsed.ext ?? null };
  const digits = value.replace(/\D/g, '');
  return digits.length >= 7 ? { number: digits, ext: null } : null;
});
