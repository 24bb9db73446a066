import { describe, expect, it } from 'vitest';
import { toMatchRecord } from '../core/dedup/matchRecord.ts';
import { MATCH_CACHE_SIZE, MatchCache } from './inboundOwners.ts';

const record = (id: string) => toMatchRecord(id, { firstName: 'Ann', lastName: 'Lee' });

describe('MatchCache', () => {
  it('knows the change number each record was read at', () => {
    const cache = new MatchCache();
    cache.put('a', 7, record('a'));
    expect(cache.seqOf('a')).toBe(7);
    expect(cache.seqOf('b')).toBeNull();
    cache.put('a', 9, record('a'));
    expect(cache.seqOf('a')).toBe(9);
    expect(cache.use('a')?.id).toBe('a');
    expect(cache.use('b')).toBeUndefined();
  });

  it('drops the least recently used past its size, a use counting', () => {
    const cache = new MatchCache();
    for (let i = 0; i < MATCH_CACHE_SIZE; i++) cache.put(`c${i}`, 1, record(`c${i}`));
    // A use under an equal id that is another string (as cut from a look-up's text) keeps the entry.
    expect(cache.use(`c${'0'}`)?.id).toBe('c0');
    cache.put('new', 1, record('new'));
    expect(cache.seqOf('c0')).toBe(1);
    expect(cache.seqOf('c1')).toBeNull();
    expect(cache.use('new')?.id).toBe('new');
  });
});
