import { z } from 'zod';

/** A position in a provider's change order: the raw `modified` value as the provider sent it, plus the id. */
export const cursorPositionSchema = z.strictObject({
  /** The provider's own timestamp string, never rounded or re-formatted. */
  modified: z.string().min(1),
  externalId: z.string().min(1),
});
export type CursorPosition = z.infer<typeof cursorPositionSchema>;

/** The window of one cycle: inclusive lower bound from the cursor, upper bound fixed at cycle start. */
export const fetchWindowSchema = z.strictObject({
  /** `null` on the first cycle: everything up to `to`. */
  from: cursorPositionSchema.nullable(),
  /** ISO instant fixed when the cycle starts. */
  to: z.string().min(1),
});
export type FetchWindow = z.infer<typeof fetchWindowSchema>;

/**
 * Orders two cursor positions by (modified, externalId).
 * `modified` values are compared as instants when both parse, so `…30.0000000+00:00` and `…30Z` agree;
 * the raw strings are kept untouched in the cursor itself (never rounded or re-formatted).
 */
export function compareCursor(a: CursorPosition, b: CursorPosition): number {
  const byTime = compareModified(a.modified, b.modified);
  if (byTime !== 0) return byTime;
  return a.externalId < b.externalId ? -1 : a.externalId > b.externalId ? 1 : 0;
}

/**
 * Instants in time order, the digits below the millisecond included; a value that is no instant after every
 * instant, such values in text order. (An instant against text compared as text was no order: `a > b > c` with
 * `a < c`, for a text `b` between two instants written in other zones.)
 */
export function compareModified(a: string, b: string): number {
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (Number.isNaN(ta) !== Number.isNaN(tb)) return Number.isNaN(ta) ? 1 : -1;
  if (Number.isNaN(ta)) return a < b ? -1 : a > b ? 1 : 0;
  if (ta !== tb) return ta < tb ? -1 : 1;
  // Same millisecond: finer precision may still differ in the raw strings (e.g. 7-digit fractions).
  const fa = fraction(a);
  const fb = fraction(b);
  return fa < fb ? -1 : fa > fb ? 1 : 0;
}

/** The fraction of a second to the nanosecond, the finest an instant is read to: `.1234567890` is `.123456789`. */
function fraction(timestamp: string): string {
  const match = /\.(\d+)/.exec(timestamp);
  return (match?.[1] ?? '').padEnd(9, '0').slice(0, 9);
}

/**
 * Whether a record at `position` is inside a window whose lower bound is the cursor `from`. The cursor's own
 * instant is read again, whatever the ids: a window can end while the CRM is still stamping that instant (its
 * clock behind ours, or whole-second stamps), and a later save at that instant to a record with a lower id
 * would sort before the cursor and never be read. The instant is the cursor's whole millisecond, whatever finer
 * digits the CRM writes (Reapit's 7): the staged high water that becomes the cursor is ordered by the
 * millisecond, and a CRM that lists by the millisecond may show a record saved before the cursor's digits late.
 * Re-read records whose content is unchanged are dropped at fetch, so this costs a look-up, not a write.
 */
export function withinLowerBound(position: CursorPosition, from: CursorPosition | null): boolean {
  if (from === null) return true;
  // Date.parse keeps whole milliseconds.
  const at = Date.parse(position.modified);
  const bound = Date.parse(from.modified);
  if (Number.isNaN(at) || Number.isNaN(bound)) return compareModified(position.modified, from.modified) >= 0;
  return at >= bound;
}

/** The later of two positions; `null` counts as the beginning of time. */
export function maxCursor(a: CursorPosition | null, b: CursorPosition | null): CursorPosition | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareCursor(a, b) >= 0 ? a : b;
}

/**
 * One entry per record, its latest `modified` (the later in the list when equal, or when either is no instant): a
 * listing that shows a record twice (a CRM's paging, a record saved while it was listed) means its latest reading.
 */
export function latestPerRecord<T extends { externalId: string; modified: string }>(
  records: readonly T[],
): T[] {
  const latest = new Map<string, T>();
  for (const record of records) {
    const kept = latest.get(record.externalId);
    const keptAt = kept === undefined ? Number.NaN : Date.parse(kept.modified);
    const at = Date.parse(record.modified);
    if (kept === undefined || !(keptAt > at)) latest.set(record.externalId, record);
  }
  return [...latest.values()];
}
