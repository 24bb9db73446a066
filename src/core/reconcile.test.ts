import { describe, expect, test } from 'vitest';
import {
  bothChanged,
  decideInbound,
  type FieldModified,
  fieldsEditedLaterElsewhere,
  fieldsNewerElsewhere,
  type HeldElsewhere,
  type InboundDecisionInput,
  type StampedContact,
} from './reconcile.ts';
import { type CanonicalContactInput, canonicalContactSchema } from './schemas.ts';

const contact = (fields: CanonicalContactInput) => canonicalContactSchema.parse(fields);

const createdAt = new Date('2026-03-01T09:00:00.000Z');
const edited = '2026-06-01T09:00:00.000Z';
const local: StampedContact = {
  contact: contact({ firstName: 'Ann', email: 'ann.new@example.org', intentScore: 60 }),
  fieldStamps: { firstName: createdAt.toISOString(), email: edited, intentScore: edited },
  createdAt,
};
const held = (base: HeldElsewhere['base'], fieldModified: FieldModified = {}): HeldElsewhere => ({
  base,
  fieldModified,
});
/** What the tenant's other CRM was last synced to: the same values as here. */
const elsewhere = [held(local.contact)];

describe('fieldsNewerElsewhere', () => {
  test('a value another CRM holds, edited after this record was last modified, is the newer', () => {
    expect(fieldsNewerElsewhere(local, '2026-05-01T00:00:00Z', elsewhere)).toEqual(new Set(['email']));
  });

  test('a modified value with 100-ns digits and an offset (Reapit) is read as an instant', () => {
    expect(fieldsNewerElsewhere(local, '2026-05-01T00:00:00.1234567+01:00', elsewhere)).toEqual(
      new Set(['email']),
    );
  });

  test('a record with no edit instant (agentOS, stamped with the time of listing) proves nothing older', () => {
    expect(fieldsNewerElsewhere(local, null, elsewhere)).toEqual(new Set());
  });

  test('nothing is newer than a record modified after the edit', () => {
    expect(fieldsNewerElsewhere(local, '2026-06-02T00:00:00Z', elsewhere)).toEqual(new Set());
  });

  test('a value unchanged since the contact came in dates nothing', () => {
    expect(fieldsNewerElsewhere(local, '2020-01-01T00:00:00Z', elsewhere).has('firstName')).toBe(false);
  });

  test('a value another CRM sent with a later modified than this record is the newer, unchanged here or not', () => {
    // Two CRMs loaded together: the other created the contact with the name it had edited on 1 April.
    const dated = [held(local.contact, { firstName: '2026-04-01T00:00:00.000Z' })];
    expect(fieldsNewerElsewhere(local, '2026-03-15T00:00:00Z', dated).has('firstName')).toBe(true);
    expect(fieldsNewerElsewhere(local, '2026-04-02T00:00:00Z', dated).has('firstName')).toBe(false);
  });

  test('a value no other CRM holds is NurtureHub’s own: the CRM decides', () => {
    const other = [held(contact({ firstName: 'Ann', email: 'ann@example.org' }))];
    expect(fieldsNewerElsewhere(local, '2026-05-01T00:00:00Z', other)).toEqual(new Set());
    expect(fieldsNewerElsewhere(local, '2026-05-01T00:00:00Z', [])).toEqual(new Set());
    // Another CRM that cannot store e-mail: its base holds NurtureHub's value, which that CRM never had.
    const { email: _, ...withoutEmail } = local.contact;
    expect(fieldsNewerElsewhere(local, '2026-05-01T00:00:00Z', [held(withoutEmail)])).toEqual(new Set());
  });

  test('a modified value that is no instant proves nothing', () => {
    expect(fieldsNewerElsewhere(local, 'snapshot-7', elsewhere)).toEqual(new Set());
    expect(fieldsNewerElsewhere(local, '2026-05-01 00:00', elsewhere)).toEqual(new Set());
  });
});

describe('fieldsEditedLaterElsewhere', () => {
  const now = contact({ firstName: 'Ann', email: 'ann.new@example.org', mobilePhone: '+447700900123' });
  /** Another CRM that sent the e-mail at 10:05 and the name on 1 March. */
  const other = [held(now, { email: '2026-06-01T10:05:00.000Z', firstName: '2026-03-01T09:00:00.000Z' })];

  test('a value another CRM sent with a later modified instant than this record is the later edit', () => {
    expect(fieldsEditedLaterElsewhere(now, '2026-06-01T10:00:00Z', other)).toEqual(new Set(['email']));
    expect(fieldsEditedLaterElsewhere(now, '2026-06-01T11:04:59.9999999+01:00', other)).toEqual(
      new Set(['email']),
    );
  });

  test('this record modified at or after the other CRM sent it: this edit is the later', () => {
    expect(fieldsEditedLaterElsewhere(now, '2026-06-01T10:05:00Z', other)).toEqual(new Set());
    expect(fieldsEditedLaterElsewhere(now, '2026-06-01T10:06:00Z', other)).toEqual(new Set());
  });

  test('a value without evidence (one we pushed there) or held by no other CRM proves nothing', () => {
    expect(fieldsEditedLaterElsewhere(now, '2026-01-01T00:00:00Z', other).has('mobilePhone')).toBe(false);
    expect(fieldsEditedLaterElsewhere(now, '2026-01-01T00:00:00Z', [])).toEqual(new Set());
    const otherValue = [held({ ...now, email: 'ann@example.org' }, { email: '2026-06-01T10:05:00.000Z' })];
    expect(fieldsEditedLaterElsewhere(now, '2026-01-01T00:00:00Z', otherValue)).toEqual(new Set());
  });

  test('a record whose modified dates no edit (a snapshot listing) proves nothing', () => {
    expect(fieldsEditedLaterElsewhere(now, null, other)).toEqual(new Set());
    expect(fieldsEditedLaterElsewhere(now, 'snapshot-7', other)).toEqual(new Set());
  });

  test('NurtureHub’s own fields are left to their owner', () => {
    const scored = contact({ intentScore: 80 });
    const withScore = [held(scored, { intentScore: '2026-06-01T10:05:00.000Z' })];
    expect(fieldsEditedLaterElsewhere(scored, '2026-01-01T00:00:00Z', withScore)).toEqual(new Set());
  });
});

