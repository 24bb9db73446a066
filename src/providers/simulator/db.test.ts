import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reapitDialect } from '../reapit/simulator.ts';
import { SimDb } from './db.ts';

describe('SimDb.modifiedRange', () => {
  // 300 records, 40 of them sharing one `modified` value, so bounds land on ties as well as between records.
  const db = new SimDb(reapitDialect, { contacts: 300, seed: 9, sameModified: 40 });
  const all = db.list();
  const times = all.map((r) => Date.parse(reapitDialect.modified(r)));
  const bound = fc.option(
    fc.oneof(fc.constantFrom(...times), fc.integer({ min: times[0] ?? 0, max: times.at(-1) ?? 0 })),
  );

  it('counts and slices the same records a pass over every record finds, in (modified, id) order', () => {
    fc.assert(
      fc.property(
        bound,
        bound,
        fc.boolean(),
        fc.boolean(),
        fc.nat(320),
        fc.nat(120),
        (from, to, fromExclusive, toExclusive, start, length) => {
          const expected = all.filter((r) => {
            const ms = Date.parse(reapitDialect.modified(r));
            const afterFrom = from === null || (fromExclusive ? ms > from : ms >= from);
            const beforeTo = to === null || (toExclusive ? ms < to : ms <= to);
            return afterFrom && beforeTo;
          });
          const exclusive = { from: fromExclusive, to: toExclusive };
          const range = db.modifiedRange(from, to, exclusive);
          expect(range.count).toBe(expected.length);
          expect(range.slice(start, start + length)).toEqual(expected.slice(start, start + length));
          expect(db.modifiedBetween(from, to, exclusive)).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
