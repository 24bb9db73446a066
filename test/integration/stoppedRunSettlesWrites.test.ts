import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ProviderName } from '../../src/providers/provider.ts';
import { leadEmailsIn, newLeads, recordsAndPeople } from '../support/leads.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

const LEADS = 20;
const LATENCY_MS = 150;

/** A first sync, then `LEADS` leads to create, and a push stopped (the process stopping) at its `answers`th answer. */
async function stopMidPush(provider: ProviderName, seed: number, answers: number, latencyMs = LATENCY_MS) {
  const h = await createSyncHarness(provider, { simulator: { contacts: 5, seed, latencyMs } });
  must(await h.run());
  const leads = newLeads(LEADS, 'Okafor');
  must(await h.store.upsertContacts({ tenantId: h.tenantId, contacts: leads, now: new Date() }));
  const stopping = new AbortController();
  h.deps.stopping = stopping.signal;
  h.deps.onPushProgress = ({ done }) => {
    if (done >= answers) stopping.abort();
  };
  expect(await h.run()).toMatchObject({ ok: false, error: { kind: 'stopping' } });
  delete h.deps.stopping;
  delete h.deps.onPushProgress;
  return { h, leads };
}

const leadRecords = async (h: SyncHarness) => leadEmailsIn(await h.sim.control.records());

/**
 * A run stopped mid-push (the process stopping) takes no more writes, but those it has sent are answered and
 * acknowledged before it returns and lets go of its lease. Abandoned, each was a create the CRM might make after
 * the next run had looked for it (Loop keeps no reference and cannot search by e-mail): the person twice.
 */
describe('a run stopped while its creates are in flight', () => {
  it('returns once each is answered and linked, and the next run sends none again', async () => {
    // At the first answer, the other creates of the push's eight in flight are still on their way.
    const { h, leads } = await stopMidPush('loop', 3, 1);
    try {
      const madeAtReturn = await leadRecords(h);
      const links = must(
        await h.store.getLinksByContactIds({
          tenantId: h.tenantId,
          connectionId: h.connectionId,
          contactIds: leads.map((lead) => lead.id),
        }),
      );
      // More than the one answered before the stop, and every one the CRM made is known to be ours.
      expect(madeAtReturn.length).toBeGreaterThan(1);
      expect(links).toHaveLength(madeAtReturn.length);
      // Nothing still on its way: long enough for a create abandoned in flight to land, the CRM holds no more.
      await sleep(4 * LATENCY_MS);
      expect(await leadRecords(h)).toHaveLength(madeAtReturn.length);

      expect(must(await h.run()).state).toBe('idle');
      expect(recordsAndPeople(await h.sim.control.records())).toEqual({ records: LEADS, people: LEADS });
    } finally {
      await h.close();
    }
  }, 120_000);

  /**
   * Reapit allows five calls in flight: with slow answers, the other creates taken (marked sent) wait for a place in
   * the limiter, and the stop keeps them from going out. Each was left `sent`: the next run took it for one the CRM
   * may still be applying, and backed off for Reapit's minute of settle time.
   */
  it('plans again the creates the stop kept from going out, and the next run finishes the cycle', async () => {
    // Slow answers: five creates in flight, the other three taken (marked sent) wait for a place.
    const { h } = await stopMidPush('reapit', 4, 1, 1_000);
    try {
      expect(must(await h.run()).state).toBe('idle');
      expect(recordsAndPeople(await h.sim.control.records())).toEqual({ records: LEADS, people: LEADS });
      const [entry] = must(await h.store.listAudit({ tenantId: h.tenantId, limit: 1 })).entries;
      expect(entry?.body.written.created).toBe(LEADS);
      expect(entry?.body.errors).toEqual([]);
    } finally {
      await h.close();
    }
  }, 120_000);
});
