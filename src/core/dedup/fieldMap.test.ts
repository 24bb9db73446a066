import { describe, expect, it } from 'vitest';
import { parseFieldMap, rowToMatchFields } from './fieldMap.ts';

describe('field maps', () => {
  const columns = ['id', 'given', 'number', 'street'];

  it('joins mapped columns with a space and trims values', () => {
    const map = parseFieldMap(['firstName=given', 'address.line1=number+street'], columns);
    expect(map.ok).toBe(true);
    if (!map.ok) return;
    const fields = rowToMatchFields(
      { id: '1', given: '  Ann ', number: ' 12', street: 'High St' },
      map.value,
    );
    expect(fields.firstName).toBe('Ann');
    expect(fields.address?.line1).toBe('12 High St');
    expect(fields.email).toBeNull();
  });

  it.each([
    [['firstname=given'], { kind: 'unknownField', field: 'firstname' }],
    [['firstName=nope'], { kind: 'missingColumn', column: 'nope' }],
    [['firstName'], { kind: 'badSyntax', spec: 'firstName' }],
    [['address.line1=number+'], { kind: 'badSyntax', spec: 'address.line1=number+' }],
    [['address.line1=number', 'address.line1=street'], { kind: 'repeatedField', field: 'address.line1' }],
  ])('rejects %j', (specs, error) => {
    expect(parseFieldMap(specs, columns)).toEqual({ ok: false, error });
  });
});
