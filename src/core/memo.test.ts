import { describe, expect, it } from 'vitest';
import { boundedMemo } from './memo.ts';

describe('boundedMemo', () => {
  it('computes each key once while it is cached, and stays within its bound', () => {
    const calls: string[] = [];
    const upper = boundedMemo((key: string) => {
      calls.push(key);
      return key.toUpperCase();
    }, 4);
    expect([upper('a'), upper('a'), upper('b')]).toEqual(['A', 'A', 'B']);
    expect(calls).toEqual(['a', 'b']);
    for (const key of ['c', 'd', 'e', 'f']) upper(key);
    upper('a');
    // 'a' was among the oldest half dropped when the cache filled, so it is computed again.
    expect(calls.filter((k) => k === 'a')).toHaveLength(2);
  });

  it('caches null results too', () => {
    let count = 0;
    const none = boundedMemo(() => {
      count += 1;
      return null;
    });
    none('x');
    none('x');
    expect(count).toBe(1);
  });
});
