import { describe, expect, it } from 'vitest';
import { toMatchRecord } from './matchRecord.ts';

describe('toMatchRecord', () => {
  it.each(['07000 000000', '01111 111111', '01234 567890', '07123 456789', '07987 654321'])(
    'reads the placeholder phone %s as no phone',
    (phone) => {
      const record = toMatchRecord('a', { lastName: 'Smith', mobilePhone: phone, homePhone: phone });
      expect([...record.personalPhones, ...record.householdPhones]).toEqual([]);
    },
  );

  it('keeps real numbers, Ofcom drama numbers among them', () => {
    const record = toMatchRecord('a', {
      lastName: 'Smith',
      mobilePhone: '07700 900000',
      homePhone: '0117 496 0000',
    });
    expect(record.personalPhones).toEqual(['+447700900000']);
    expect(record.householdPhones).toEqual(['+441174960000']);
  });

  it.each(['1900-01-01', '01/01/1900', '1753-01-01'])(
    'reads the placeholder date of birth %s as none',
    (dateOfBirth) => {
      expect(toMatchRecord('a', { lastName: 'Smith', dateOfBirth }).dateOfBirth).toBeNull();
    },
  );

  it('keeps real dates of birth beside them, 1 January 1970 among them', () => {
    expect(toMatchRecord('a', { lastName: 'Smith', dateOfBirth: '02/01/1900' }).dateOfBirth).toBe(
      '1900-01-02',
    );
    expect(toMatchRecord('a', { lastName: 'Smith', dateOfBirth: '01/01/1970' }).dateOfBirth).toBe(
      '1970-01-01',
    );
  });

  it('keeps a number that only holds a run of counting digits, and numbers abroad', () => {
    const record = toMatchRecord('a', {
      lastName: 'Smith',
      homePhone: '01234 567891',
      workPhone: '+1 212 345 6789',
    });
    expect(record.householdPhones).toEqual(['+441234567891', '+12123456789']);
  });
});
