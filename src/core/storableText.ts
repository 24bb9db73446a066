/**
 * PostgreSQL's `text` and `jsonb` refuse two things a JavaScript string (and JSON) can hold: the NUL character
 * U+0000 and a UTF-16 surrogate without its pair. A value holding one fails the whole statement it is written in,
 * so it is refused where it comes in (data) or replaced (diagnostics: error text, quarantined payloads).
 */
export const isStorableText = (text: string): boolean => text.isWellFormed() && !text.includes('\u0000');

export const UNSTORABLE_TEXT = 'contains U+0000 or an unpaired surrogate, which the store cannot hold';

/** The path (`a.b.0`) of the first string or key in `value` that is not storable; `null` when all are. */
export function unstorableTextPath(value: unknown): string | null {
  // The path is built only for a value that has one: this runs on every store input.
  return holdsUnstorableText(value) ? pathToUnstorable(value, []) : null;
}

function holdsUnstorableText(value: unknown): boolean {
  if (typeof value === 'string') return !isStorableText(value);
  if (value === null || typeof value !== 'object' || value instanceof Date) return false;
  if (Array.isArray(value)) return value.some(holdsUnstorableText);
  for (const key in value) {
    if (!isStorableText(key) || holdsUnstorableText((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

function pathToUnstorable(value: unknown, path: readonly (string | number)[]): string | null {
  if (typeof value === 'string') return isStorableText(value) ? null : path.join('.') || '(input)';
  if (value === null || typeof value !== 'object' || value instanceof Date) return null;
  const entries: Array<[string | number, unknown]> = Array.isArray(value)
    ? [...value.entries()]
    : Object.entries(value);
  for (const [key, item] of entries) {
    if (typeof key === 'string' && !isStorableText(key)) return [...path, key].join('.');
    const found = pathToUnstorable(item, [...path, key]);
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
