import { sameValue } from './canonicalJson.ts';
import type { FieldValue } from './merge.ts';
import { phoneValue } from './normalise/phone.ts';
import { normalisePostcode } from './normalise/postcode.ts';
import type { Address, ContactField } from './schemas.ts';

/*
 * When two values of a contact field are one value written two ways, for the three-way merge (src/core/merge.ts).
 */

const phoneFields: ReadonlySet<ContactField> = new Set(['mobilePhone', 'homePhone', 'workPhone']);

/**
 * The same value written another way: text in another Unicode form (`José` composed or decomposed), an e-mail
 * address in another letter case, a phone number spaced or prefixed otherwise (`07700 900123`, `+447700900123`;
 * another extension or a note beside it is another value), a postcode spaced or cased otherwise (`sw1a1aa`,
 * `SW1A 1AA`). Such a difference is neither a change nor a conflict, and is not written to either side: each keeps
 * the form its users typed, and two CRMs that each store their own form do not hand it back and forth.
 */
export function equivalent(field: ContactField, a: FieldValue | null, b: FieldValue | null): boolean {
  if (same(a, b)) return true;
  if (field === 'address') return sameAddress(a, b);
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  if (a.normalize('NFC') === b.normalize('NFC')) return true;
  if (field === 'email') return a.trim().toLowerCase() === b.trim().toLowerCase();
  if (!phoneFields.has(field)) return false;
  const phone = phoneValue(a);
  return phone !== null && phone === phoneValue(b);
}

/** Two addresses line by line: text in either Unicode form, the postcode as `normalisePostcode` reads it. */
function sameAddress(a: FieldValue | null, b: FieldValue | null): boolean {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  // The address field's values, validated with the contact.
  const [x, y] = [a as Address, b as Address];
  return (Object.keys(x) as Array<keyof Address>).every((line) => {
    const [p, q] = [x[line], y[line]];
    if (p === q) return true;
    if (p === null || q === null) return false;
    if (line === 'postcode') return normalisePostcode(p)?.postcode === normalisePostcode(q)?.postcode;
    return p.normalize('NFC') === q.normalize('NFC');
  });
}

/** `sameValue`, with the canonical JSON only for objects: most fields are primitives, compared often. */
export function same(a: FieldValue | null, b: FieldValue | null): boolean {
  if (a === b) return true;
  return typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && sameValue(a, b);
}
