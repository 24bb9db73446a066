import { describe, expect, it } from 'vitest';
import { canonicalContactSchema } from '../../core/schemas.ts';
import { toReapitCreate } from './mapping.ts';

describe('toReapitCreate', () => {
  // Every missing field went as '' (an update's way of clearing it): `dateOfBirth: ''` is no date in Reapit's
  // CreateContactModel, and an address of empty lines no address.
  it('sends only the fields the contact holds', () => {
    const contact = canonicalContactSchema.parse({
      lastName: 'Okafor',
      email: 'ada.okafor@example.org',
      marketingConsent: 'grant',
    });
    const body = toReapitCreate({ contact, reference: 'c-1', officeId: 'OXF', negotiatorId: 'JAS' });
    expect(Object.keys(body).sort()).toEqual([
      'email',
      'marketingConsent',
      'metadata',
      'negotiatorIds',
      'officeIds',
      'surname',
    ]);
    expect(body).toMatchObject({
      surname: 'Okafor',
      email: 'ada.okafor@example.org',
      marketingConsent: 'grant',
    });
  });

  it('sends an address and a date of birth the contact holds', () => {
    const contact = canonicalContactSchema.parse({
      firstName: 'Ada',
      lastName: 'Okafor',
      dateOfBirth: '1980-02-29',
      address: { line1: '12 High Street', line2: 'Leeds', postcode: 'LS6 2AB' },
      marketingConsent: 'notAsked',
    });
    const body = toReapitCreate({ contact, reference: 'c-1', officeId: 'OXF', negotiatorId: 'JAS' });
    expect(body).toMatchObject({ forename: 'Ada', dateOfBirth: '1980-02-29' });
    expect(body.primaryAddress).toMatchObject({ postcode: 'LS6 2AB' });
  });
});
