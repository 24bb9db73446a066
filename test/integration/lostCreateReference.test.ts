import { describe, expect, it } from 'vitest';
import type { CanonicalContact } from '../../src/core/schemas.ts';
import { toInboundRecord } from '../../src/providers/reapit/mapping.ts';
import { LEAD_ID, lead, loseCreate } from '../support/lostCreate.ts';
import { agencyClient } from '../support/simulators.ts';

/**
 * Reapit keeps the reference our create writes (`metadata.nurturehubId`). A create whose answer was lost is found by
 * it before being sent again, whatever the agency edited in the record since: a sparse lead (a surname and a
 * landline) given a first name by a negotiator neither reads as created nor scores as the same person.
 */
describe('a lost Reapit create found by the reference it wrote', () => {
  it('reads the reference from the record', () => {
    const read = toInboundRecord({
      id: 'OXF25000001',
      modified: '2026-01-01T00:00:00.0000000Z',
      surname: 'Oyelaran',
      homePhone: '01632 960123',
      marketingConsent: 'grant',
      metadata: { nurturehubId: LEAD_ID },
      _eTag: '"X"',
    });
    expect(read.ok && read.value.reference).toBe(LEAD_ID);
  });

  it('links a sparse lead the agency edited before the look-up, and creates it once', async () => {
    const sparse: CanonicalContact = {
      ...lead,
      title: null,
      firstName: null,
      email: null,
      mobilePhone: null,
      lastName: 'Oyelaran',
      homePhone: '01632 960123',
    };
    const { h, resume, expectOneLinkedCreate, copies } = await loseCreate('reapit', 'response', {}, sparse);
    try {
      const [made] = (await copies()) as Array<{ id: string }>;
      const agency = agencyClient('reapit', h.sim);
      const current = await agency.getRecord({ externalId: made?.id ?? expect.unreachable() });
      if (!current.ok) throw new Error(current.error.message);
      const edited = await agency.update({
        externalId: current.value.externalId,
        patch: { firstName: 'Thandiwe' },
        version: current.value.version,
      });
      if (!edited.ok) throw new Error(edited.error.message);
      await resume();
      await expectOneLinkedCreate();
    } finally {
      await h.close();
    }
  });
});
