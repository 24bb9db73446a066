import { describe, expect, it } from 'vitest';
import { canonicalContactSchema } from './schemas.ts';
import { withheldAsUnchanged, withholdsDetails } from './withheldDetails.ts';

const held = canonicalContactSchema.parse({
  title: 'Ms',
  firstName: 'Ada',
  lastName: 'Okafor',
  email: 'ada@example.org',
  mobilePhone: '+447700900123',
  marketingConsent: 'grant',
  emailOpens: 3,
});
// As agentOS lists a person who withdrew third-party-marketing consent.
const hidden = canonicalContactSchema.parse({ status: 'archived', marketingConsent: 'deny' });

describe('withheld details', () => {
  it('are a removed record holding none of the details, not one that shows some, nor one not removed', () => {
    expect(withholdsDetails({ removed: true, contact: hidden })).toBe(true);
    // A person in Street's trash still shows their details.
    expect(withholdsDetails({ removed: true, contact: { ...hidden, lastName: 'Okafor' } })).toBe(false);
    expect(withholdsDetails({ removed: false, contact: hidden })).toBe(false);
  });

  it("read as the base's details, with the record's own consent, status and engagement", () => {
    expect(withheldAsUnchanged(hidden, held)).toEqual({
      ...held,
      status: 'archived',
      marketingConsent: 'deny',
      emailOpens: 0,
    });
  });
});
