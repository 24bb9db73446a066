import { describe, expect, it } from 'vitest';
import { valueFrequencies } from './frequencies.ts';
import { type MatchFields, toMatchRecord } from './matchRecord.ts';
import { scorePair } from './scorePair.ts';
import { fieldWeight, fieldWeights, matchThreshold } from './weights.ts';

// A book of 1,000 contacts where Robert and Smith are common and Elkanah and Armitage rare.
const population = Array.from({ length: 1000 }, (_, i) =>
  toMatchRecord(`p${i}`, {
    firstName: i % 5 === 0 ? 'Robert' : `Given${i % 300}`,
    lastName: i % 10 === 0 ? 'Smith' : `Surname${i}`,
    address: { town: i % 4 === 0 ? 'Leeds' : `Town${i % 150}` },
  }),
);
population.push(toMatchRecord('rare', { firstName: 'Elkanah', lastName: 'Armitage' }));
const frequencies = valueFrequencies(population);
const record = (fields: MatchFields) => toMatchRecord('x', fields);

describe('fieldWeight with value frequencies', () => {
  it('weighs a nickname of a common name less, and a slip of a rare name more, than the table', () => {
    const common = fieldWeight(
      'firstName',
      'close',
      record({ firstName: 'Bob' }),
      frequencies,
      record({ firstName: 'Robert' }),
    );
    const rare = fieldWeight(
      'firstName',
      'close',
      record({ firstName: 'Elkanzh' }),
      frequencies,
      record({ firstName: 'Elkanah' }),
    );
    expect(common).toBeLessThan(fieldWeights.firstName.close);
    expect(rare).toBeGreaterThan(fieldWeights.firstName.close);
    expect(rare).toBeLessThan(
      fieldWeight('firstName', 'exact', record({ firstName: 'Elkanah' }), frequencies),
    );
  });

  it('keeps the table weight for a postcode in the same sector, whose share the full postcode does not tell', () => {
    const a = record({ address: { postcode: 'LS6 2AB' } });
    const b = record({ address: { postcode: 'LS6 2XY' } });
    expect(fieldWeight('postcode', 'close', a, frequencies, b)).toBe(fieldWeights.postcode.close);
  });

  it('does not merge two people of a common name in one town, one of them under a nickname', () => {
    const bob = { firstName: 'Bob', lastName: 'Smith', address: { town: 'Leeds' } };
    const pair = scorePair(record(bob), record({ ...bob, firstName: 'Robert' }), frequencies);
    expect(pair.levels.firstName).toBe('close');
    expect(pair.score).toBeLessThan(matchThreshold);
  });
});
