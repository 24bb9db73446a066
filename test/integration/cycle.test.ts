import { describe, expect, it } from 'vitest';
import { createSyncHarness } from '../support/syncHarness.ts';

// agentOS has no modified-since filter: every cycle lists every record, so this is where an unchanged record
// that was suppressed as a duplicate must not come back (it would be suppressed and audited again each cycle).
describe.each(['reapit', 'agentos'] as const)('one connection cycle against the %s simulator', (provider) => {
  it('imports every contact, audits once, and a second cycle on unchanged data writes nothing', async () => {
    const h = await createSyncHarness(provider, { simulator: { contacts: 120, seed: 9 } });
    try {
      const first = await h.run();
      if (!first.ok) throw new Error(first.error.message);
      expect(first.value.state).toBe('idle');
      expect(first.value.context.cursor).not.toBeNull();

      const contacts = await h.store.listContacts({ tenantId: h.tenantId, limit: 1000 });
      if (!contacts.ok) throw new Error(contacts.error.message);
      const audit = await h.store.listAudit({ tenantId: h.tenantId });
      if (!audit.ok) throw new Error(audit.error.message);
      expect(audit.value.entries).toHaveLength(1);
      const [entry] = audit.value.entries;
      const records = await h.sim.control.records();
      // Every CRM record is linked to its own local contact, except the duplicates the audit explains.
      const links = contacts.value.flatMap((c) => c.links);
      const suppressed = entry?.body.duplicatesSuppressed ?? [];
      expect(suppressed.length).toBeGreaterThan(0);
      expect(links.length + suppressed.length).toBe(records.length);
      expect(contacts.value).toHaveLength(links.length);
      expect(new Set(links.map((l) => l.externalId)).size).toBe(links.length);
      expect(entry?.body.fetched).toBe(records.length);

      const statsBefore = await h.sim.control.stats();
      const second = await h.run();
      if (!second.ok) throw new Error(second.error.message);
      const statsAfter = await h.sim.control.stats();
      expect(statsAfter.writes).toBe(statsBefore.writes);
      const audit2 = await h.store.listAudit({ tenantId: h.tenantId });
      if (!audit2.ok) throw new Error(audit2.error.message);
      expect(audit2.value.entries).toHaveLength(2);
      const latest = audit2.value.entries[0]?.body;
      expect(latest?.fetched).toBe(0);
      expect(latest?.written).toEqual({ created: 0, updated: 0, unchanged: 0 });
      expect(latest?.conflicts).toEqual([]);
      expect(latest?.duplicatesSuppressed).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
