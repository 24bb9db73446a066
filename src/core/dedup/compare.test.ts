import { describe, expect, it } from 'vitest';
import { compareDate, compareGivenName, compareRecords } from './compare.ts';
import { type MatchFields, toMatchRecord } from './matchRecord.ts';

const levels = (a: MatchFields, b: MatchFields) =>
  compareRecords(toMatchRecord('a', a), toMatchRecord('b', b));

describe('compareDate', () => {
  it.each([
    ['1976-03-12', '1976-03-12', 'exact'],
    ['1976-03-12', '1978-03-12', 'close'],
    ['1948-05-11', '1984-05-11', 'close'],
    ['1976-03-12', '1976-03-21', 'close'],
    ['1976-03-12', '1976-12-03', 'close'],
    ['1976-03-12', '1976-04-05', 'close'],
    ['1976-12-20', '1977-01-14', 'close'],
    ['1976-03-12', '1976-06-30', 'different'],
    ['1976-03-12', '1983-07-29', 'different'],
    ['1976-03-12', null, 'missing'],
  ])('%s and %s are %s', (a, b, level) => {
    expect(compareDate(a, b)).toBe(level);
    expect(compareDate(b, a)).toBe(level);
  });
});

describe('compareGivenName', () => {
  it.each([
    ['tom', 'thomas', 'close'],
    ['rhomas', 'tom', 'close'],
    ['reggie', 'reginald', 'close'],
    ['rhomas', 'thomzs', 'close'],
    ['thomzs', 'tomm', 'close'],
    ['gwilym', 'iorwerth', 'different'],
    ['jack', 'jake', 'different'],
    ['john', 'joan', 'different'],
    // Both known names, one starting with the other: a brother and a sister (or two men), not a name cut short.
    ['paul', 'pauline', 'different'],
    ['louis', 'louise', 'different'],
    ['nathan', 'nathaniel', 'different'],
    ['kath', 'katherine', 'close'],
    ['chris', 'christopher', 'close'],
    ['olivia', 'connor', 'different'],
    ['j', 'john', 'missing'],
    // A hyphenated name is one name: against its first part alone it is a daughter against her mother.
    ['anne', 'anne-marie', 'different'],
    ['lily', 'lily-mae', 'different'],
    ['marie', 'anne-marie', 'different'],
    ['mary-jane', 'mary-jo', 'different'],
    ['anne-marie', 'annemarie', 'close'],
    ['ann-marie', 'anne-marie', 'close'],
    ['katie-lynn', 'kate-lynn', 'close'],
  ])('%s and %s are %s', (a, b, level) => {
    expect(compareGivenName(a, b)).toBe(level);
    expect(compareGivenName(b, a)).toBe(level);
  });
});

describe('compareRecords', () => {
  it('reads names agreeing exactly the wrong way round as exact, and with a typo as close', () => {
    const exact = levels(
      { firstName: 'Holly', lastName: 'Thomson' },
      { firstName: 'Thomson', lastName: 'Holly' },
    );
    expect([exact.firstName, exact.lastName]).toEqual(['exact', 'exact']);
    const typo = levels(
      { firstName: 'Holly', lastName: 'Thomson' },
      { firstName: 'Thomsen', lastName: 'Holly' },
    );
    expect([typo.firstName, typo.lastName]).toEqual(['close', 'close']);
  });

  it('reads a hyphenated given name typed with a space as close, and its first part alone as different', () => {
    const given = (a: string, b: string) => [
      levels({ firstName: a }, { firstName: b }).firstName,
      levels({ firstName: b }, { firstName: a }).firstName,
    ];
    expect(given('Anne-Marie', 'Anne Marie')).toEqual(['close', 'close']);
    expect(given('Anne-Marie', 'Anne M.')).toEqual(['close', 'close']);
    expect(given('Anne-Marie', 'Anne')).toEqual(['different', 'different']);
    expect(given('Anne-Marie', 'Anne Louise')).toEqual(['different', 'different']);
  });

  it('reads two neighbouring postcode characters swapped as close', () => {
    expect(levels({ address: { postcode: 'LS6 2AB' } }, { address: { postcode: 'LS6 2BA' } }).postcode).toBe(
      'close',
    );
  });

  it('reads line 1 typed into line 2 as close, and a bare house number as missing', () => {
    const swapped = levels(
      { address: { line1: '23 Gundulu Place', line2: 'Curringa' } },
      { address: { line1: 'Curringa', line2: 'Gundulu Place' } },
    );
    expect(swapped.addressLine1).toBe('close');
    const bare = levels({ address: { line1: '26 Namoi Place' } }, { address: { line1: '26' } });
    expect(bare.addressLine1).toBe('missing');
    const otherHouse = levels(
      { address: { line1: '26 Namoi Place' } },
      { address: { line1: '62 Namoi Place' } },
    );
    expect(otherHouse.addressLine1).toBe('different');
  });

  it.each([
    ['Flat 2, 12 High St', 'Flat 3, 12 High St', 'different'],
    ['12 High St, Flat 2', '12 High St, Flat 3', 'different'],
    ['2/12 High St', '3/12 High St', 'different'],
    ['Flat 2', 'Flat 3', 'different'],
    ['Flat 2, 12 High St', '12 High Street, Flat 2', 'exact'],
    ['Apartment 2, 12 High St', '2/12 High Street', 'exact'],
    ['Flat 2, 12 High St', '12 High St', 'close'],
  ])('reads line 1 %s and %s as %s: another flat is another address', (a, b, level) => {
    expect(levels({ address: { line1: a } }, { address: { line1: b } }).addressLine1).toBe(level);
    expect(levels({ address: { line1: b } }, { address: { line1: a } }).addressLine1).toBe(level);
  });

  it('reads a surname typed into the given-name box as the surname, and any other lone name as a given name', () => {
    const albert = { firstName: 'Albert', lastName: 'Toft' };
    const lone = levels({ firstName: 'Toft' }, albert);
    expect([lone.firstName, lone.lastName]).toEqual(['missing', 'exact']);
    const typo = levels({ firstName: 'Tofft' }, albert);
    expect([typo.firstName, typo.lastName]).toEqual(['missing', 'close']);
    expect(levels({ firstName: 'George' }, albert).firstName).toBe('different');
  });

  it('reads an impossible date of birth as close when a typo explains it, else as missing, never different', () => {
    const typed = { dateOfBirth: '1859-05-73' };
    expect(levels(typed, { dateOfBirth: '1859-05-13' }).dateOfBirth).toBe('close');
    expect(levels(typed, { dateOfBirth: '1859-05-73' }).dateOfBirth).toBe('close');
    expect(levels(typed, { dateOfBirth: '1901-01-01' }).dateOfBirth).toBe('missing');
  });

  it.each([
    ['e.page1i3@dyer-wiliams.com', 'e.page13@dyer-williams.com', 'close'],
    ['j.t@pierceeib.z', 'j.t@pierce.biz', 'close'],
    ['john.smith@example.com', 'jane.smith@example.com', 'different'],
  ])('reads e-mails %s and %s as %s', (a, b, level) => {
    expect(levels({ email: a }, { email: b }).email).toBe(level);
  });

  it.each([
    ['Bimminghar', 'Birmingham', 'close'],
    ['Devon', 'West Devon', 'close'],
    ['Newcastle', 'Newcastle upon Tyne', 'close'],
    ['Leeds', 'Leek', 'different'],
  ])('reads towns %s and %s as %s', (a, b, level) => {
    expect(levels({ address: { town: a } }, { address: { town: b } }).town).toBe(level);
  });
});
