import { describe, expect, it } from 'vitest';
import { isStorableText, toStorableJson, unstorableTextPath } from './storableText.ts';

describe('storable text', () => {
  it('refuses U+0000 and an unpaired surrogate, and keeps a paired one', () => {
    expect(isStorableText('Ann O’Brien 😀')).toBe(true);
    expect(isStorableText('Ann\u0000')).toBe(false);
    expect(isStorableText('Ann\ud83d')).toBe(false);
    expect(isStorableText('\ude00Ann')).toBe(false);
  });

  it('names the first string or key the store cannot hold', () => {
    expect(unstorableTextPath({ a: ['ok', { b: 'x\u0000' }] })).toBe('a.1.b');
    expect(unstorableTextPath({ a: { 'k\ud800': 1 } })).toBe('a.k\ud800');
    expect(unstorableTextPath('\u0000')).toBe('(input)');
    expect(unstorableTextPath({ a: 1, b: null, c: new Date(0), d: ['fine'] })).toBeNull();
  });

  it('replaces each unstorable character in strings and keys with U+FFFD for diagnostics', () => {
    expect(toStorableJson({ 'k\u0000': ['a\ud800b', 2, null] })).toEqual({
      'k\uFFFD': ['a\uFFFDb', 2, null],
    });
  });
});
