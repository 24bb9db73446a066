import { describe, expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, editContact, must } from '../support/syncHarness.ts';

/**
 * A NurtureHub lead linked to the agency's record of the person (keyed into the CRM too, and linked when listed, so
 * no create of ours made it), which the agency then deletes. A change of the lead is refused with a 404 and unlinks
 * it. Before, its next change had it looked for and, not found, created in the CRM: the record the agency deleted
 * came back (and where the agency had merged it into the person's other record, a third record was made).
 */
describe.each(['reapit', 'loop'] as const)('a NurtureHub lead whose %s record the agency deletes', (name) => {
  it('is not created again when it next changes; the audit says why', async () => {
    const h = await createSyncHarness(name, { simulator: { contacts: 3, seed: 5 } });
    try {
      const { store, tenantId } = h;
      const ref = { tenantId, connectionId: h.connectionId };
      await auditedCycle(h);
      const person = canonicalContactSchema.parse({
        title: 'Prof',
        firstName: 'Ada',
        lastName: 'Quill',
        email: 'ada.quill@example.org',
        mobilePhone: '07700 900123',
      });
      const recordId = must(
        await agencyClient(name, h.sim).create({ contact: person, reference: 'keyed in' }),
      ).externalId;
      const imported = await importContacts(store, {
        tenantId,
        lines: [{ line: 1, value: person }],
        now: new Date(),
      });
      const leadId = imported.created[0]?.id;
      if (leadId === undefined) throw new Error('the lead matched a seeded contact');
      expect((await auditedCycle(h))?.written).toMatchObject({ created: 0 });
      const linked = must(await store.getLinksByContactIds({ ...ref, contactIds: [leadId] }));
      expect(linked.map((link) => link.externalId)).toEqual([recordId]);

      expect(await h.sim.control.remove([recordId])).toEqual({ removed: [recordId] });
      await editContact(h, leadId, { title: 'Mx' });
      expect((await auditedCycle(h))?.errors).toEqual([
        expect.objectContaining({ status: 404, retry: false }),
      ]);
      const creates = (await h.sim.control.stats()).creates;

      await editContact(h, leadId, { title: 'Dr' });
      const after = await auditedCycle(h);
      expect((await h.sim.control.stats()).creates).toBe(creates);
      expect(after?.written).toMatchObject({ created: 0 });
      expect(after?.errors).toEqual([]);
      expect(after?.duplicatesSuppressed).toEqual([
        {
          incoming: leadId,
          matched: recordId,
          reason: expect.stringContaining(`not created in ${name}: its record ${recordId} is gone (404 at `),
        },
      ]);
      expect(must(await store.getLinksByContactIds({ ...ref, contactIds: [leadId] }))).toEqual([]);
    } finally {
      await h.close();
    }
  }, 60_000);
});
