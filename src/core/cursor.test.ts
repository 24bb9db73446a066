import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compareCursor, maxCursor, withinLowerBound } from './cursor.ts';

const at = (modified: string, externalId: string) => ({ modified, externalId });

describe('cursor order', () => {
  test.each([
    [at('2026-01-01T10:00:00Z', 'B'), at('2026-01-01T10:00:01Z', 'A'), -1],
    [at('2026-01-01T10:00:00Z', 'A'), at('2026-01-01T10:00:00Z', 'B'), -1],
    [at('2026-01-01T10:00:00Z', 'A'), at('2026-01-01T10:00:00.0000000+00:00', 'A'), 0],
    [at('2026-01-01T10:00:00.0000001Z', 'A'), at('2026-01-01T10:00:00Z', 'Z'), 1],
    [at('2026-01-01T11:00:00+01:00', 'A'), at('2026-01-01T10:00:00Z', 'A'), 0],
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

  test('compareCursor is a total order on generated positions', () => {
    const position = fc.record({
      modified: fc
        .date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString()),
      externalId: fc.string({ minLength: 1, maxLength: 4 }),
    });
    fc.assert(
      fc.property(position, position, position, (a, b, c) => {
        // Antisymmetric; summed, because for equal positions `-Math.sign(0)` is -0, which `toBe` tells from 0.
        expect(Math.sign(compareCursor(a, b)) + Math.sign(compareCursor(b, a))).toBe(0);
        if (compareCursor(a, b) <= 0 && compareCursor(b, c) <= 0)
          expect(compareCursor(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 1000 },
    );
  });
});
