import { describe, expect, test } from 'vitest';
import { fieldsNewerElsewhere, type StampedContact } from './reconcile.ts';
import { type CanonicalContactInput, canonicalContactSchema } from './schemas.ts';

const contact = (fields: CanonicalContactInput) => canonicalContactSchema.parse(fields);

const createdAt = new Date('2026-03-01T09:00:00.000Z');
const edited = '2026-06-01T09:00:00.000Z';
const local: StampedContact = {
  contact: contact({ firstName: 'Ann', email: 'ann.new@example.org', intentScore: 60 }),
  fieldStamps: { firstName: createdAt.toISOString(), email: edited, intentScore: edited },
  createdAt,
};
/** What the tenant's other CRM was last synced to: the same values as here. */
const elsewhere = [local.contact];

describe('fieldsNewerElsewhere', () => {
  test('a value another CRM holds, edited after this record was last modified, is the newer', () => {
    expect(fieldsNewerElsewhere(local, '2026-05-01T00:00:00Z', elsewhere)).toEqual(new Set(['email']));
  });

  test('a modified value with 100-ns digits and an offset (Reapit) is read as an instant', () => {
    expect(fieldsNewerElsewhere(local, '2026-05-01T00:00:00.1234567+01:00', elsewhere)).toEqual(
      new Set(['email']),
    );
  });

  test('nothing is newer than a record modified after the edit', () => {
    expect(fieldsNewerElsewhere(local, '2026-06-02T00:00:00Z', elsewhere)).toEqual(new Set());
  });

  test('a value unchanged since the contact came in dates nothing', () => {
    expect(fieldsNewerElsewhere(local, '2020-01-01T00:00:00Z', elsewhere).has('firstName')).toBe(false);
  });

  test('a value no other CRM holds is NurtureHub’s own: the CRM decides', () => {
    const other = [contact({ firstName: 'Ann', email: 'ann@example.org' })];
    expect(fieldsNewerElsewhere(local, '2026-05-01T00:00:00Z', other)).toEqual(new Set());
    expect(fieldsNewerElsewhere(local, '2026-05-01T00:00:00Z', [])).toEqual(new Set());
    // Another CRM that cannot store e-mail: its base holds NurtureHub's value, which that CRM never had.
    const { email: _, ...withoutEmail } = local.contact;
    expect(fieldsNewerElsewhere(local, '2026-05-01T00:00:00Z', [withoutEmail])).toEqual(new Set());
  });

  test('a modified value that is no instant proves nothing', () => {
    expect(fieldsNewerElsewhere(local, 'snapshot-7', elsewhere)).toEqual(new Set());
    expect(fieldsNewerElsewhere(local, '2026-05-01 00:00', elsewhere)).toEqual(new Set());
  });
});
