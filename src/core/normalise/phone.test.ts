import { describe, expect, it } from 'vitest';
import { normalisePhone, phoneValue } from './phone.ts';

describe('normalisePhone', () => {
  it.each(['07700 900123', '+44 7700 900123', '0044 7700900123', '(07700) 900123', '07700-900-123'])(
    '%s is +447700900123',
    (raw) => {
      expect(normalisePhone(raw)).toBe('+447700900123');
    },
  );

  it('keeps landlines and foreign numbers in E.164', () => {
    expect(normalisePhone('020 7946 0958')).toBe('+442079460958');
    expect(normalisePhone('+33 1 23 45 67 89')).toBe('+33123456789');
  });

  it.each(['', 'n/a', '123', null])('gives null for %j', (raw) => {
    expect(normalisePhone(raw)).toBeNull();
  });
});

describe('phoneValue', () => {
  it('is the E.164 number, whatever the spacing or prefix', () => {
    expect(phoneValue('+44 (0)20 7946 0000')).toBe('+442079460000');
    expect(phoneValue('0044 20 7946 0000')).toBe(phoneValue('020 7946 0000'));
  });

  it('keeps the extension, in any of its spellings', () => {
    expect(phoneValue('020 7946 0000 ext. 214')).toBe('+442079460000;ext=214');
    expect(phoneValue('+44 20 7946 0000 x214')).toBe('+442079460000;ext=214');
    expect(phoneValue('020 7946 0000 ext 300')).not.toBe(phoneValue('020 7946 0000 ext 214'));
    expect(phoneValue('020 7946 0000 ext 214')).not.toBe(phoneValue('020 7946 0000'));
    expect(normalisePhone('020 7946 0000 ext 214')).toBe('+442079460000');
  });

  it('keeps a note typed beside the number, which the parser drops', () => {
    expect(phoneValue(' 07700 900123 DO NOT CALL ')).toBe('07700 900123 DO NOT CALL');
    expect(phoneValue('07700 900123 (husband)')).not.toBe(phoneValue('07700 900123'));
    expect(phoneValue('020 7946 0000 ext 214 (reception)')).not.toBe(phoneValue('020 7946 0000 ext 214'));
    expect(phoneValue('020 7946 0000, ext: 214')).toBe('+442079460000;ext=214');
    expect(normalisePhone('07700 900123 (husband)')).toBe('+447700900123');
  });
});
