import { describe, expect, it } from 'vitest';
import { toMatchRecord } from '../core/dedup/matchRecord.ts';
import { MATCH_CACHE_SIZE, MatchCache } from './inboundOwners.ts';

const record = (id: string) => toMatchRecord(id, { firstName: 'Ann', lastName: 'Lee' });

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
