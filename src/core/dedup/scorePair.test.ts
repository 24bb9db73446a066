import { describe, expect, it } from 'vitest';
import { type MatchFields, toMatchRecord } from './matchRecord.ts';
import { scorePair } from './scorePair.ts';

const base: MatchFields = {
  title: 'Mrs',
  firstName: 'Elizabeth',
  lastName: 'Pemberton',
  email: 'liz.pemberton@gmail.com',
  mobilePhone: '07700 900123',
  homePhone: '0113 496 0000',
  dateOfBirth: '1975-04-12',
  address: { line1: '12 High Street', postcode: 'LS6 2AB', town: 'Leeds' },
};
const johnSmithAt = (line1: string) => ({
  firstName: 'John',
  lastName: 'Smith',
  address: { line1, postcode: 'SW1A 1AA' },
});
const flat12 = { line1: '12 High Street', postcode: 'SW1A 1AA', town: 'London' };
/** One of two Mohammed Khans at 12 High Street, each with an e-mail and a mobile of his own, `line2` his flat. */
const mohammedKhanOf = (line2: string, which: 1 | 2): MatchFields => ({
  firstName: 'Mohammed',
  lastName: 'Khan',
  email: which === 1 ? 'mk1@example.com' : 'mkhan@example.org',
  mobilePhone: `07700 90000${which}`,
  address: { line1: '12 High Street', line2, postcode: 'M1 1AA' },
});
const household = { homePhone: '0117 496 0000', address: { line1: '4 Elm Grove', postcode: 'BS6 6AA' } };
const score = (a: MatchFields, b: MatchFields) => scorePair(toMatchRecord('a', a), toMatchRecord('b', b));

