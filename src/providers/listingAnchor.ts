import { z } from 'zod';
import { type CursorPosition, compareCursor, compareModified } from '../core/cursor.ts';

/**
 * The ids a listing has already returned at its anchor's instant. No CRM documents how records sharing a
 * `modified` value are ordered, so a listing that resumes at that instant drops exactly these, rather than every
 * record whose id sorts before the anchor's: that lost the records listed after the anchor with smaller ids and
 * repeated those listed before it with larger ones. Holds at most a page or two of ids.
 * Optional: a token written before it existed falls back to comparing ids.
 */
export const seenAtAnchorSchema = z.array(z.string()).optional();

/** Whether a record at `position` is past the anchor `after`, given the ids already returned at its instant. */
export function pastAnchor(
  position: CursorPosition,
  after: CursorPosition | null,
  seen: readonly string[] | undefined,
): boolean {
  if (after === null) return true;
  const byTime = compareModified(position.modified, after.modified);
  if (byTime !== 0) return byTime > 0;
  return seen === undefined ? compareCursor(position, after) > 0 : !seen.includes(position.externalId);
}

/** The ids among `positions` (unreadable ones `null`) whose `modified` is `instant`. */
export function idsAtInstant(positions: ReadonlyArray<CursorPosition | null>, instant: string): string[] {
  return positions.flatMap((p) =>
    p !== null && compareModified(p.modified, instant) === 0 ? [p.externalId] : [],
  );
}
