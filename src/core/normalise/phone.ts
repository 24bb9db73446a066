import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { boundedMemo } from '../memo.ts';

/**
 * A phone number in E.164, read with GB as the default region, so national (`07700 900123`), international
 * (`+44 …`, `0044 …`) and bracketed forms agree. `isPossible` rather than `isValid`: Ofcom's drama ranges and
 * new allocations fail the stricter check but are still real identifiers for matching.
 */
export function normalisePhone(raw: string | null | undefined): string | null {
  const value = raw?.trim() ?? '';
  return value === '' ? null : parseCached(value);
}

// Parsing dominates matching time; the same numbers recur in every candidate set.
const parseCached = boundedMemo((value: string): string | null => {
  const parsed = parsePhoneNumberFromString(value, 'GB');
  if (parsed?.isPossible()) return parsed.number;
  const digits = value.replace(/\D/g, '');
  return digits.length >= 7 ? digits : null;
});