describe('scorePair', () => {
  it('matches one person typed two ways and says which fields agreed', () => {
    const pair = score(base, {
      firstName: 'Liz',
      lastName: 'PEMBERTON',
      email: 'Liz.Pemberton@googlemail.com',
      mobilePhone: '+44 7700 900123',
      dateOfBirth: '12/04/1975',
      address: { line1: '12 High St', postcode: 'ls62ab' },
    });
    expect(pair.isMatch).toBe(true);
    expect(pair.rule).toBe('weightAboveThreshold');
    expect(pair.levels.firstName).toBe('close');
    expect(pair.agreedFields).toEqual([
      'firstName',
      'lastName',
      'dateOfBirth',
      'email',
      'personalPhone',
      'postcode',
      'addressLine1',
    ]);
    expect(pair.closeFields).toEqual(['firstName']);
  });

  it('is symmetric', () => {
    const other: MatchFields = { firstName: 'Beth', lastName: 'Pembertn', dateOfBirth: '1975-04-21' };
    expect(score(base, other)).toEqual(score(other, base));
  });

  it.each<[string, MatchFields, string]>([
    [
      'a family member at one address with the home phone',
      {
        ...base,
        title: 'Mr',
        firstName: 'George',
        email: null,
        mobilePhone: null,
        dateOfBirth: '1973-01-02',
      },
      'firstNameConflict',
    ],
    [
      'a twin',
      { ...base, firstName: 'Charlotte', email: 'charlotte.p@gmail.com', mobilePhone: null },
      'firstNameConflict',
    ],
    [
      'a partner sharing the e-mail address',
      { ...base, title: null, firstName: 'Robert', mobilePhone: null, dateOfBirth: null },
      'firstNameConflict',
    ],
    [
      'a daughter of the same name',
      { ...base, title: 'Miss', email: null, mobilePhone: null, dateOfBirth: '2001-09-30' },
      'dateOfBirthConflict',
    ],
    [
      'a Mr of the same name',
      { ...base, title: 'Mr', firstName: 'Elizabeth', email: null, mobilePhone: null, dateOfBirth: null },
      'genderConflict',
    ],
    [
      'another middle name',
      { ...base, firstName: 'Elizabeth A', email: null, mobilePhone: null },
      'weightAboveThreshold',
    ],
  ])('keeps apart %s', (_, other, rule) => {
    const pair = score(base, other);
    expect(pair.rule).toBe(rule);
    if (rule !== 'weightAboveThreshold') expect(pair.isMatch).toBe(false);
  });

  // José was on Josephine's nickname row, and Cyrillic or Chinese given names folded to nothing (so never differed):
  // each pair below, sharing what a household shares, matched as one person.
  it.each<[string, MatchFields, MatchFields]>([
    [
      'José and Josephine sharing an e-mail and an address',
      { ...base, title: null, firstName: 'José', mobilePhone: null, dateOfBirth: null },
      { ...base, title: null, firstName: 'Josephine', mobilePhone: null, dateOfBirth: null },
    ],
    [
      'Иван and Ольга sharing a home phone and an address',
      { ...base, firstName: 'Иван', lastName: 'Петров', email: null, mobilePhone: null, dateOfBirth: null },
      { ...base, firstName: 'Ольга', lastName: 'Петров', email: null, mobilePhone: null, dateOfBirth: null },
    ],
    [
      '伟 and 娜 sharing an e-mail',
      { firstName: '伟', lastName: '王', email: 'family@example.org' },
      { firstName: '娜', lastName: '王', email: 'family@example.org' },
    ],
  ])('keeps apart %s', (_, a, b) => {
    expect(score(a, b)).toMatchObject({ isMatch: false });
  });

  // A hyphenated given name read as its first part with a middle initial (Anne-Marie as Anne M), and a flat number
  // left to the street's Jaro-Winkler: each pair below matched as one person.
  it.each<[string, MatchFields, MatchFields]>([
    [
      'Anne and her daughter Anne-Marie sharing an e-mail and an address',
      { firstName: 'Anne', lastName: 'Smith', email: 'smiths@example.com', address: flat12 },
      { firstName: 'Anne-Marie', lastName: 'Smith', email: 'smiths@example.com', address: flat12 },
    ],
    [
      'Anne and her daughter Anne–Marie (an en dash) sharing an e-mail and an address',
      { firstName: 'Anne', lastName: 'Smith', email: 'smiths@example.com', address: flat12 },
      { firstName: 'Anne\u2013Marie', lastName: 'Smith', email: 'smiths@example.com', address: flat12 },
    ],
    [
      'Lily and Lily-Mae sharing a landline and an address',
      { firstName: 'Lily', lastName: 'Smith', homePhone: '020 7946 0000', address: flat12 },
      { firstName: 'Lily-Mae', lastName: 'Smith', homePhone: '020 7946 0000', address: flat12 },
    ],
    [
      'two John Smiths in flats 2 and 3 of one building',
      johnSmithAt('Flat 2, 12 High St'),
      johnSmithAt('Flat 3, 12 High St'),
    ],
    [
      'two John Smiths in flats 2 and 3 written after the street',
      johnSmithAt('12 High St, Flat 2'),
      johnSmithAt('12 High St, Flat 3'),
    ],
    [
      'two Mohammed Khans of two flats written on line 2, with two e-mails and two mobiles',
      mohammedKhanOf('Flat 2', 1),
      mohammedKhanOf('Flat 5', 2),
    ],
    [
      'two J Smiths of two flats written on line 2',
      {
        firstName: 'J',
        lastName: 'Smith',
        address: { line1: '12 High Street', line2: 'Flat 2', postcode: 'SW1A 1AA' },
      },
      {
        firstName: 'J',
        lastName: 'Smith',
        address: { line1: '12 High Street', line2: 'Flat 3', postcode: 'SW1A 1AA' },
      },
    ],
    [
      'two John Smiths of two flats written on line 1, the building on line 2',
      {
        firstName: 'John',
        lastName: 'Smith',
        address: { line1: 'Flat 2', line2: '12 High Street', postcode: 'SW1A 1AA' },
      },
      {
        firstName: 'John',
        lastName: 'Smith',
        address: { line1: 'Flat 5', line2: '12 High Street', postcode: 'SW1A 1AA' },
      },
    ],
  ])('keeps apart %s', (_, a, b) => {
    expect(score(a, b)).toMatchObject({ isMatch: false });
  });

  it('reads one flat written two ways as one person', () => {
    const john = { firstName: 'John', lastName: 'Smith' };
    const pair = score(
      { ...john, address: { line1: 'Flat 2, 12 High St', postcode: 'SW1A 1AA' } },
      { ...john, address: { line1: '2/12 High Street', postcode: 'SW1A 1AA' } },
    );
    expect(pair.levels.addressLine1).toBe('exact');
    expect(pair.isMatch).toBe(true);
  });

  it('reads a flat of a named building over its street as that flat written without the street', () => {
    const khan = { firstName: 'Mohammed', lastName: 'Khan' };
    const pair = score(
      { ...khan, address: { line1: 'Flat 2 Rose Court', line2: '12 High Street', postcode: 'M1 1AA' } },
      { ...khan, address: { line1: 'Flat 2 Rose Court', postcode: 'M1 1AA' } },
    );
    expect(pair.levels.addressLine1).toBe('exact');
    expect(pair.isMatch).toBe(true);
  });

  it('reads a flat and its building over a locality as written, one address', () => {
    const john = { firstName: 'John', lastName: 'Smith' };
    const pair = score(
      { ...john, address: { line1: 'Flat 2 Rose Court', line2: 'Clifton', postcode: 'BS8 1AA' } },
      { ...john, address: { line1: 'Flat 2 Rose Court', postcode: 'BS8 1AA' } },
    );
    expect(pair.levels.addressLine1).toBe('exact');
  });

  it('reads a flat on a line of its own as the flat written on the building line', () => {
    const john = { firstName: 'John', lastName: 'Smith' };
    const oneLine = { ...john, address: { line1: 'Flat 2, 12 High St', postcode: 'SW1A 1AA' } };
    for (const address of [
      { line1: '12 High Street', line2: 'Flat 2', postcode: 'SW1A 1AA' },
      { line1: 'Flat 2', line2: '12 High Street', postcode: 'SW1A 1AA' },
    ]) {
      const pair = score(oneLine, { ...john, address });
      expect(pair.levels.addressLine1).toBe('exact');
      expect(pair.isMatch).toBe(true);
    }
  });

  // A placeholder a system writes into a required field was scored as a value the two share: each pair matched.
  // 1 January 1970 is a real birthday: read as none, it no longer kept a father apart from his son.
  it.each<[string, MatchFields, MatchFields]>([
    [
      'a father born 1 January 1970 and his son of one name, house and landline, with two e-mails',
      {
        firstName: 'John',
        lastName: 'Smith',
        email: 'js1@example.com',
        dateOfBirth: '1970-01-01',
        ...household,
      },
      {
        firstName: 'John',
        lastName: 'Smith',
        email: 'jsmith@example.org',
        dateOfBirth: '1998-06-20',
        ...household,
      },
    ],
    [
      'two John Smiths with two e-mails and the date of birth 1 January 1900, written two ways',
      { firstName: 'John', lastName: 'Smith', email: 'js1@example.com', dateOfBirth: '1900-01-01' },
      { firstName: 'John', lastName: 'Smith', email: 'jsmith@example.org', dateOfBirth: '01/01/1900' },
    ],
    [
      'two John Smiths with two e-mails and the mobile 07000 000000',
      { firstName: 'John', lastName: 'Smith', email: 'js1@example.com', mobilePhone: '07000 000000' },
      { firstName: 'John', lastName: 'Smith', email: 'jsmith@example.org', mobilePhone: '+44 7000 000000' },
    ],
  ])('keeps apart %s', (_, a, b) => {
    expect(score(a, b)).toMatchObject({ isMatch: false });
  });

  it('still reads a real shared date of birth and mobile (Ofcom drama numbers too) as agreement', () => {
    const john = { firstName: 'John', lastName: 'Smith' };
    const pair = score(
      { ...john, email: 'js1@example.com', dateOfBirth: '1900-01-02', mobilePhone: '07700 900000' },
      { ...john, email: 'jsmith@example.org', dateOfBirth: '02/01/1900', mobilePhone: '07700 900000' },
    );
    expect(pair.agreedFields).toEqual(expect.arrayContaining(['dateOfBirth', 'personalPhone']));
  });

  it('reads Søren typed Soren, and Michał typed Michal, as one person', () => {
    expect(score({ ...base, firstName: 'Søren' }, { ...base, firstName: 'Soren' })).toMatchObject({
      isMatch: true,
    });
    expect(score({ ...base, firstName: 'Michał' }, { ...base, firstName: 'Michal' })).toMatchObject({
      isMatch: true,
    });
  });

  it('refuses a conflicting middle initial when both have one', () => {
    const pair = score({ ...base, firstName: 'Elizabeth B' }, { ...base, firstName: 'Elizabeth A' });
    expect(pair.rule).toBe('middleInitialConflict');
  });

  it('does not merge two people of a common name in one town on that alone', () => {
    const john = { firstName: 'John', lastName: 'Smith', address: { town: 'Leeds' } };
    const pair = score({ ...john, email: 'js@a.com' }, { ...john, dateOfBirth: '1980-01-01' });
    expect(pair.isMatch).toBe(false);
    expect(pair.rule).toBe('weightBelowThreshold');
  });

  it('reads a given name and surname entered the wrong way round as one person', () => {
    const pair = score(base, { ...base, firstName: 'Pemberton', lastName: 'Elizabeth' });
    expect(pair.levels.firstName).toBe('exact');
    expect(pair.isMatch).toBe(true);
  });

  it('reads a date of birth with two digits swapped as a typo, not a parent or child', () => {
    const pair = score(base, { ...base, email: null, mobilePhone: null, dateOfBirth: '1957-04-12' });
    expect(pair.levels.dateOfBirth).toBe('close');
    expect(pair.isMatch).toBe(true);
  });

  it('keeps apart a parent and child of one name whose dates one digit apart are a generation apart', () => {
    // Each with an e-mail and mobile of their own; the slip 1958 / 1988 would otherwise read as a typo.
    const father = {
      ...base,
      title: 'Mr',
      firstName: 'George',
      lastName: 'Whitfield',
      dateOfBirth: '1958-05-17',
    };
    const son = {
      ...father,
      email: 'gwhitfield88@gmail.com',
      mobilePhone: '07700 900422',
      dateOfBirth: '1988-05-17',
    };
    expect(score(father, son).rule).toBe('dateOfBirthConflict');
    expect(score({ ...son, email: father.email }, son).rule).toBe('weightAboveThreshold');
    // A shared mailbox does not make them one person either; a year one digit apart within a generation is a typo.
    expect(score(father, { ...son, email: father.email }).rule).toBe('dateOfBirthConflict');
    expect(score(father, { ...son, dateOfBirth: '1953-05-17' }).levels.dateOfBirth).toBe('close');
    expect(score(father, { ...son, dateOfBirth: '1953-05-17' }).rule).not.toBe('dateOfBirthConflict');
    // A generation is 15 years, not 30: a slip of 20 years (1958 / 1978) keeps them apart too.
    expect(score(father, { ...son, dateOfBirth: '1978-05-17' }).levels.dateOfBirth).toBe('close');
    expect(score(father, { ...son, dateOfBirth: '1978-05-17' }).rule).toBe('dateOfBirthConflict');
  });

  it('reads one e-mail address with nothing else differing as one person, however little else there is', () => {
    const kim = { firstName: 'Kim', lastName: 'Lee', email: 'kim.lee@example.com' };
    const pair = score(kim, { lastName: 'Lee', email: 'Kim.Lee@example.com' });
    expect(pair.score).toBeLessThan(24);
    expect(pair).toMatchObject({ rule: 'sameEmailNothingDiffers', isMatch: true });
    expect(score({ email: 'solo@example.com' }, { email: 'SOLO@example.com' }).isMatch).toBe(true);
    // Anything that differs leaves it to the weights (a household's shared mailbox): another phone, another name.
    const kimsMobile = { ...kim, mobilePhone: '07700 900123' };
    expect(score(kimsMobile, { ...kim, firstName: null, mobilePhone: '07700 900456' }).rule).toBe(
      'weightBelowThreshold',
    );
    expect(score(kim, { ...kim, lastName: 'Park' }).isMatch).toBe(false);
    expect(score(kim, { ...kim, firstName: 'Sam', mobilePhone: '07700 900456' }).rule).toBe(
      'firstNameConflict',
    );
  });

  it('keeps apart two namesakes born years apart even when they share one e-mail address', () => {
    // A shared mailbox is what families do; it cannot outweigh a new date of birth.
    const pair = score(base, { ...base, mobilePhone: null, homePhone: null, dateOfBirth: '1979-09-30' });
    expect(pair.levels.email).toBe('exact');
    expect(pair.rule).toBe('dateOfBirthConflict');
  });

  it('keeps apart two namesakes at one postcode born months apart', () => {
    // A date within two years is not vetoed; what it weighs must stay below agreement, or name + postcode
    // (22.5 bits) would cross the threshold.
    const john = { firstName: 'John', lastName: 'Smith', address: { postcode: 'LS6 2AB' } };
    const pair = score({ ...john, dateOfBirth: '1980-01-01' }, { ...john, dateOfBirth: '1980-09-20' });
    expect(pair.levels.dateOfBirth).toBe('different');
    expect(pair.isMatch).toBe(false);
  });

  it('reads a surname typed into the given-name box as one person with the full name', () => {
    const full = {
      firstName: 'Albert',
      lastName: 'Toft',
      dateOfBirth: '1962-01-01',
      address: { postcode: 'B21 8JE' },
    };
    const pair = score(full, { ...full, firstName: 'Toft', lastName: null });
    expect(pair.rule).toBe('weightAboveThreshold');
  });

  describe('between records without an e-mail or mobile, the given-name and date vetoes are scored', () => {
    // Twins and parent and child carry their own contact details; two records with neither are scored instead.
    const bare: MatchFields = {
      firstName: 'Connor',
      lastName: 'Pemberton',
      dateOfBirth: '1990-06-14',
      address: { line1: '12 High Street', postcode: 'LS6 2AB', town: 'Leeds' },
    };

    it('keeps apart twins who each hold a mobile', () => {
      const pair = score(
        { ...bare, mobilePhone: '07700 900123' },
        { ...bare, firstName: 'Olivia', mobilePhone: '07700 900456' },
      );
      expect(pair.rule).toBe('firstNameConflict');
    });

    it('keeps the veto when only one side holds an e-mail', () => {
      const pair = score({ ...bare, email: 'connor@pemberton.me' }, { ...bare, firstName: 'Olivia' });
      expect(pair.rule).toBe('firstNameConflict');
    });

    it('merges a record identical in surname, date of birth and address with another given name', () => {
      const pair = score(bare, { ...bare, firstName: 'Olivia' });
      expect(pair.levels.firstName).toBe('different');
      expect(pair.rule).toBe('weightAboveThreshold');
    });

    it('merges one name at one address with a date decades away only when the rest is strong', () => {
      const child = { dateOfBirth: '2019-06-14' };
      expect(score(bare, { ...bare, ...child }).rule).toBe('weightAboveThreshold');
      const thin = { ...bare, address: { postcode: 'LS6 2AB', town: 'Leeds' } };
      expect(score(thin, { ...thin, ...child }).rule).toBe('weightBelowThreshold');
    });

    it('keeps apart two members of one household sharing surname, address and landline', () => {
      const household = { ...bare, dateOfBirth: null, homePhone: '0113 496 0000' };
      const pair = score(household, { ...household, firstName: 'Olivia' });
      expect(pair.levels.householdPhone).toBe('exact');
      expect(pair.rule).toBe('weightBelowThreshold');
    });
  });
});
