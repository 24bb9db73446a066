import { describe, expect, it } from 'vitest';
import { normaliseGivenName, normaliseSurname, titleToGender } from './name.ts';
import { areNicknames } from './nicknames.ts';

describe('names', () => {
  it.each([
    ['José', { first: 'jose', middleInitials: '' }],
    ['  MR John A. B. ', { first: 'john', middleInitials: 'ab' }],
    // A hyphenated given name is one name, not a name and a middle initial (Anne-Marie is not Anne M).
    ['Mary-Jane', { first: 'mary-jane', middleInitials: '' }],
    ['Mrs Anne\u2011Marie Louise', { first: 'anne-marie', middleInitials: 'l' }],
    // Typed with another dash (en dash, minus sign, fullwidth hyphen): still one name, not Anne with initial M.
    ['Anne\u2013Marie', { first: 'anne-marie', middleInitials: '' }],
    ['Anne\u2212Marie', { first: 'anne-marie', middleInitials: '' }],
    ['Anne\uFF0DMarie', { first: 'anne-marie', middleInitials: '' }],
    ['Major-General Francis', { first: 'francis', middleInitials: '' }],
    ['Zoë', { first: 'zoe', middleInitials: '' }],
    ['Rt. Hon. Lady Violet', { first: 'violet', middleInitials: '' }],
    ['Capt John A', { first: 'john', middleInitials: 'a' }],
    ['Thomas 1st', { first: 'thomas', middleInitials: '' }],
    // Pasted with characters that show as nothing: zero-width space, soft hyphen, word joiner.
    ['Am\u200Bira', { first: 'amira', middleInitials: '' }],
    ['Am\u00ADira Jo\u2060y', { first: 'amira', middleInitials: 'j' }],
    // Letters NFKD leaves whole, as an English keyboard types them: they split the name (`s r`, `micha l`).
    ['Søren', { first: 'soren', middleInitials: '' }],
    ['Michał', { first: 'michal', middleInitials: '' }],
    ['Æthelred', { first: 'aethelred', middleInitials: '' }],
    // Other scripts kept: folded to a–z they were no name at all.
    ['Иван', { first: 'иван', middleInitials: '' }],
    ['伟', { first: '伟', middleInitials: '' }],
  ])('given name %s', (raw, expected) => {
    expect(normaliseGivenName(raw)).toEqual(expected);
  });

  it.each([
    ["O'Brien", 'obrien'],
    ['Smith-Jones', 'smithjones'],
    ['smith jones', 'smithjones'],
    ['MÜLLER', 'muller'],
    ['Ødegaard', 'odegaard'],
    ['Weiß', 'weiss'],
    ['Петрова', 'петрова'],
  ])('surname %s → %s', (raw, expected) => {
    expect(normaliseSurname(raw)).toBe(expected);
  });

  it('reads gender from titles only where they imply one', () => {
    expect(titleToGender('Mrs.')).toBe('female');
    expect(titleToGender('MR')).toBe('male');
    expect(titleToGender('Dr')).toBeNull();
    expect(titleToGender('Dame')).toBe('female');
    expect(titleToGender('Lady')).toBe('female');
  });

  it.each([
    ['bob', 'robert', true],
    ['liz', 'elizabeth', true],
    ['alex', 'alexandra', true],
    ['alex', 'alexander', true],
    ['ernie', 'ernest', true],
    ['stan', 'stanley', true],
    ['sid', 'sydney', true],
    ['jack', 'jake', false],
    ['john', 'ian', false],
  ])('%s and %s are nicknames: %s', (a, b, expected) => {
    expect(areNicknames(a, b)).toBe(expected);
  });
});
