import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { formatLeaseOwner } from '../../src/persistence/leaseOwner.ts';
import type { Store } from '../../src/persistence/store.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { leadEmailsIn, newLeads, recordsAndPeople } from '../support/leads.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

const LEADS = 40;
const TTL_MS = 9_000;
// Half the third of the lease a write is given to be answered in (a write's time limit is the whole third).
const LATENCY_MS = 1_500;

/**
 * A renewal that hangs (a connection to the database cut without a reset) is no failure to count, so the run went on
 * until its lease had run out, sending creates all the while; the worker that took over at once looked for the
 * creates still on their way, found none of them yet, and sent them again: the person twice.
 */
describe('a run whose lease renewal hangs', () => {
  it('sends no write its lease may not outlast, and the worker that takes over creates every lead once', async () => {
    let hanging = false;
    const h = await createSyncHarness('alto', {
      simulator: { contacts: 5, seed: 3 },
      runner: {
        // From the first answer on, renewals hang and the CRM takes its time over each create.
        onPushProgress: ({ done }) => {
          if (done === 0 || hanging) return;
          hanging = true;
          void h.sim.control.faults({ latencyMs: LATENCY_MS });
        },
      },
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const steady = { ...h.deps, leaseTtlMs: 60_000 };
      delete steady.onPushProgress;
      must(await runConnection(steady, ref));
      must(
        await h.store.upsertContacts({
          tenantId: h.tenantId,
          contacts: newLeads(LEADS, 'Mensah'),
          now: new Date(),
        }),
      );

      // Renewals never answer once the first create has; every other query of the store still goes through.
      const renewalHangs = new Proxy(h.store as Store, {
        get(target, key, receiver) {
          if (key === 'heartbeatLease' && hanging) return () => new Promise(() => {});
          const value = Reflect.get(target, key, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const stopped = await runConnection({ ...h.deps, store: renewalHangs, leaseTtlMs: TTL_MS }, ref);
      expect(stopped).toMatchObject({ ok: false, error: { kind: 'lease_held' } });
      const madeAtReturn = leadEmailsIn(await h.sim.control.records()).length;
      expect(madeAtReturn).toBeLessThan(LEADS);
      // None was still on its way when the lease ran out: long enough for one to land, the CRM holds no more.
      await sleep(2 * LATENCY_MS);
      expect(leadEmailsIn(await h.sim.control.records())).toHaveLength(madeAtReturn);

      await h.sim.control.faults({});
      const other = { ...steady, owner: formatLeaseOwner({ host: 'other', pid: 2, id: randomUUID() }) };
      expect(must(await runConnection(other, ref)).state).toBe('idle');
      expect(recordsAndPeople(await h.sim.control.records())).toEqual({ records: LEADS, people: LEADS });
    } finally {
      await h.close();
    }
    // 20 s alone, mostly the lease running out and slow answers.
  }, 120_000);
});
