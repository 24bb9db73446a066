import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A name pasted into the CRM from a web page or a portal's e-mail often carries a character that shows as nothing:
 * a zero-width space, a soft hyphen, a word joiner. Folded for matching as a space, it split the given name in
 * two (`Am`, `ira`), which then read as another given name than the lead's: the person with the lead's e-mail and
 * mobile was taken for someone else, a second contact was made in NurtureHub, and the lead was created in the CRM
 * a second time.
 */
describe.each([
  ['a zero-width space', 'Am\u200Bira'],
  ['a soft hyphen', 'Am\u00ADira'],
  ['a word joiner', 'Am\u2060ira'],
])('a CRM record whose given name holds %s', (_, pasted) => {
  it('is linked to the NurtureHub lead it is; neither side is doubled', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 3, seed: 5 } });
    try {
      const { tenantId } = h;
      await auditedCycle(h);
      const email = 'amira.okafor@example.org';
      const person = { lastName: 'Okafor', email, mobilePhone: '07700 900777', marketingConsent: 'grant' };
      const reapit = agencyClient('reapit', h.sim);
      must(
        await reapit.create({
          contact: canonicalContactSchema.parse({ ...person, firstName: pasted }),
          reference: randomUUID(),
        }),
      );
      // The lead, imported as web leads are (`crm-sync contact import`).
      const imported = await importContacts(h.store, {
        tenantId,
        lines: [{ line: 1, value: canonicalContactSchema.parse({ ...person, firstName: 'Amira' }) }],
        now: new Date(),
      });
      const lead = imported.created[0]?.id;

      const cycle = await auditedCycle(h);
      expect(cycle?.written).toMatchObject({ created: 0 });
      const holding = must(await h.store.listContacts({ tenantId, limit: 100 })).filter(
        (c) => c.contact.email === email,
      );
      expect(holding.map((c) => c.id)).toEqual([lead]);
      expect(holding[0]?.links).toHaveLength(1);
      const inReapit = (await h.sim.control.records()).filter((r) => JSON.stringify(r).includes(email));
      expect(inReapit).toHaveLength(1);
      expect((await auditedCycle(h))?.written).toMatchObject({ created: 0, updated: 0 });
    } finally {
      await h.close();
    }
  });
});
