import { expect, it } from 'vitest';
import { agencyRenamesSurname, altoPersonName, firstLinkedRecord } from '../support/altoHeldWrite.ts';
import { auditedCycle, createSyncHarness, editContact, must } from '../support/syncHarness.ts';

/**
 * Like heldUpdateOvertaken, but the held update had been sent once (its answer lost) before the 403: its ledger row
 * stays `sent`, and the cut of an earlier cycle's plan to what is still owed applied to `planned` rows only, so it
 * went out whole later, overwriting the agency's edit that had won the field (found by a read-only audit of the push).
 */
it('does not send a held, once-sent update with values the contact no longer holds', async () => {
  let offsetMs = 0;
  let dropPatch = false;
  const losingFetch: typeof fetch = async (input, init) => {
    const dropping = dropPatch && init?.method === 'PATCH';
    const response = await fetch(input, init);
    if (dropping) throw new TypeError('fetch failed: socket hang up');
    return response;
  };
  const h = await createSyncHarness('alto', {
    simulator: { contacts: 4, seed: 11 },
    runner: { clock: () => new Date(Date.now() + offsetMs), providerOptions: () => ({ fetch: losingFetch }) },
  });
  try {
    await auditedCycle(h);
    const { externalId, contactId } = await firstLinkedRecord(h);

    await editContact(h, contactId, { firstName: 'Localfirst', lastName: 'Locallast' });
    dropPatch = true;
    const failed = must(await h.run());
    dropPatch = false;
    expect(failed.state).toBe('backoff');
    // The credentials lose write access before the push is retried: the resend is refused 403, held.
    await h.sim.control.writeAccess(false);
    offsetMs = Date.parse(failed.context.resumeAt ?? '') - Date.now() + 1;
    const held = must(await h.run());
    expect(held.state).toBe('idle');
    // Sent once (its answer lost), the update's row stays `sent` while it is held.
    expect(must(await h.store.listPendingPushes({ ...h }))).toMatchObject([
      { kind: 'update', status: 'sent' },
    ]);

    // The agency renames the person in Alto; the next cycle reads it and the CRM wins the surname.
    await agencyRenamesSurname(h, externalId, 'Agencylast');
    offsetMs += 60_000;
    const read = await auditedCycle(h);
    // Nothing of the held update is owed any more (its first send had been applied, and was read back with the
    // agency's edit): noted, not sent.
    expect(read?.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/not sent: .*had no answer to it/),
    ]);
    const [local] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [contactId] }));
    expect(local?.contact.lastName).toBe('Agencylast');

    await h.sim.control.writeAccess(true);
    offsetMs += 60_000;
    const sent = await auditedCycle(h);
    expect(sent).toMatchObject({ written: { updated: 0 }, errors: [] });
    expect(await altoPersonName(h, externalId)).toEqual({
      first: 'Localfirst',
      last: 'Agencylast',
    });
  } finally {
    await h.close();
  }
}, 120_000);