describe('bothChanged', () => {
  const fields = { storedFields: ['email', 'intentScore'] as const, writableFields: ['email'] as const };
  const base = contact({ email: 'ann@example.org', intentScore: 10 });

  test('both sides changed a CRM-owned field this CRM stores, to different values', () => {
    expect(bothChanged(base, { ...base, email: 'a@x.org' }, { ...base, email: 'b@x.org' }, fields)).toBe(
      true,
    );
  });

  test('one side only, the same value on both, or a field the CRM does not own or store', () => {
    expect(bothChanged(base, { ...base, email: 'a@x.org' }, base, fields)).toBe(false);
    expect(bothChanged(base, { ...base, email: 'a@x.org' }, { ...base, email: 'a@x.org' }, fields)).toBe(
      false,
    );
    expect(bothChanged(base, { ...base, intentScore: 20 }, { ...base, intentScore: 30 }, fields)).toBe(false);
    expect(bothChanged(base, { ...base, firstName: 'A' }, { ...base, firstName: 'B' }, fields)).toBe(false);
  });
});

describe('decideInbound records when the CRM sent each value (fieldModified)', () => {
  const fields = {
    storedFields: ['email', 'firstName', 'mobilePhone'] as const,
    writableFields: ['email'] as const,
  };
  const base = contact({ email: 'ann@example.org', firstName: 'Ann', mobilePhone: '+447700900123' });
  const input = (over: Partial<InboundDecisionInput>): InboundDecisionInput => ({
    externalId: 'r1',
    version: null,
    modified: '2026-06-01T10:00:00.1234567+01:00',
    crm: base,
    contentHash: 'h',
    contactId: '00000000-0000-4000-8000-000000000001',
    local: base,
    link: { base, pushedHashes: {}, fieldModified: { firstName: '2026-03-01T09:00:00.000Z' } },
    ...over,
  });

  test('a field the CRM changed is dated by the record; one it left keeps its date', () => {
    const decision = decideInbound(input({ crm: { ...base, email: 'ann.new@example.org' } }), fields);
    expect(decision.link.fieldModified).toEqual({
      email: '2026-06-01T09:00:00.123Z',
      firstName: '2026-03-01T09:00:00.000Z',
    });
  });

  test('a conflict the CRM lost still dates the CRM’s value, which the base keeps until the push lands', () => {
    const decision = decideInbound(
      input({
        crm: { ...base, email: 'crm@example.org' },
        local: { ...base, email: 'later@example.org' },
        newerElsewhere: new Set(['email']),
      }),
      fields,
    );
    expect(decision.crmPatch).toEqual({ email: 'later@example.org' });
    expect(decision.link.base.email).toBe('crm@example.org');
    expect(decision.link.fieldModified.email).toBe('2026-06-01T09:00:00.123Z');
  });

  test('a record whose modified dates no edit records none', () => {
    const changed = { ...base, email: 'ann.new@example.org' };
    for (const modified of [null, 'snapshot-7', '0001-01-01T00:30:00+01:00']) {
      const decision = decideInbound(input({ modified, crm: changed }), fields);
      // The last is an instant before year 1 in UTC, which the store could not read back.
      expect(decision.link.fieldModified).toEqual({ firstName: '2026-03-01T09:00:00.000Z' });
    }
  });

  test('a record that creates its contact dates each value it holds: another CRM may hold an older copy', () => {
    const crm = contact({ email: 'ann@example.org', firstName: 'Ann' });
    const decision = decideInbound(
      input({ crm, local: null, link: null, modified: '2026-06-01T10:00:00Z' }),
      fields,
    );
    expect(decision.link.fieldModified).toEqual({
      email: '2026-06-01T10:00:00.000Z',
      firstName: '2026-06-01T10:00:00.000Z',
    });
    const undated = decideInbound(input({ crm, local: null, link: null, modified: null }), fields);
    expect(undated.link.fieldModified).toEqual({});
  });

  test('a first link to a contact another CRM holds dates each value the record holds', () => {
    const crm = contact({ email: 'ann@example.org', firstName: 'Ann' });
    const local = contact({ email: 'ann@example.org', mobilePhone: '+447700900123' });
    const decision = decideInbound(
      input({ crm, local, link: null, modified: '2026-06-01T10:00:00Z' }),
      fields,
    );
    expect(decision.link.fieldModified).toEqual({
      email: '2026-06-01T10:00:00.000Z',
      firstName: '2026-06-01T10:00:00.000Z',
    });
  });
});
