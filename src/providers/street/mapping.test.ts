import { describe, expect, it } from 'vitest';
import { toInboundRecord } from './mapping.ts';

const person = (telephone_numbers: Array<{ value: string; notes: string | null; primary: boolean }>) => ({
  id: '497f6eca-6276-4993-bfeb-53cbbbba6f08',
  type: 'person',
  attributes: {
    first_name: 'Jane',
    last_name: 'Doe',
    telephone_numbers,
    email_addresses: [],
    marketing_consent: null,
    updated_at: '2026-01-01T00:00:00Z',
  },
});

const phonesOf = (numbers: Parameters<typeof person>[0]) => {
  const mapped = toInboundRecord(person(numbers), false);
  if (!mapped.ok) throw new Error(mapped.error.message);
  return { mobile: mapped.value.contact.mobilePhone, home: mapped.value.contact.homePhone };
};

// Street numbers carry no type, only free-text notes [S3]: an office number taken for the home phone went on to the
// tenant's other CRMs as one.
describe('street phone numbers', () => {
  it('takes no number noted as a work one for the home phone', () => {
    expect(
      phonesOf([
        { value: '+447700900123', notes: 'Mobile', primary: true },
        { value: '+442079460123', notes: 'Work', primary: false },
      ]),
    ).toEqual({ mobile: '+447700900123', home: null });
    expect(
      phonesOf([
        { value: '020 7946 0123', notes: 'office switchboard', primary: true },
        { value: '0161 496 0123', notes: null, primary: false },
      ]),
    ).toEqual({ mobile: null, home: '0161 496 0123' });
  });

  it('takes the first other number for the home phone, the primary first', () => {
    expect(
      phonesOf([
        { value: '0161 496 0999', notes: 'Home', primary: false },
        { value: '07700 900123', notes: null, primary: false },
        { value: '0113 496 0000', notes: null, primary: true },
      ]),
    ).toEqual({ mobile: '07700 900123', home: '0113 496 0000' });
  });
});
