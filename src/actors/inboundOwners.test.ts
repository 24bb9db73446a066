import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openMemoryStore } from '../../test/support/memoryStore.ts';
import { findMatch } from '../core/dedup/findMatch.ts';
import { toMatchRecord } from '../core/dedup/matchRecord.ts';
import { canonicalContactSchema } from '../core/schemas.ts';
import { describeMatch, MATCH_CACHE_SIZE, MatchCache, refreshMatchCache } from './inboundOwners.ts';

const record = (id: string) => toMatchRecord(id, { firstName: 'Ann', lastName: 'Lee' });

describe('describeMatch', () => {
  it('names the fields that agreed exactly apart from those only close to each other', () => {
    const stored = toMatchRecord('c-1', {
      firstName: 'Elizabeth',
      lastName: 'Khan',
      email: 'ekhan@outlook.com',
    });
    const typedTwice = toMatchRecord('crm-1', {
      firstName: 'Elizabeth',
      lastName: 'Khan',
      email: 'EKhan@outlook.com',
    });
    const nickname = toMatchRecord('crm-2', {
      firstName: 'Liz',
      lastName: 'Khan',
      email: 'ekhan@outlook.com',
    });
    const exactly = findMatch(typedTwice, [stored]);
    const closely = findMatch(nickname, [stored]);
    if (exactly === null || closely === null) throw new Error('expected both to match');
    expect(describeMatch(exactly)).toMatch(/; exact: firstName, lastName, email\)$/);
    expect(describeMatch(closely)).toMatch(/; exact: lastName, email; close: firstName\)$/);
  });
});

describe('MatchCache', () => {
  it('drops a record a later change overtook, and keeps one read (or written) at that change', () => {
    const cache = new MatchCache(5);
    cache.put('read-before', 3, record('read-before'));
    cache.put('written-here', 7, record('written-here'));
    cache.put('untouched', 4, record('untouched'));
    cache.applyChanges([
      { id: 'read-before', changeSeq: 6 },
      { id: 'written-here', changeSeq: 7 },
      { id: 'not-cached', changeSeq: 8 },
    ]);
    expect(cache.changesCheckedThrough).toBe(8);
    expect(cache.use('read-before')).toBeUndefined();
    expect(cache.use('written-here')?.id).toBe('written-here');
    expect(cache.use('untouched')?.id).toBe('untouched');
    // No change listed: nothing moves.
    cache.applyChanges([]);
    expect(cache.changesCheckedThrough).toBe(8);
  });

  it('starts over from a high water, never going back', () => {
    const cache = new MatchCache(10);
    cache.put('a', 9, record('a'));
    cache.reset(20);
    expect(cache.use('a')).toBeUndefined();
    expect(cache.changesCheckedThrough).toBe(20);
    cache.reset(15);
    expect(cache.changesCheckedThrough).toBe(20);
  });

  it('drops the least recently used past its size, a use counting', () => {
    const cache = new MatchCache(0);
    for (let i = 0; i < MATCH_CACHE_SIZE; i++) cache.put(`c${i}`, 1, record(`c${i}`));
    // A use under an equal id that is another string (as cut from a look-up's text) keeps the entry.
    expect(cache.use(`c${'0'}`)?.id).toBe('c0');
    cache.put('new', 1, record('new'));
    expect(cache.use('c1')).toBeUndefined();
    expect(cache.use('c0')?.id).toBe('c0');
    expect(cache.use('new')?.id).toBe('new');
  });
});

describe('refreshMatchCache', () => {
  it("accounts for the tenant's changes since it last looked, and starts over past its limit", async () => {
    const opened = await openMemoryStore();
    if (!opened.ok) throw new Error(opened.error.message);
    const store = opened.value;
    const clock = () => new Date();
    const unwrap = <T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T => {
      if (!result.ok) throw new Error(result.error.message);
      return result.value;
    };
    try {
      const tenant = unwrap(await store.createTenant({ name: 'agency', syncIntervalSeconds: 900 }));
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      const save = async (id: string, firstName: string) => {
        const contact = canonicalContactSchema.parse({ firstName, lastName: 'Lee' });
        const written = unwrap(
          await store.upsertContacts({ tenantId: tenant.id, contacts: [{ id, contact }], now: clock() }),
        );
        return written.changeSeqs[id] ?? -1;
      };
      const cache = new MatchCache(unwrap(await store.localChangeHighWater({ tenantId: tenant.id })));
      cache.put(a, await save(a, 'Ann'), record(a));
      cache.put(b, await save(b, 'Bea'), record(b));
      const seqA = await save(a, 'Anne');
      await refreshMatchCache(store, tenant.id, cache, clock);
      expect(cache.use(a)).toBeUndefined();
      expect(cache.use(b)?.id).toBe(b);
      expect(cache.changesCheckedThrough).toBe(seqA);

      cache.put(a, seqA, record(a));
      await save(b, 'Beatrice');
      const last = await save(c, 'Cy');
      await refreshMatchCache(store, tenant.id, cache, clock, 2);
      expect(cache.use(a)).toBeUndefined();
      expect(cache.changesCheckedThrough).toBe(last);
    } finally {
      await store.close();
    }
  });
});
