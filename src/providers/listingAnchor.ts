import { z } from 'zod';
import { type CursorPosition, compareCursor, compareModified } from '../core/cursor.ts';

const zonedInstant = z.iso.datetime({ offset: true });

/**
 * A listed record's `modified` value as a listing places it: an ISO instant with its zone. Any other text (a
 * UK-format date from a broken export) places nothing: compared, it sorted after every instant, so a listing's
 * upper bound dropped the record unmapped, with no quarantine entry and no audit trace. A stamp without a zone
 * (`2026-03-29T01:30:00`) is the host's local time, not an instant, as the record's own schema says: taken as a
 * page's anchor it was sent back as Reapit's `modifiedFrom`, which Reapit refuses without a zone [R1], and the
 * connection's listing failed at that page every cycle.
 */
export const listedInstantSchema = z
  .string()
  .min(1)
  .refine(
    (value) => zonedInstant.safeParse(value).success && !Number.isNaN(Date.parse(value)),
    'expected an instant with a zone',
  );

/**
 * The ids a listing has already returned at its anchor's instant. No CRM documents how records sharing a
 * `modified` value are ordered, so a listing that resumes at that instant drops exactly these, rather than every
 * record whose id sorts before the anchor's: that lost the records listed after the anchor with smaller ids and
 * repeated those listed before it with larger ones. Holds a page or two of ids, or a tie's longer than a page.
 * Optional: a token written before it existed falls back to comparing ids.
 */
export const seenAtAnchorSchema = z.array(z.string()).optional();

/** Orders two `modified` values as instants of a listing: at their full precision, or at a provider's grain. */
export type CompareInstants = (a: string, b: string) => number;

/**
 * Compares `modified` values as a provider that filters and orders at `grainMs` sees them: cut to that unit. Its
 * listing may return the records of one such unit in any order of the digits below it, so a listing anchor must
 * treat the whole unit as one instant (Reapit: 7-digit stamps, listed by the millisecond).
 */
export function compareAtGrain(grainMs: number): CompareInstants {
  return (a, b) => {
    const ta = Date.parse(a);
    const tb = Date.parse(b);
    if (Number.isNaN(ta) || Number.isNaN(tb)) return compareModified(a, b);
    return Math.sign(Math.floor(ta / grainMs) - Math.floor(tb / grainMs));
  };
}

/** Whether a record at `position` is past the anchor `after`, given the ids already returned at its instant. */
export function pastAnchor(
  position: CursorPosition,
  after: CursorPosition | null,
  seen: readonly string[] | undefined,
  compareInstants: CompareInstants = compareModified,
): boolean {
  if (after === null) return true;
  const byTime = compareInstants(position.modified, after.modified);
  if (byTime !== 0) return byTime > 0;
  return seen === undefined ? compareCursor(position, after) > 0 : !seen.includes(position.externalId);
}

/** The ids among `positions` (unreadable ones `null`) whose `modified` is `instant`. */
export function idsAtInstant(
  positions: ReadonlyArray<CursorPosition | null>,
  instant: string,
  compareInstants: CompareInstants = compareModified,
): string[] {
  return positions.flatMap((p) =>
    p !== null && compareInstants(p.modified, instant) === 0 ? [p.externalId] : [],
  );
}

/**
 * The ids returned at `instant`, the instant a page reached: added to those returned before when the anchor was
 * already there (a tie longer than a page), else the page's alone. Kept to the page's, a query restarted inside
 * such a tie handed out again every record of it that earlier pages had returned.
 */
export function seenThrough(
  anchor: { after: CursorPosition | null; seen?: readonly string[] | undefined },
  positions: ReadonlyArray<CursorPosition | null>,
  instant: string,
  compareInstants: CompareInstants = compareModified,
): string[] {
  const here = idsAtInstant(positions, instant, compareInstants);
  const sameInstant = anchor.after !== null && compareInstants(anchor.after.modified, instant) === 0;
  return sameInstant && anchor.seen !== undefined ? [...new Set([...anchor.seen, ...here])] : here;
}
