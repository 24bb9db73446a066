import { expect, it } from 'vitest';
import { z } from 'zod';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * Street's delete is its trash: an agency that deletes a person and keys them in again (or merges two people in
 * Street, which keeps one and trashes the other) holds them under a new id. The new record was suppressed as Street
 * holding the person twice, beside the trashed one: Street read no record by id, and a person listed in the trash
 * counted as held. It never synced, and NurtureHub kept the person archived.
 */
it('a Street person trashed and keyed in again takes the contact: one active contact, linked to the new person', async () => {
  const h = await createSyncHarness('street', { simulator: { contacts: 5, seed: 5 } });
  try {
    const { tenantId } = h;
    await auditedCycle(h);
    const before = must(await h.store.listContacts({ tenantId, limit: 20 }));
    const person = before.find((c) => c.contact.email !== null && c.contact.status === 'active');
    const trashedId = person?.links[0]?.externalId;
    if (person === undefined || trashedId === undefined) throw new Error('no linked contact');
    // Street stamps whole seconds, and a window's end is cut to the second it starts in.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const response = await fetch(`${h.sim.baseUrl}/_sim/trash-and-key-in-again`, {
      method: 'POST',
      body: JSON.stringify({ ids: [trashedId] }),
      headers: { 'content-type': 'application/json' },
    });
    const { keyedIn } = z.object({ keyedIn: z.record(z.string(), z.string()) }).parse(await response.json());
    const newId = keyedIn[trashedId];
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    const cycle = await auditedCycle(h);
    expect(cycle?.duplicatesSuppressed).toEqual([
      {
        incoming: newId,
        matched: person.id,
        reason: expect.stringContaining(`in place of street record ${trashedId}, which street no longer has`),
      },
    ]);
    const after = must(await h.store.listContacts({ tenantId, limit: 20 }));
    expect(after).toHaveLength(before.length);
    const contact = after.find((c) => c.id === person.id);
    expect(contact?.links.map((l) => l.externalId)).toEqual([newId]);
    expect(contact?.contact.status).toBe('active');
    expect((await auditedCycle(h))?.written).toMatchObject({ created: 0, updated: 0 });
  } finally {
    await h.close();
  }
});
