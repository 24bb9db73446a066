import { describe, expect, it } from 'vitest';
import { altoPhone } from './mapping.ts';

describe('altoPhone', () => {
  it.each([
    // An extension is left out: its digits glued on made another number.
    ['020 7946 0000 ext 214', '020 7946 0000'],
    ['07700-900-123 x12', '07700 900 123'],
    ['+442079460000;ext=214', '+442079460000'],
    // The trunk 0 of an international number is not dialled.
    ['+44 (0)20 7946 0000', '+44 20 7946 0000'],
    ['+44(0)7700 900123', '+44 7700 900123'],
    // …but a national number keeps its leading 0.
    ['(020) 7946 0000', '020 7946 0000'],
    ['0044 20 7946 0000', '+44 20 7946 0000'],
    ['07700 900123', '07700 900123'],
    ['12345', null],
    [null, null],
  ])('%s → %s', (typed, sent) => {
    expect(altoPhone(typed)).toBe(sent);
  });
});
