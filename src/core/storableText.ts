/**
 * PostgreSQL's `text` and `jsonb` refuse two things a JavaScript string (and JSON) can hold: the NUL character
 * U+0000 and a UTF-16 surrogate without its pair. A value holding one fails the whole statement it is written in,
 * so it is refused where it comes in (data) or replaced (diagnostics: error text, quarantined payloads).
 */
export const isStorableText = (text: string): boolean => text.isWellFormed() && !text.includes('\u0000');

export const UNSTORABLE_TEXT = 'contains U+0000 or an unpaired surrogate, which the store cannot hold';

/** The path (`a.b.0`) of the first string or key in `value` that is not storable; `null` when all are. */
export function unstorableTextPath(value: unknown, path: readonly (string | number)[] = []): string | null {
  if (typeof value === 'string') return isStorableText(value) ? null : path.join('.') || '(input)';
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = unstorableTextPath(item, [...path, index]);
      if (found !== null) return found;
    }
    return null;
  }
  if (value === null || typeof value !== 'object' || value instanceof Date) return null;
  for (const [key, item] of Object.entries(value)) {
    if (!isStorableText(key)) return [...path, key].join('.');
    const found = unstorableTextPath(item, [...path, key]);
    if (found !== null) return found;
  }
  return null;
}

/** `text` with each unstorable character replaced by U+FFFD. */
export const toStorableText = (text: string): string => text.toWellFormed().replaceAll('\u0000', '\uFFFD');

/** A JSON value with every string and key made storable: for what is kept to explain a failure, never for data. */
export function toStorableJson(value: unknown): unknown {
  if (typeof value === 'string') return toStorableText(value);
  if (Array.isArray(value)) return value.map(toStorableJson);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [toStorableText(key), toStorableJson(item)]),
  );
}
