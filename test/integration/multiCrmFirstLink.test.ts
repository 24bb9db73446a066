import { describe, expect, it } from 'vitest';
import { openMemoryStore } from '../support/memoryStore.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * An agency syncing with Reapit adds Alto, which holds an older copy of the same people (the simulators are seeded
 * alike). Since Reapit was connected, one person's e-mail was changed and Reapit holds the new one. Alto's first
 * link of that person met its old e-mail, won as "the CRM owns e-mail", and the old address went into NurtureHub and
 * back to Reapit. The newer value the tenant's other CRM holds now wins the first link and is written to Alto.
 */
describe('a CRM added to a tenant with an older copy of a person another CRM has since changed', () => {
  it('takes the newer value; the other CRM keeps it', async () => {
    const store = must(await openMemoryStore());
    const reapit = await createSyncHarness('reapit', { store, simulator: { contacts: 5, seed: 4 } });
    const alto = await createSyncHarness('alto', {
      store,
      tenantId: reapit.tenantId,
      simulator: { contacts: 5, seed: 4 },
    });
    try {
      const tenantId = reapit.tenantId;
      await auditedCycle(reapit);
      const holding = async (h: typeof reapit, email: string) =>
        (await h.sim.control.records()).filter((r) =>
          JSON.stringify(r).toLowerCase().includes(email.toLowerCase()),
        );
      // A person with an e-mail, which Alto holds too (the simulators' seeded people are the same).
      const contacts = must(await store.listContacts({ tenantId, limit: 10 }));
      const withEmail = contacts.filter((c) => c.contact.email !== null);
      const held = await Promise.all(
        withEmail.map(async (c) => (await holding(alto, c.contact.email ?? '')).length),
      );
      const person = withEmail.find((_, index) => held[index] === 1);
      if (person === undefined) throw new Error('no synced contact with an e-mail Alto holds');
      const oldEmail = person.contact.email ?? '';
      const newEmail = 'moved.on@example.org';
      must(
        await store.upsertContacts({
          tenantId,
          contacts: [{ id: person.id, contact: { ...person.contact, email: newEmail } }],
          now: new Date(),
        }),
      );
      expect((await auditedCycle(reapit))?.written).toMatchObject({ updated: 1 });
      expect(await holding(reapit, newEmail)).toHaveLength(1);

      const firstAlto = await auditedCycle(alto);
      expect(firstAlto?.conflicts).toContainEqual(
        expect.objectContaining({ contactId: person.id, field: 'email', winner: 'nurturehub' }),
      );
      const [after] = must(await store.getContacts({ tenantId, ids: [person.id] }));
      expect(after?.contact.email).toBe(newEmail);
      expect(await holding(alto, newEmail)).toHaveLength(1);
      expect(await holding(alto, oldEmail)).toHaveLength(0);

      const reapitAgain = await auditedCycle(reapit);
      expect(reapitAgain?.written).toMatchObject({ updated: 0 });
      expect(await holding(reapit, newEmail)).toHaveLength(1);
      expect(await holding(reapit, oldEmail)).toHaveLength(0);
    } finally {
      await alto.close();
      await reapit.close();
      await store.close();
    }
  });
});
