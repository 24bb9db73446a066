import { z } from 'zod';

/** Why a credential sent as an HTTP header is refused, after the field's name. */
export const HEADER_VALUE_REFUSED =
  'must not hold a line break, a NUL or a character beyond U+00FF inside it, nor be blank: it is sent as an HTTP header';

/** The white space fetch trims from both ends of a header value (HTTP whitespace). */
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/**
 * Whether fetch sends `text` as a header value. It refuses one with a line break, NUL or character beyond U+00FF
 * inside it with an error that quotes the value whole, so a key refused there was written into messages, audits
 * and logs; a blank one (after the trim) it sends empty.
 */
export function isHeaderValue(text: string): boolean {
  const inner = text.replace(EDGE_WHITESPACE, '');
  if (inner.length === 0) return false;
  for (const char of inner) {
    const code = char.codePointAt(0) ?? 0;
    if (code === 0 || code === 10 || code === 13 || code > 0xff) return false;
  }
  return true;
}

/** A credential, or a token, sent as (part of) an HTTP header. Messages name the field, never the value. */
export const headerValueSchema = z.string().min(1).refine(isHeaderValue, HEADER_VALUE_REFUSED);
