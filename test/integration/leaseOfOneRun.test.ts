import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatLeaseOwner } from '../../src/persistence/leaseOwner.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { newLeads } from '../support/leads.ts';
import { withStoreMethods } from '../support/storeOverrides.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

/** How often the racing runs renew their lease: a third of it. */
const RENEWAL = 2_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const otherWorker = () => formatLeaseOwner({ host: 'other', pid: 1, id: randomUUID() });
const refOf = (h: SyncHarness) => ({ tenantId: h.tenantId, connectionId: h.connectionId });

/** A Reapit connection after its first sync, with `leads` NurtureHub contacts for the next cycle to create. */
async function withLeadsToPush(
  leads: number,
  run: (h: SyncHarness, clockAhead: { ms: number }) => Promise<void>,
) {
  const clockAhead = { ms: 0 };
  const h = await createSyncHarness('reapit', {
    simulator: { contacts: 5, seed: 2, latencyMs: 40 },
    runner: { clock: () => new Date(Date.now() + clockAhead.ms) },
  });
  try {
    must(await runConnection({ ...h.deps, leaseTtlMs: 60_000 }, refOf(h)));
    must(
      await h.store.upsertContacts({
        tenantId: h.tenantId,
        contacts: newLeads(leads, 'Okafor'),
        now: new Date(),
      }),
    );
    await run(h, clockAhead);
  } finally {
    await h.close();
  }
}

/**
 * Every run leases as itself, and stops before another worker may take its lease over. Two runs of one process
 * (Sync now beside the scheduler) shared one lease owner: the first, its lease lapsed and taken over by the second,
 * released the second's lease as it unwound, and another worker then ran the connection beside it (twice the
 * creates). And the run counted its lease from later than the database did, or from a renewal the database had
 * since moved back, and so pushed on after another worker could take it.
 */
describe('the lease of one run', () => {
  it('is not released by another run of its process whose own lease lapsed', async () => {
    await withLeadsToPush(80, async (h, clockAhead) => {
      let secondPushing = () => {};
      const secondStarted = new Promise<void>((resolve) => {
        secondPushing = resolve;
      });
      let second: Promise<unknown> | null = null;
      let secondDone = false;
      const startSecond = () => {
        second ??= runConnection(
          { ...h.deps, onTransition: ({ state }) => state === 'pushing' && secondPushing() },
          refOf(h),
        ).then(() => {
          secondDone = true;
        });
      };
      // The first run's process pauses past its lease once its first creates are out; it releases only once the
      // second run of the process, which took the lapsed lease over, is pushing.
      const first = await runConnection(
        {
          ...h.deps,
          leaseTtlMs: 1_500,
          store: withStoreMethods(h.store, {
            releaseLease: async (real, input) => {
              await secondStarted;
              return real.releaseLease(input);
            },
          }),
          onPushProgress: ({ done }) => {
            if (done === 0 || clockAhead.ms > 0) return;
            clockAhead.ms = 10 * 60_000;
            setTimeout(startSecond, 600);
          },
        },
        refOf(h),
      );
      expect(first).toMatchObject({ ok: false, error: { kind: 'lease_held' } });
      expect(secondDone).toBe(false);
      const elsewhere = await h.store.acquireLease({
        ...refOf(h),
        owner: otherWorker(),
        ttlMs: 60_000,
        now: new Date(),
      });
      expect(secondDone || elsewhere.ok ? 'taken while the second run pushed' : 'held').toBe('held');
      await second;
    });
  }, 90_000);

  it('counts from when it was taken, though reading the connection under it took a while', async () => {
    await withLeadsToPush(150, async (h) => {
      let reads = 0;
      const outcome = await raceTakeover(h, {
        getConnection: async (real, input) => {
          if (reads++ === 0) await sleep(2 * RENEWAL);
          return real.getConnection(input);
        },
        heartbeatLease: async () => ({ ok: false, error: { kind: 'unavailable', message: 'unreachable' } }),
      });
      expect(outcome).toEqual({ ended: 'lease_held', stoppedFirst: true, writesAfterTakeover: 0 });
    });
  }, 90_000);

  it('is not moved back by a renewal answered after later ones', async () => {
    await withLeadsToPush(150, async (h) => {
      let beats = 0;
      const outcome = await raceTakeover(h, {
        heartbeatLease: async (real, input) => {
          const beat = ++beats;
          // The first renewal lands after the next two; from the fourth on the database is out of reach.
          if (beat === 1) await sleep(2.5 * RENEWAL);
          if (beat >= 4) return { ok: false, error: { kind: 'unavailable', message: 'unreachable' } };
          return real.heartbeatLease(input);
        },
      });
      expect(outcome).toEqual({ ended: 'lease_held', stoppedFirst: true, writesAfterTakeover: 0 });
    });
  }, 120_000);
});

/**
 * A run on a lease renewed every `RENEWAL` (a third of it), its store's methods as given, while another worker tries
 * for the lease every 20 ms: how the run ended, whether it gave the lease up before the other took it, and how many
 * of its writes settled after. A third of the lease is what the run has to stop in, once it finds the lease may be
 * lost: two seconds, so that a loaded machine's late timers do not use it up.
 */
async function raceTakeover(h: SyncHarness, overrides: Parameters<typeof withStoreMethods>[1]) {
  let takenAt: number | null = null;
  let releasedAt: number | null = null;
  let done = false;
  let writesAfterTakeover = 0;
  const run = runConnection(
    {
      ...h.deps,
      leaseTtlMs: 3 * RENEWAL,
      store: withStoreMethods(h.store, {
        ...overrides,
        releaseLease: (real, input) => {
          releasedAt ??= Date.now();
          return real.releaseLease(input);
        },
      }),
      onPushProgress: () => {
        if (takenAt !== null) writesAfterTakeover += 1;
      },
    },
    refOf(h),
  ).finally(() => {
    done = true;
  });
  while (!done) {
    const got = await h.store.acquireLease({
      ...refOf(h),
      owner: otherWorker(),
      ttlMs: 60_000,
      now: new Date(),
    });
    if (got.ok) {
      takenAt = Date.now();
      break;
    }
    await sleep(20);
  }
  const result = await run;
  return {
    ended: result.ok ? 'completed' : result.error.kind,
    // Taken once the run let it go is no race: the run writes nothing more after.
    stoppedFirst: takenAt === null || (releasedAt !== null && releasedAt <= takenAt),
    writesAfterTakeover,
  };
}
