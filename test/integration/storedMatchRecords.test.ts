import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { matchKeys } from '../../src/core/dedup/blocking.ts';
import { toMatchRecord } from '../../src/core/dedup/matchRecord.ts';
import { isPidAlive, ownerGoneOnHost } from '../../src/persistence/leaseOwner.ts';
import { openPgliteStore } from '../../src/persistence/pglite.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';
import { toInboundRecord } from '../../src/providers/reapit/mapping.ts';
import { freshMemoryPglite } from '../support/pgliteTemplate.ts';
import { createSyncHarness } from '../support/syncHarness.ts';

// A stored contact is matched by its stored match record, or, when it has none it can trust (written before
// records were stored, or by another version of the normalisation), by its document normalised again.
describe.each([
  ['its stored match record', null],
  ['its document, having no stored record', 'UPDATE contacts SET match_record = NULL'],
  ['its document, its record being of another version', `UPDATE contacts SET match_record = '{"v":0}'`],
] as const)('a NurtureHub lead found by %s', (_name, legacySql) => {
  it('takes the CRM record that duplicates it instead of a new contact', async () => {
    const db = await freshMemoryPglite();
    const opened = await openPgliteStore({
      dataDir: null,
      db,
      secrets: createSecretBox(randomBytes(32)),
      isOwnerGone: ownerGoneOnHost(hostname(), isPidAlive),
    });
    if (!opened.ok) throw new Error(opened.error.message);
    const store = opened.value;
    const h = await createSyncHarness('reapit', { store, simulator: { contacts: 3, seed: 21 } });
    try {
      const [wire] = await h.sim.control.records();
      const crm = toInboundRecord(wire);
      if (!crm.ok) throw new Error(crm.error.message);
      const leadId = randomUUID();
      const lead = { ...crm.value.contact, emailOpens: 4 };
      const now = new Date();
      const saved = await store.upsertContacts({
        tenantId: h.tenantId,
        contacts: [{ id: leadId, contact: lead }],
        now,
      });
      if (!saved.ok) throw new Error(saved.error.message);
      const keys = matchKeys(toMatchRecord(leadId, lead));
      const indexed = await store.replaceMatchKeys({
        tenantId: h.tenantId,
        entries: [{ contactId: leadId, keys }],
      });
      if (!indexed.ok) throw new Error(indexed.error.message);
      if (legacySql !== null) await db.query(legacySql);

      const run = await h.run();
      if (!run.ok) throw new Error(run.error.message);
      const contacts = await store.listContacts({ tenantId: h.tenantId, limit: 10 });
      if (!contacts.ok) throw new Error(contacts.error.message);
      expect(contacts.value).toHaveLength(3);
      const joined = contacts.value.find((c) => c.id === leadId);
      expect(joined?.links.map((l) => l.externalId)).toEqual([crm.value.externalId]);
      expect(joined?.contact.emailOpens).toBe(4);
    } finally {
      await h.close();
      await store.close();
    }
  });
});
