import { describe, expect, it } from 'vitest';
import type { CanonicalContact } from '../../src/core/schemas.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import { lead } from '../support/lostCreate.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * Two NurtureHub leads of one person, A and B, planned as creates in one cycle (dedup keeps both: different
 * e-mails, or a different title). B's create is acknowledged and linked; A's request never reaches the CRM. The
 * recovery that looks for the record A's create may have made scored every record it found, B's included, so it
 * took B's record for A's: A's create was refused as "answered with contact B's record", a note of an answer the
 * CRM never gave, and A was not created until it changed. A lost request must change nothing: as many records
 * made and the same contacts linked as when no connection is lost.
 */
const A_ID = '7a1f0c7e-4f0b-4c57-9d1e-3b2a3c4d5e6f';
const B_ID = '1b2c3d4e-0000-4c57-9d1e-3b2a3c4d5e6f';

async function scenario(
  provider: ProviderName,
  a: CanonicalContact,
  b: CanonicalContact,
  marker: string,
  lose = true,
) {
  let offsetMs = 0;
  let drop = lose;
  const losingFetch: typeof fetch = async (input, init) => {
    const creatingA = init?.method === 'POST' && String(init.body).includes(marker);
    if (creatingA && drop) {
      drop = false;
      throw new TypeError('fetch failed: connect ECONNRESET'); // never reached the CRM
    }
    return fetch(input, init);
  };
  const h = await createSyncHarness(provider, {
    simulator: { contacts: 20, seed: 3 },
    runner: { clock: () => new Date(Date.now() + offsetMs), providerOptions: () => ({ fetch: losingFetch }) },
  });
  must(await h.run());
  must(
    await h.store.upsertContacts({
      tenantId: h.tenantId,
      contacts: [
        { id: B_ID, contact: b },
        { id: A_ID, contact: a },
      ],
      now: new Date(),
    }),
  );
  const before = await h.sim.control.stats();
  const failed = must(await h.run());
  return { h, before, failed, setOffset: (ms: number) => (offsetMs = ms), dropped: () => !drop };
}

const linksOf = async (h: Awaited<ReturnType<typeof createSyncHarness>>, ids: string[]) =>
  must(
    await h.store.getLinksByContactIds({
      tenantId: h.tenantId,
      connectionId: h.connectionId,
      contactIds: ids,
    }),
  );

describe("a lost create (its request never reached the CRM) is not found as another contact's record", () => {
  it.each([
    ['loop', { ...lead }, { ...lead, email: 'priya.raman.other@example.co.uk' }, 'priya.raman.lead@'],
    ['reapit', { ...lead, title: 'Dr' }, { ...lead }, '"Dr"'],
  ] as const)('%s', async (provider, a, b, marker) => {
    const { h, before, failed, setOffset, dropped } = await scenario(provider, a, b, marker);
    try {
      expect(dropped()).toBe(true);
      expect(failed.state).toBe('backoff');
      // The same leads, no connection lost: what the CRM and the links should end up as.
      const control = await scenario(provider, a, b, marker, false);
      const controlCreates = (await control.h.sim.control.stats()).creates - control.before.creates;
      const controlLinked = (await linksOf(control.h, [A_ID, B_ID])).map((l) => l.contactId).sort();
      await control.h.close();
      expect((await linksOf(h, [B_ID])).length).toBe(1);
      setOffset(60 * 60 * 1000);
      expect(must(await h.run()).state).toBe('idle');
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const [entry] = must(await h.store.listAudit({ ...ref, limit: 1 })).entries;
      const notes = entry?.body.errors.map((e) => e.message) ?? [];
      expect(notes.filter((m) => m.includes('answered with record'))).toEqual([]);
      const after = await h.sim.control.stats();
      const links = await linksOf(h, [A_ID, B_ID]);
      // A lost request changes nothing: as many records made, the same contacts linked, each to a record of its own.
      expect(after.creates - before.creates).toBe(controlCreates);
      expect(links.map((l) => l.contactId).sort()).toEqual(controlLinked);
      expect(new Set(links.map((l) => l.externalId)).size).toBe(links.length);
    } finally {
      await h.close();
    }
  });
});
