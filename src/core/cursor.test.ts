import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compareCursor, maxCursor, withinLowerBound } from './cursor.ts';

const at = (modified: string, externalId: string) => ({ modified, externalId });

/**
 * The instant `ms` plus `below` hundreds of nanoseconds, written as `format` says: `Z` (no fraction), `Z3` (three
 * digits), `Z7` (seven), `+00:00` (seven), `+01:00` (seven, local time an hour ahead), `+01:00 3` (three). A
 * writing that cannot hold the instant (no fraction for a non-zero millisecond, three digits with digits below
 * the millisecond) falls back to seven digits.
 */
function written(ms: number, below: number, format: string): string {
  const digits7 = `${String(ms % 1_000).padStart(3, '0')}${String(below).padStart(4, '0')}`;
  const local = (offsetMs: number) => new Date(ms + offsetMs).toISOString().slice(0, 19);
  const exact3 = below === 0;
  switch (format) {
    case 'Z':
      return exact3 && ms % 1_000 === 0 ? `${local(0)}Z` : `${local(0)}.${digits7}Z`;
    case 'Z3':
      return exact3 ? new Date(ms).toISOString() : `${local(0)}.${digits7}Z`;
    case '+00:00':
      return `${local(0)}.${digits7}+00:00`;
    case '+01:00':
      return `${local(3_600_000)}.${digits7}+01:00`;
    case '+01:00 3':
      return exact3
        ? `${local(3_600_000)}.${digits7.slice(0, 3)}+01:00`
        : `${local(3_600_000)}.${digits7}+01:00`;
    default:
      return `${local(0)}.${digits7}Z`;
  }
}

