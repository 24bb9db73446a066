import { describe, expect, it } from 'vitest';
import type { CanonicalContact } from '../../src/core/schemas.ts';
import { LEAD_ID, lead, loseCreate } from '../support/lostCreate.ts';
import { auditedCycle, must } from '../support/syncHarness.ts';

/** A lead with only the fields given: no e-mail, so neither CRM is searched and the changes since the fetch are. */
const sparse = (fields: Partial<CanonicalContact>): CanonicalContact => ({
  ...lead,
  title: null,
  firstName: null,
  lastName: null,
  email: null,
  mobilePhone: null,
  ...fields,
});

const nameAndPostcode = sparse({
  firstName: 'Thandiwe',
  lastName: 'Oyelaran',
  address: { line1: null, line2: null, line3: null, line4: null, postcode: 'SW1A 1AA', countryCode: null },
});
const surnameAndLandline = sparse({ lastName: 'Oyelaran', homePhone: '01632 960123' });

/**
 * A lead with few fields scores under the threshold that tells two people apart, even against the very record its
 * create made: a lost create of it was taken as not applied and sent again, the CRM held the person twice and the
 * next fetch brought the second record in as another NurtureHub contact. Both CRMs refuse a create without a surname.
 */
describe('regression: a lost create of a lead with few fields is found by its content', () => {
  it.each([
    ['loop', 'a name and a postcode', nameAndPostcode],
    ['loop', 'a surname and a landline', surnameAndLandline],
    ['alto', 'a name and a postcode', nameAndPostcode],
    ['alto', 'a surname and a landline', surnameAndLandline],
  ] as const)('%s, a lead with %s: created once, linked, one contact', async (provider, _, sent) => {
    const { h, resume, expectOneLinkedCreate } = await loseCreate(provider, 'response', {}, sent);
    try {
      await resume();
      await expectOneLinkedCreate();
      // The record read back is the lead's: no second contact, no duplicate suppressed.
      const readBack = await auditedCycle(h);
      expect(readBack?.duplicatesSuppressed).toEqual([]);
      const contacts = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 100 }));
      expect(contacts.filter((c) => c.contact.lastName === sent.lastName).map((c) => c.id)).toEqual([
        LEAD_ID,
      ]);
    } finally {
      await h.close();
    }
  });
});
