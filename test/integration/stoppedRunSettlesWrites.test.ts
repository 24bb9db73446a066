import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { leadEmailsIn, newLeads } from '../support/leads.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

const LEADS = 20;
const LATENCY_MS = 150;

/**
 * A run stopped mid-push (the process stopping) takes no more writes, but those it has sent are answered and
 * acknowledged before it returns and lets go of its lease. Abandoned, each was a create the CRM might make after
 * the next run had looked for it (Loop keeps no reference and cannot search by e-mail): the person twice.
 */
describe('a run stopped while its creates are in flight', () => {
  it('returns once each is answered and linked, and the next run sends none again', async () => {
    const h = await createSyncHarness('loop', { simulator: { contacts: 5, seed: 3, latencyMs: LATENCY_MS } });
    try {
      must(await h.run());
      const leads = newLeads(LEADS, 'Okafor');
      must(await h.store.upsertContacts({ tenantId: h.tenantId, contacts: leads, now: new Date() }));

      const stopping = new AbortController();
      h.deps.stopping = stopping.signal;
      // The first answer: the other creates of the push's eight in flight are still on their way.
      h.deps.onPushProgress = ({ done }) => {
        if (done > 0) stopping.abort();
      };
      expect(await h.run()).toMatchObject({ ok: false, error: { kind: 'stopping' } });
      delete h.deps.stopping;
      delete h.deps.onPushProgress;

      const madeAtReturn = leadEmailsIn(await h.sim.control.records());
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
      expect(leadEmailsIn(await h.sim.control.records())).toHaveLength(madeAtReturn.length);

      expect(must(await h.run()).state).toBe('idle');
      const emails = leadEmailsIn(await h.sim.control.records());
      expect({ records: emails.length, people: new Set(emails).size }).toEqual({
        records: LEADS,
        people: LEADS,
      });
    } finally {
      await h.close();
    }
  });
});
