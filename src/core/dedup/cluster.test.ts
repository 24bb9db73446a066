import { describe, expect, it } from 'vitest';
import { clusterRecords } from './cluster.ts';
import { type MatchFields, toMatchRecord } from './matchRecord.ts';

const records = (rows: Record<string, MatchFields>) =>
  Object.entries(rows).map(([id, f]) => toMatchRecord(id, f));

describe('clusterRecords', () => {
  it('groups duplicates, names clusters by their first row and explains each suppression', () => {
    const result = clusterRecords(
      records({
        r1: {
          firstName: 'Robert',
          lastName: 'Ashworth',
          email: 'rob@ashworth.me',
          dateOfBirth: '1960-02-03',
        },
        r2: { firstName: 'Sue', lastName: 'Nowak', mobilePhone: '07700 900001' },
        r3: { firstName: 'Bob', lastName: 'Ashworth', email: 'ROB@ashworth.me', dateOfBirth: '03/02/1960' },
      }),
    );
    expect(result.clusterIds).toEqual(['r1', 'r2', 'r1']);
    expect(result.clusters).toEqual([['r1', 'r3'], ['r2']]);
    expect(result.explanations).toEqual([
      expect.objectContaining({
        recordId: 'r3',
        matchedId: 'r1',
        rule: 'weightAboveThreshold',
        agreedFields: ['firstName', 'lastName', 'dateOfBirth', 'email'],
      }),
    ]);
  });

  it('never chains two different people through a third record', () => {
    // b has no date of birth and matches both a and c; a and c are parent and child of one name.
    const home = { line1: '4 Mill Lane', postcode: 'BS7 8WP', town: 'Bristol' };
    const person = { firstName: 'Richard', lastName: 'Pemberton', homePhone: '0117 496 0000', address: home };
    const result = clusterRecords(
      records({
        a: { ...person, dateOfBirth: '1954-11-14', email: 'dick@pemberton.me' },
        b: { ...person, email: 'dick@pemberton.me' },
        c: { ...person, dateOfBirth: '1981-10-02' },
      }),
    );
    expect(result.clusterIds[0]).not.toBe(result.clusterIds[2]);
    expect(result.clusterIds[1]).toBe('a');
  });

  it('keeps the bare copy of one twin out of the other twin cluster', () => {
    // The bare copies alone would merge (no e-mail or mobile on either side), but each twin's own record holds a
    // mobile, so the join across the clusters is refused.
    const home = { line1: '4 Mill Lane', postcode: 'BS7 8WP', town: 'Bristol' };
    const twin = { lastName: 'Pemberton', dateOfBirth: '1990-06-14', address: home };
    const result = clusterRecords(
      records({
        connor: { ...twin, firstName: 'Connor', mobilePhone: '07700 900123' },
        olivia: { ...twin, firstName: 'Olivia', mobilePhone: '07700 900456' },
        connorCopy: { ...twin, firstName: 'Connor' },
        oliviaCopy: { ...twin, firstName: 'Olivia' },
      }),
    );
    expect(result.clusters).toEqual([
      ['connor', 'connorCopy'],
      ['olivia', 'oliviaCopy'],
    ]);
  });

  it('compares far fewer pairs than n² on a realistic batch', () => {
    const rows = Array.from({ length: 2000 }, (_, i) =>
      toMatchRecord(`c${i}`, {
        firstName: ['Ann', 'Tom', 'Raj', 'Eve'][i % 4],
        lastName: `Surname${i % 500}`,
        email: `person${i}@example.com`,
        address: { postcode: `LS${i % 30} ${i % 9}AB` },
      }),
    );
    const { candidatePairs } = clusterRecords(rows);
    expect(candidatePairs).toBeLessThan((2000 * 1999) / 2 / 40);
  });
});