describe('cursor order', () => {
  test.each([
    [at('2026-01-01T10:00:00Z', 'B'), at('2026-01-01T10:00:01Z', 'A'), -1],
    [at('2026-01-01T10:00:00Z', 'A'), at('2026-01-01T10:00:00Z', 'B'), -1],
    [at('2026-01-01T10:00:00Z', 'A'), at('2026-01-01T10:00:00.0000000+00:00', 'A'), 0],
    [at('2026-01-01T10:00:00.0000001Z', 'A'), at('2026-01-01T10:00:00Z', 'Z'), 1],
    [at('2026-01-01T11:00:00+01:00', 'A'), at('2026-01-01T10:00:00Z', 'A'), 0],
    // Read to the nanosecond, as an instant is: the tenth digit is past it.
    [at('2026-01-01T10:00:00.1234567890Z', 'A'), at('2026-01-01T10:00:00.123456789Z', 'A'), 0],
    // A value that is no instant comes after every instant, however its text compares.
    [at('2026-01-01T10:45:00Zx', 'A'), at('2026-01-01T11:00:00+01:00', 'A'), 1],
    [at('2026-01-01T10:45:00Zx', 'A'), at('2026-01-01T10:30:00Z', 'A'), 1],
  ])('compare(%o, %o) = %i', (a, b, expected) => {
    expect(Math.sign(compareCursor(a, b))).toBe(expected);
  });

  test("the lower bound re-reads the cursor's instant, whatever the ids", () => {
    const cursor = at('2026-01-01T10:00:00Z', 'X1');
    expect(withinLowerBound(cursor, cursor)).toBe(true);
    // Saved at the cursor's instant after the window closed, to a lower id: still read.
    expect(withinLowerBound(at('2026-01-01T10:00:00.000+00:00', 'X0'), cursor)).toBe(true);
    expect(withinLowerBound(at('2026-01-01T09:59:59.999Z', 'Z'), cursor)).toBe(false);
    expect(withinLowerBound(at('2026-01-01T09:59:59Z', 'Z'), null)).toBe(true);
  });

  test("the lower bound re-reads the cursor's whole millisecond, whatever the digits below it", () => {
    const cursor = at('2026-01-01T10:00:00.1234567Z', 'X1');
    // Stamped just before the cursor in its millisecond (Reapit's 7 digits), shown after the window closed.
    expect(withinLowerBound(at('2026-01-01T10:00:00.1230001Z', 'X9'), cursor)).toBe(true);
    expect(withinLowerBound(at('2026-01-01T10:00:00.1229999Z', 'X9'), cursor)).toBe(false);
  });

  test('the lower bound compares modified values that are no instants as raw strings', () => {
    const cursor = at('token-b', 'X1');
    expect(withinLowerBound(at('token-b', 'X0'), cursor)).toBe(true);
    expect(withinLowerBound(at('token-c', 'X0'), cursor)).toBe(true);
    expect(withinLowerBound(at('token-a', 'Z'), cursor)).toBe(false);
  });

  test('maxCursor keeps the raw string of the larger position', () => {
    const a = at('2026-01-01T10:00:00.0000000+00:00', 'A');
    const b = at('2026-01-01T10:00:00Z', 'B');
    expect(maxCursor(a, b)).toBe(b);
    expect(maxCursor(null, a)).toBe(a);
  });

  test('compareCursor is a total order on generated positions: by instant, then by id, and 0 only for both equal', () => {
    // Instants close to each other (a millisecond, a second, an hour apart, the same millisecond with other digits
    // below it), each written in several ways a CRM may send it: few enough that positions often share an instant.
    const base = Date.parse('2026-03-29T00:59:59.999Z');
    const instant = fc.record({
      ms: fc.constantFrom(0, 1, 1_000, 3_600_000, -1).map((offset) => base + offset),
      // Hundreds of nanoseconds below the millisecond (Reapit's 7 digits).
      below: fc.constantFrom(0, 1, 4_567, 9_999),
    });
    const format = fc.constantFrom('Z', 'Z3', 'Z7', '+00:00', '+01:00', '+01:00 3');
    const position = fc
      .record({ instant, format, externalId: fc.constantFrom('A', 'B', 'a', 'C10', 'C9') })
      .map(({ instant: { ms, below }, format, externalId }) => ({
        modified: written(ms, below, format),
        externalId,
        /** The instant in hundreds of nanoseconds (beyond 2^53, so a bigint): the order must follow it. */
        key: BigInt(ms) * 10_000n + BigInt(below),
      }));
    const order = <T extends bigint | string>(x: T, y: T) => (x < y ? -1 : x > y ? 1 : 0);
    const seen = { sameInstantWrittenOtherwise: 0, sameMillisecondOtherDigits: 0, sameInstantOtherId: 0 };
    fc.assert(
      fc.property(position, position, position, (a, b, c) => {
        const cmp = (x: typeof a, y: typeof a) => Math.sign(compareCursor(x, y));
        // Total: equal only for the same instant (however written) and the same id.
        expect([a, b, cmp(a, b) === 0]).toEqual([a, b, a.key === b.key && a.externalId === b.externalId]);
        // By instant first, then by id.
        expect([a, b, cmp(a, b)]).toEqual([a, b, order(a.key, b.key) || order(a.externalId, b.externalId)]);
        // Antisymmetric; summed, because for equal positions `-Math.sign(0)` is -0, which `toBe` tells from 0.
        expect(cmp(a, b) + cmp(b, a)).toBe(0);
        if (cmp(a, b) <= 0 && cmp(b, c) <= 0) expect(cmp(a, c)).toBeLessThanOrEqual(0);
        if (a.key === b.key && a.modified !== b.modified) seen.sameInstantWrittenOtherwise += 1;
        if (a.key !== b.key && a.key / 10_000n === b.key / 10_000n) seen.sameMillisecondOtherDigits += 1;
        if (a.key === b.key && a.externalId !== b.externalId) seen.sameInstantOtherId += 1;
      }),
      { numRuns: 1000 },
    );
    // The cases a generator of `toISOString()` instants never made.
    expect(Math.min(...Object.values(seen))).toBeGreaterThan(0);
  });
});
