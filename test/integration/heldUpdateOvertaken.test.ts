import { expect, it } from 'vitest';
import { agencyRenamesSurname, altoPersonName, firstLinkedRecord } from '../support/altoHeldWrite.ts';
import { auditedCycle, createSyncHarness, editContact, must } from '../support/syncHarness.ts';

/**
 * An update held while the credentials could not write, and the agency editing the same field in the CRM before
 * write access came back: that cycle read the agency's edit, which won the field (the CRM wins contact fields).
 * When access came, the held update went out as planned, in a CRM without versions (Alto [A1]): the agency's edit
 * was overwritten with NurtureHub's older value, which then read back as NurtureHub's own echo, so the two sides
 * stayed apart. Only what the contact still owes the CRM is sent.
 */
it('sends of a held update only the fields the contact still holds as planned', async () => {
  const h = await createSyncHarness('alto', { simulator: { contacts: 4, seed: 11 } });
  try {
    await auditedCycle(h);
    const { externalId, contactId } = await firstLinkedRecord(h);

    expect(await h.sim.control.writeAccess(false)).toBe(true);
    await editContact(h, contactId, { firstName: 'Localfirst', lastName: 'Locallast' });
    expect((await auditedCycle(h))?.errors).toEqual([expect.objectContaining({ status: 403, retry: true })]);

    // The agency renames the person in Alto (with its own access); NurtureHub's first name is untouched there.
    await agencyRenamesSurname(h, externalId, 'Agencylast');
    const read = await auditedCycle(h);
    expect(read?.conflicts).toEqual([
      expect.objectContaining({
        contactId,
        field: 'lastName',
        crm: 'Agencylast',
        local: 'Locallast',
        winner: 'crm',
      }),
    ]);
    // The first plan is closed unsent: its surname is no longer owed, its first name is sent by this cycle's plan,
    // the one write held.
    expect(read?.errors).toEqual([
      {
        status: null,
        retry: false,
        message: expect.stringMatching(
          /which did not send it; the contact no longer holds lastName as planned; a later plan sends firstName$/,
        ),
      },
      expect.objectContaining({ status: 403, message: expect.stringMatching(/^1 write held/) }),
    ]);

    await h.sim.control.writeAccess(true);
    const sent = await auditedCycle(h);
    expect(sent?.outcome).toBe('completed');
    expect(sent?.errors).toEqual([]);
    expect(sent?.written).toMatchObject({ updated: 1 });
    expect(await altoPersonName(h, externalId)).toEqual({
      first: 'Localfirst',
      last: 'Agencylast',
    });
    const [local] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [contactId] }));
    expect(local?.contact).toMatchObject({ firstName: 'Localfirst', lastName: 'Agencylast' });

    const quiet = await auditedCycle(h);
    expect(quiet?.written).toMatchObject({ updated: 0 });
    expect(quiet?.conflicts).toEqual([]);
  } finally {
    await h.close();
  }
}, 120_000);
