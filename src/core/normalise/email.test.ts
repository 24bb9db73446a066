import { describe, expect, it } from 'vitest';
import { normaliseEmail } from './email.ts';

describe('normaliseEmail', () => {
  it.each([
    ['  Jane.Doe@Example.COM ', 'jane.doe@example.com'],
    ['jane.doe+offers@gmail.com', 'janedoe@gmail.com'],
    ['Jane.Doe@googlemail.com', 'janedoe@gmail.com'],
    ['jane+x@outlook.com', 'jane@outlook.com'],
    ['jane.doe+x@example.co.uk', 'jane.doe+x@example.co.uk'],
  ])('%s → %s', (raw, expected) => {
    expect(normaliseEmail(raw)).toBe(expected);
  });

  it.each(['', '   ', 'no-at-sign', '@example.com', 'jane@', 'ja ne@example.com', null])(
    'rejects %j',
    (raw) => {
      expect(normaliseEmail(raw)).toBeNull();
    },
  );
});
