import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reapitDialect } from '../reapit/simulator.ts';
import { SimDb } from './db.ts';
import type { SeedContact } from './generator.ts';

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

describe('SimDb.insertCreated with createVisibleAfterMs', () => {
  const late: SeedContact = {
    title: null,
    firstName: 'Ada',
    lastName: 'Late',
    email: 'ada.late@example.co.uk',
    mobilePhone: null,
    homePhone: null,
    workPhone: null,
    address: null,
    dateOfBirth: null,
    marketingConsent: 'grant',
    archived: false,
  };
  const built = (db: SimDb<ReturnType<typeof reapitDialect.fromSeed>>, atMs: number) =>
    db.insertCreated((id) => reapitDialect.fromSeed(late, id, atMs, atMs));

  it('keeps a created record out of listing, range and get until its time, while listAll holds it', () => {
    let nowMs = Date.parse('2025-06-01T09:00:00Z');
    const db = new SimDb(reapitDialect, { contacts: 5, seed: 2, createVisibleAfterMs: 60_000 }, () => nowMs);
    const record = built(db, nowMs);
    const id = reapitDialect.id(record);
    const shown = () => db.list().map(reapitDialect.id);

    expect(shown()).not.toContain(id);
    expect(db.modifiedRange(nowMs, null).count).toBe(0);
    expect(db.get(id)).toBeUndefined();
    expect(db.listAll().map(reapitDialect.id)).toContain(id);
    expect(db.listAll()).toHaveLength(6);

    nowMs += 60_000;
    expect(shown()).toContain(id);
    expect(db.modifiedRange(nowMs - 60_000, null).count).toBe(1);
    expect(db.get(id)).toEqual(record);
  });

  it('shows a created record at once by default', () => {
    const db = new SimDb(reapitDialect, { contacts: 5, seed: 2 });
    const id = reapitDialect.id(built(db, Date.now()));
    expect(db.get(id)).toBeDefined();
    expect(db.list().map(reapitDialect.id)).toContain(id);
  });
});

describe('SimDb.applyEdits', () => {
  const modifiedOf = (db: SimDb<ReturnType<typeof reapitDialect.fromSeed>>, ids: string[]) =>
    ids.map((id) => {
      const record = db.get(id);
      if (record === undefined) throw new Error(`${id} not shown`);
      return Date.parse(reapitDialect.modified(record));
    });

  it('saves every edit of a call at one instant by default (a bulk save)', () => {
    const nowMs = Date.parse('2025-06-01T09:00:00Z');
    const db = new SimDb(reapitDialect, { contacts: 50, seed: 4 }, () => nowMs);
    const changed = db.applyEdits({ count: 20, seed: 2 });
    expect(changed.length).toBeGreaterThan(1);
    expect([...new Set(modifiedOf(db, changed))]).toEqual([nowMs]);
  });

  it('with apart, saves each edit on its own millisecond up to now, none before an earlier stamp', () => {
    let nowMs = Date.parse('2025-06-01T09:00:00Z');
    const db = new SimDb(reapitDialect, { contacts: 50, seed: 4 }, () => nowMs);
    db.applyEdits({ count: 5, seed: 1 });
    nowMs += 10_000;
    const changed = db.applyEdits({ count: 20, seed: 2, apart: true });
    const stamps = modifiedOf(db, changed);
    // A record edited twice in the call shows its later save: the distinct ids hold distinct stamps.
    expect(new Set(stamps).size).toBe(changed.length);
    expect(Math.max(...stamps)).toBe(nowMs);
    expect(Math.min(...stamps)).toBeGreaterThanOrEqual(nowMs - 19);

    // Closer to the last stamp than the call has edits: the earliest share that stamp, none goes before it.
    nowMs += 3;
    const close = modifiedOf(db, db.applyEdits({ count: 20, seed: 3, apart: true }));
    expect(Math.min(...close)).toBe(nowMs - 3);
    expect(Math.max(...close)).toBe(nowMs);
  });
});
