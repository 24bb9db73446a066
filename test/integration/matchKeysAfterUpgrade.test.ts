import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { matchKeys } from '../../src/core/dedup/blocking.ts';
import { type MatchFields, toMatchRecord } from '../../src/core/dedup/matchRecord.ts';
import { MATCH_RECORD_VERSION, storeMatchRecord } from '../../src/core/dedup/storedMatchRecord.ts';
import { type CanonicalContact, canonicalContactSchema } from '../../src/core/schemas.ts';
import { agencyClient } from '../support/simulators.ts';
import { openStoreWithDb } from '../support/storeWithDb.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

const address = { line1: '12 Park Row', line2: 'Headingley' };
/** A web lead whose given name was pasted with a zero-width space, stored before the upgrade to version 2. */
const lead = canonicalContactSchema.parse({
  firstName: 'Am\u200Bira',
  lastName: 'Okafor',
  email: 'amira.okafor@example.org',
  address,
});

/**
 * The lead's match record and keys as version 1 stored them: it folded a format character to a space, which is
 * what version 2 makes of a space (`Am ira`: given name `am`, middle initial `i`).
 */
function storedByVersion1(id: string, contact: CanonicalContact) {
  const asVersion1Read: MatchFields = { ...contact, firstName: contact.firstName?.replace(/\p{Cf}/gu, ' ') };
  const record = toMatchRecord(id, asVersion1Read);
  return {
    matchRecord: storeMatchRecord(record).replace(`{"v":${MATCH_RECORD_VERSION},`, '{"v":1,'),
    keys: matchKeys(record),
  };
}

/**
 * Version 2 of the normalisation (d4c3bb5) drops format characters from names. A contact stored before the
 * upgrade keeps the match keys version 1 derived from its name until they are computed again: the agency's record
 * of the same person, found among stored contacts only by a key of her given name (name and address agree; their
 * e-mails differ, and no phone is shared), must still be linked to her, not made a second contact and the lead a second record.
 */
describe.each([
  ['stored by this version', false],
  ['stored before the upgrade, with version 1 keys', true],
] as const)('a NurtureHub lead %s', (_, beforeUpgrade) => {
  it('is linked to the CRM record of the same person; neither side is doubled', async () => {
    const { db, store } = await openStoreWithDb();
    const h = await createSyncHarness('reapit', { store, simulator: { contacts: 3, seed: 5 } });
    try {
      const { tenantId } = h;
      await auditedCycle(h);
      const leadId = randomUUID();
      must(
        await store.upsertContacts({ tenantId, contacts: [{ id: leadId, contact: lead }], now: new Date() }),
      );
      if (beforeUpgrade) {
        const old = storedByVersion1(leadId, lead);
        must(await store.replaceMatchKeys({ tenantId, entries: [{ contactId: leadId, keys: old.keys }] }));
        await db.query('UPDATE contacts SET match_record = $1 WHERE id = $2', [old.matchRecord, leadId]);
      } else {
        const keys = matchKeys(toMatchRecord(leadId, lead));
        must(await store.replaceMatchKeys({ tenantId, entries: [{ contactId: leadId, keys }] }));
      }

      const reapit = agencyClient('reapit', h.sim);
      must(
        await reapit.create({
          contact: canonicalContactSchema.parse({
            firstName: 'Amira',
            lastName: 'Okafor',
            email: 'a.okafor@work.example',
            address,
          }),
          reference: randomUUID(),
        }),
      );

      const cycle = await auditedCycle(h);
      expect(cycle?.written).toMatchObject({ created: 0 });
      const holding = must(await store.listContacts({ tenantId, limit: 100 })).filter(
        (c) => c.contact.lastName === 'Okafor',
      );
      expect(holding.map((c) => c.id)).toEqual([leadId]);
      expect(holding[0]?.links).toHaveLength(1);
      const inReapit = (await h.sim.control.records()).filter((r) => JSON.stringify(r).includes('Okafor'));
      expect(inReapit).toHaveLength(1);
    } finally {
      await h.close();
      await store.close();
    }
  });
});

describe('a lead imported after the upgrade', () => {
  it('is matched to the contact stored before it with version 1 keys; nothing is created', async () => {
    const { db, store } = await openStoreWithDb();
    try {
      const tenantId = must(await store.createTenant({ name: 'agency', syncIntervalSeconds: 900 })).id;
      const storedId = randomUUID();
      must(
        await store.upsertContacts({
          tenantId,
          contacts: [{ id: storedId, contact: lead }],
          now: new Date(),
        }),
      );
      const old = storedByVersion1(storedId, lead);
      must(await store.replaceMatchKeys({ tenantId, entries: [{ contactId: storedId, keys: old.keys }] }));
      await db.query('UPDATE contacts SET match_record = $1 WHERE id = $2', [old.matchRecord, storedId]);

      const again = { firstName: 'Amira', lastName: 'Okafor', email: 'a.okafor@work.example', address };
      const imported = await importContacts(store, {
        tenantId,
        lines: [{ line: 1, value: canonicalContactSchema.parse(again) }],
        now: new Date(),
      });
      expect(imported).toMatchObject({ created: [], matched: [{ line: 1, matchedId: storedId }] });
    } finally {
      await store.close();
    }
  });
});
