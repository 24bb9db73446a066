import { describe, expect, it } from 'vitest';
import { toMatchRecord } from '../core/dedup/matchRecord.ts';
import { MATCH_CACHE_SIZE, MatchCache } from './inboundOwners.ts';

const record = (id: string) => toMatchRecord(id, { firstName: 'Ann', lastName: 'Lee' });

describe('MatchCache', () => {
  it('hands back a record only at the change number it was read at', () => {
    const cache = new MatchCache();
    cache.put('a', 7, record('a'));
    expect(cache.get('a', 7)?.id).toBe('a');
    expect(cache.get('a', 8)).toBeUndefined();
    expect(cache.get('b', 7)).toBeUndefined();
  });

  it('drops the least recently used past its size, a read counting as a use', () => {
    const cache = new MatchCache();
    for (let i = 0; i < MATCH_CACHE_SIZE; i++) cache.put(`c${i}`, 1, record(`c${i}`));
    // A read under an equal id that is another string (as cut from a look-up's text) keeps the entry.
    expect(cache.get(`c${'0'}`, 1)?.id).toBe('c0');
    cache.put('new', 1, record('new'));
    expect(cache.get('c0', 1)?.id).toBe('c0');
    expect(cache.get('c1', 1)).toBeUndefined();
    expect(cache.get('new', 1)?.id).toBe('new');
  });
});
