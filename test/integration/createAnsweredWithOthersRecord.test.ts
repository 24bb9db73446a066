import { describe, expect, it } from 'vitest';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

const NADIA = '6f1c1a4e-3b7d-5c2a-9e40-0a1b2c3d4e5f';
const TUNDE = '7f1c1a4e-3b7d-5c2a-9e40-0a1b2c3d4e5f';

/**
 * agentOS answers a create whose e-mail it holds with that record (200), Alto a create of a surname and e-mail it
 * holds with 409 and the record's Location. For a couple sharing one address the record is the partner's: the
 * create of the second was linked to the first one's record, which lost its link (no longer synced) while its CRM
 * edits went to the second person. Such a create is refused, noted with both contacts, and the first keeps its link.
 */
describe.each([
  { provider: 'agentos' as const, status: null },
  { provider: 'alto' as const, status: 409 },
])('a NurtureHub lead that $provider answers with its partner’s record', ({ provider, status }) => {
  it('is not linked to it; the partner keeps the link, and the lead is created once its e-mail is its own', async () => {
    const h = await createSyncHarness(provider, { simulator: { contacts: 5, seed: 3 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const cycle = () => auditedCycle(h);
      const save = async (id: string, firstName: string, email: string) => {
        const contact = canonicalContactSchema.parse({
          firstName,
          lastName: 'Okafor',
          email,
          marketingConsent: 'grant',
        });
        must(
          await h.store.upsertContacts({
            tenantId: h.tenantId,
            contacts: [{ id, contact }],
            now: new Date(),
          }),
        );
      };
      const linkOf = async (contactId: string) =>
        must(await h.store.getLinksByContactIds({ ...ref, contactIds: [contactId] }))[0]?.externalId;
      const holding = async (email: string) =>
        (await h.sim.control.records()).filter((r) => JSON.stringify(r).includes(email));

      await cycle();
      await save(NADIA, 'Nadia', 'okafors@example.org');
      expect((await cycle())?.written).toMatchObject({ created: 1 });
      const nadiasRecord = await linkOf(NADIA);
      expect(nadiasRecord).toBeDefined();

      await save(TUNDE, 'Tunde', 'okafors@example.org');
      const refused = await cycle();
      expect(refused?.written).toMatchObject({ created: 0 });
      expect(refused?.errors).toEqual([
        {
          status,
          message: expect.stringContaining(
            `answered with record ${nadiasRecord}, which is contact ${NADIA}'s`,
          ),
          retry: false,
        },
      ]);
      expect(await linkOf(NADIA)).toBe(nadiasRecord);
      expect(await linkOf(TUNDE)).toBeUndefined();
      expect(await holding('okafors@example.org')).toHaveLength(1);

      const next = await cycle();
      expect(next?.errors).toEqual([]);
      expect(next?.written).toMatchObject({ created: 0, updated: 0 });

      await save(TUNDE, 'Tunde', 'tunde.okafor@example.org');
      const created = await cycle();
      expect(created?.written).toMatchObject({ created: 1 });
      expect(await linkOf(TUNDE)).toBeDefined();
      expect(await linkOf(TUNDE)).not.toBe(nadiasRecord);
      expect(await linkOf(NADIA)).toBe(nadiasRecord);
    } finally {
      await h.close();
    }
  });
});
