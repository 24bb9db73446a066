import { describe, expect, it } from 'vitest';
import { type CanonicalContact, canonicalContactSchema } from '../../src/core/schemas.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { auditedCycle, createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

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

/**
 * The record the CRM answers with may be no contact's yet: the agency keyed in Nadia after our last fetch, and
 * Tunde, a NurtureHub lead sharing her e-mail (and surname), is pushed now. Linked to her record with Tunde's values
 * as its base, the next fetch read Nadia's values as an agency edit: Tunde's contact became Nadia, his engagement
 * under her name, and Nadia never got a contact of her own. The engine now reads the answered record and links only
 * the same person by its own matcher; the agency keying in the lead itself is still linked.
 */
describe.each([
  { provider: 'agentos' as const, status: null },
  { provider: 'alto' as const, status: 409 },
])('a NurtureHub lead that $provider answers with a record no contact holds yet', ({ provider, status }) => {
  const okafor = (firstName: string, email = 'okafors@example.org') =>
    canonicalContactSchema.parse({ firstName, lastName: 'Okafor', email, marketingConsent: 'grant' });

  /** A first sync, then Tunde saved in NurtureHub; the agency creates `keyed` in the CRM between fetch and push. */
  async function pushedAfterAgencyCreates(
    h: SyncHarness,
    keyed: CanonicalContact,
    lead: CanonicalContact = okafor('Tunde'),
  ) {
    await auditedCycle(h);
    must(
      await h.store.upsertContacts({
        tenantId: h.tenantId,
        contacts: [{ id: TUNDE, contact: lead }],
        now: new Date(),
      }),
    );
    for (let phases = 0; phases < 3 && must(await h.run('phase')).state !== 'pushing'; phases++);
    const entry = getProvider(provider);
    if (entry === undefined) throw new Error(`no ${provider} provider`);
    const agency = must(entry.createProvider({ baseUrl: h.sim.baseUrl, credentials: h.sim.credentials }));
    const record = must(
      await agency.create({ contact: keyed, reference: 'keyed in by the agency' }),
    ).externalId;
    const pushed = must(await h.run());
    expect(pushed.state).toBe('idle');
    const audit = must(
      await h.store.listAudit({ tenantId: h.tenantId, connectionId: h.connectionId, limit: 1 }),
    );
    return { record, audit: audit.entries[0]?.body };
  }

  const linkOf = async (h: SyncHarness, contactId: string) =>
    must(
      await h.store.getLinksByContactIds({
        tenantId: h.tenantId,
        connectionId: h.connectionId,
        contactIds: [contactId],
      }),
    )[0]?.externalId;
  const holderOf = async (h: SyncHarness, externalId: string) =>
    must(
      await h.store.getLinksByExternalIds({
        tenantId: h.tenantId,
        connectionId: h.connectionId,
        externalIds: [externalId],
      }),
    )[0]?.contactId;
  const firstNamesHolding = async (h: SyncHarness, email: string) =>
    must(await h.store.listContacts({ tenantId: h.tenantId, limit: 100 }))
      .filter((c) => c.contact.email === email)
      .map((c) => c.contact.firstName)
      .sort();
  const recordsHolding = async (h: SyncHarness, email: string) =>
    (await h.sim.control.records()).filter((r) => JSON.stringify(r).includes(email));

  it('is not linked to the partner’s record, which gets a contact of its own; Tunde stays Tunde', async () => {
    const h = await createSyncHarness(provider, { simulator: { contacts: 5, seed: 3 } });
    try {
      const { record, audit } = await pushedAfterAgencyCreates(h, okafor('Nadia'));
      expect(audit?.written).toMatchObject({ created: 0 });
      expect(audit?.errors).toEqual([
        {
          status,
          message: expect.stringMatching(
            new RegExp(
              `answered with record ${record}, which is another person \\(firstNameConflict; differs: firstName; ` +
                'agrees: lastName, email\\); not linked: give the lead an e-mail of its own, or merge the two',
            ),
          ),
          retry: false,
        },
      ]);
      expect(await linkOf(h, TUNDE)).toBeUndefined();

      const fetched = await auditedCycle(h);
      expect(fetched?.errors).toEqual([]);
      expect(fetched?.written).toMatchObject({ created: 0, updated: 0 });
      expect(fetched?.duplicatesSuppressed).toEqual([]);
      const nadia = await holderOf(h, record);
      expect(nadia).toBeDefined();
      expect(nadia).not.toBe(TUNDE);
      expect(
        must(await h.store.getContacts({ tenantId: h.tenantId, ids: [TUNDE] }))[0]?.contact,
      ).toMatchObject({
        firstName: 'Tunde',
      });

      const again = await auditedCycle(h);
      expect(again?.errors).toEqual([]);
      expect(again?.written).toMatchObject({ created: 0, updated: 0 });
      expect(await firstNamesHolding(h, 'okafors@example.org')).toEqual(['Nadia', 'Tunde']);
      expect(await recordsHolding(h, 'okafors@example.org')).toHaveLength(1);
      expect(await linkOf(h, TUNDE)).toBeUndefined();
      expect(await holderOf(h, record)).toBe(nadia);
    } finally {
      await h.close();
    }
  });

  it('merges the record the agency keyed in with less as a first link: what it lacks is kept, what it adds is taken', async () => {
    const h = await createSyncHarness(provider, { simulator: { contacts: 5, seed: 3 } });
    try {
      // The agency keyed in Tunde with a title and no phone; NurtureHub's lead has a mobile and no title. With the
      // contact sent as the base, the next fetch read the missing mobile as the agency clearing it.
      const lead = { ...okafor('Tunde'), mobilePhone: '07700 900123' };
      const { record, audit } = await pushedAfterAgencyCreates(h, { ...okafor('Tunde'), title: 'Mr' }, lead);
      expect(audit?.errors).toEqual([]);
      expect(await linkOf(h, TUNDE)).toBe(record);

      await auditedCycle(h);
      for (const cycle of [await auditedCycle(h), await auditedCycle(h)]) {
        expect(cycle?.errors).toEqual([]);
        expect(cycle?.written).toMatchObject({ created: 0, updated: 0 });
      }
      const [tunde] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [TUNDE] }));
      expect(tunde?.contact).toMatchObject({
        firstName: 'Tunde',
        title: 'Mr',
        mobilePhone: lead.mobilePhone,
      });
      expect(await recordsHolding(h, 'okafors@example.org')).toHaveLength(1);
    } finally {
      await h.close();
    }
  });

  it('is linked to the record when the agency keyed in the lead itself; nothing more is written', async () => {
    const h = await createSyncHarness(provider, { simulator: { contacts: 5, seed: 3 } });
    try {
      const { record, audit } = await pushedAfterAgencyCreates(h, okafor('Tunde'));
      expect(audit?.errors).toEqual([]);
      // The CRM created nothing: it answered with the record it held, and the lead is linked as its duplicate.
      expect(audit?.written).toMatchObject({ created: 0 });
      expect(audit?.duplicatesSuppressed).toEqual([
        { incoming: TUNDE, matched: record, reason: expect.stringMatching(/^not created in/) },
      ]);
      expect(await linkOf(h, TUNDE)).toBe(record);

      for (const cycle of [await auditedCycle(h), await auditedCycle(h)]) {
        expect(cycle?.errors).toEqual([]);
        expect(cycle?.written).toMatchObject({ created: 0, updated: 0 });
      }
      expect(await linkOf(h, TUNDE)).toBe(record);
      expect(await firstNamesHolding(h, 'okafors@example.org')).toEqual(['Tunde']);
      expect(await recordsHolding(h, 'okafors@example.org')).toHaveLength(1);
    } finally {
      await h.close();
    }
  });
});
