import { describe, expect, it } from 'vitest';
import { altoPhone, personOperations } from './mapping.ts';
import type { AltoContact } from './schemas.ts';
import { altoContactSchema } from './schemas.ts';

describe('altoPhone', () => {
  it.each([
    // An extension is left out: its digits glued on made another number.
    ['020 7946 0000 ext 214', '020 7946 0000'],
    ['07700-900-123 x12', '07700 900 123'],
    ['+442079460000;ext=214', '+442079460000'],
    // The trunk 0 of an international number is not dialled.
    ['+44 (0)20 7946 0000', '+44 20 7946 0000'],
    ['+44(0)7700 900123', '+44 7700 900123'],
    // …but a national number keeps its leading 0.
    ['(020) 7946 0000', '020 7946 0000'],
    ['0044 20 7946 0000', '+44 20 7946 0000'],
    ['07700 900123', '07700 900123'],
    ['12345', null],
    [null, null],
  ])('%s → %s', (typed, sent) => {
    expect(altoPhone(typed)).toBe(sent);
  });
});

describe('personOperations', () => {
  /** A person as `GET /contacts/{id}` answers it, parsed by the read schema. */
  const person = (emailAddresses: unknown[]): AltoContact['people'][number] => {
    const contact = altoContactSchema.parse({
      id: '7',
      people: [{ id: '1', title: null, forename: 'Ann', surname: 'Lee', phoneNumbers: [], emailAddresses }],
    });
    return contact.people[0] as AltoContact['people'][number];
  };

  it('writes back the e-mail it keeps beside a new primary with its type', () => {
    const ops = personOperations(
      { email: 'new@example.co.uk' },
      person([
        { preferenceOrder: 2, type: 'Business', address: 'ann@lee-consulting.co.uk' },
        { preferenceOrder: 1, type: 'Personal', address: 'old@example.co.uk' },
      ]),
    );
    expect(ops).toEqual([
      {
        op: 'replace',
        path: '/EmailAddresses',
        value: [{ Address: 'new@example.co.uk' }, { Address: 'ann@lee-consulting.co.uk', Type: 'Business' }],
      },
    ]);
  });

  it('gives a secondary address made primary the type it had, whatever its letter case', () => {
    const ops = personOperations(
      { email: 'ann@lee-consulting.co.uk' },
      person([
        { preferenceOrder: 1, type: 'Personal', address: 'old@example.co.uk' },
        { preferenceOrder: 2, type: 'Business', address: 'Ann@Lee-Consulting.co.uk' },
      ]),
    );
    expect(ops).toEqual([
      {
        op: 'replace',
        path: '/EmailAddresses',
        value: [{ Address: 'ann@lee-consulting.co.uk', Type: 'Business' }],
      },
    ]);
  });

  it('reads a type outside the documented ones as Alto sent it, and a missing or non-text one as none', () => {
    const read = person([
      { preferenceOrder: 1, address: 'old@example.co.uk', type: 7 },
      { preferenceOrder: 2, address: 'work@example.co.uk', type: 'Work' },
    ]);
    expect(personOperations({ email: 'new@example.co.uk' }, read)).toEqual([
      {
        op: 'replace',
        path: '/EmailAddresses',
        value: [{ Address: 'new@example.co.uk' }, { Address: 'work@example.co.uk', Type: 'Work' }],
      },
    ]);
    expect(
      personOperations(
        { email: 'new@example.co.uk' },
        person([{ address: 'a@x.co' }, { address: 'b@x.co' }]),
      ),
    ).toEqual([
      {
        op: 'replace',
        path: '/EmailAddresses',
        value: [{ Address: 'new@example.co.uk' }, { Address: 'b@x.co' }],
      },
    ]);
  });
});
