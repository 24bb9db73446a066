import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BATCH_SIZE } from '../../src/actors/context.ts';
import { matchKeys } from '../../src/core/dedup/blocking.ts';
import { toMatchRecord } from '../../src/core/dedup/matchRecord.ts';
import type { CanonicalContact } from '../../src/core/schemas.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { toInboundRecord } from '../../src/providers/reapit/mapping.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { createSyncHarness } from '../support/syncHarness.ts';

/**
 * A reconcile run keeps the candidates it read for its later batches. A NurtureHub edit landing between two
 * batches must not leave the run matching against the contact as it was: here the edit turns a lead into the
 * duplicate of a record of the second batch, which must then join it instead of creating a contact.
 */
describe('a contact edited while a reconcile run holds it', () => {
  it('is matched by its new values in the batches after the edit', async () => {
    const opened = await openMemoryStore();
    if (!opened.ok) throw new Error(opened.error.message);
    const real = opened.value;
    const readPerCall: string[][] = [];
    let onSecondBatch: (() => Promise<void>) | null = null;
    // The real store, watched: which candidates each batch reads, and a hook before the second batch.
    const store = new Proxy(real, {
      get(target, property, receiver) {
        if (property === 'getMatchRecords') {
          return (params: Parameters<StoreHandle['getMatchRecords']>[0]) => {
            readPerCall.push(params.ids);
            return target.getMatchRecords(params);
          };
        }
        if (property === 'listStaged') {
          return async (params: Parameters<StoreHandle['listStaged']>[0]) => {
            const hook = onSecondBatch;
            if (params.afterExternalId !== null && hook !== null) {
              onSecondBatch = null;
              await hook();
            }
            return target.listStaged(params);
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
    const h = await createSyncHarness('reapit', {
      store,
      simulator: { contacts: DEFAULT_BATCH_SIZE + 20, seed: 31 },
    });
    try {
      const crm = (await h.sim.control.records())
        .map((wire) => {
          const mapped = toInboundRecord(wire);
          if (!mapped.ok) throw new Error(mapped.error.message);
          return mapped.value;
        })
        .sort((a, b) => (a.externalId < b.externalId ? -1 : 1));
      // Q is reconciled in the first batch and R in the second.
      const q = crm.find((r) => r.contact.mobilePhone);
      const r = crm.at(-1);
      if (q === undefined || r === undefined) throw new Error('the simulator made no record with a mobile');
      expect(crm.indexOf(q)).toBeLessThan(DEFAULT_BATCH_SIZE);

      // The lead shares Q's mobile (so Q's look-up reads it) and nothing else with either record.
      const leadId = randomUUID();
      const before: CanonicalContact = {
        ...r.contact,
        firstName: 'Zebedee',
        lastName: 'Quartermaine',
        email: 'zebedee.q@example.test',
        mobilePhone: q.contact.mobilePhone,
        homePhone: null,
        workPhone: null,
        dateOfBirth: null,
        address: null,
      };
      await write(real, h.tenantId, leadId, before);
      // Between the batches, NurtureHub's copy of the lead becomes R's: R's own values, and its opens.
      onSecondBatch = () => write(real, h.tenantId, leadId, { ...r.contact, emailOpens: 4 });

      const run = await h.run();
      if (!run.ok) throw new Error(run.error.message);
      expect(onSecondBatch).toBeNull();
      expect(readPerCall[0]).toContain(leadId);

      const contacts: Array<{ id: string; links: Array<{ externalId: string }> }> = [];
      for (let afterId: string | undefined; ; ) {
        const page = await real.listContacts({
          tenantId: h.tenantId,
          limit: 1000,
          ...(afterId ? { afterId } : {}),
        });
        if (!page.ok) throw new Error(page.error.message);
        contacts.push(...page.value);
        afterId = page.value.at(-1)?.id;
        if (page.value.length < 1000) break;
      }
      const linkedTo = (externalId: string) =>
        contacts.find((c) => c.links.some((l) => l.externalId === externalId))?.id;
      expect(linkedTo(q.externalId)).not.toBe(leadId);
      expect(linkedTo(r.externalId)).toBe(leadId);
    } finally {
      await h.close();
      await real.close();
    }
  });
});

/** A NurtureHub-side save: the document and its match keys, as the contacts API writes them. */
async function write(store: StoreHandle, tenantId: string, id: string, contact: CanonicalContact) {
  const saved = await store.upsertContacts({ tenantId, contacts: [{ id, contact }], now: new Date() });
  if (!saved.ok) throw new Error(saved.error.message);
  const keys = matchKeys(toMatchRecord(id, contact));
  const indexed = await store.replaceMatchKeys({ tenantId, entries: [{ contactId: id, keys }] });
  if (!indexed.ok) throw new Error(indexed.error.message);
}
