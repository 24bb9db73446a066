import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { usePostgresProcesses } from '../support/postgresProcesses.ts';
import { postgresAvailable } from '../support/postgresServer.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * `store` whose first transaction once reconcile has begun (its first `listStaged`) waits for `release` before it
 * starts: a worker that stalls (a pause of its process, a slow network) between planning a batch and committing it.
 */
function stallingFirstBatch(store: StoreHandle) {
  let armed = false;
  let stalled = false;
  let reached = () => {};
  const atStall = new Promise<void>((resolve) => {
    reached = resolve;
  });
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let settled: (outcome: unknown) => void = () => {};
  const done = new Promise<unknown>((resolve) => {
    settled = resolve;
  });
  const stalling = new Proxy(store, {
    get(target, key) {
      if (key === 'listStaged') {
        return ((request: Parameters<StoreHandle['listStaged']>[0]) => {
          armed = true;
          return target.listStaged(request);
        }) as StoreHandle['listStaged'];
      }
      if (key === 'transaction') {
        return (async (fn: Parameters<StoreHandle['transaction']>[0]) => {
          if (!armed || stalled) return target.transaction(fn);
          stalled = true;
          reached();
          await released;
          const outcome = await target.transaction(fn).catch((error: unknown) => ({ threw: String(error) }));
          settled(outcome);
          return outcome;
        }) as StoreHandle['transaction'];
      }
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: stalling, atStall, release, done };
}

/**
 * A run's reconcile batch commits only while the run holds the connection's lease. A worker stalled between planning
 * a batch and committing it, its lease lost meanwhile (its lock session ended), and another worker's run took the
 * cycle over and finished it; an open was recorded since. Committed late, the stalled batch wrote the contact back to
 * what it had read (the open uncounted) under a new change number, which the other CRMs were then sent.
 */
describe.runIf(postgresAvailable('a stalled batch after its lease was lost'))(
  'reconcile fenced by the lease',
  () => {
    const { openProcess, url } = usePostgresProcesses();

    it('a batch of a run whose lease was lost does not commit over what happened since', async () => {
      const one = await openProcess();
      const other = await openProcess();
      const stall = stallingFirstBatch(one);
      const h = await createSyncHarness('reapit', {
        store: stall.store,
        simulator: { contacts: 1, seed: 3 },
      });
      const admin = new pg.Client({ connectionString: url() });
      await admin.connect();
      try {
        const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
        // The first worker's cycle fetches the CRM's one person, plans the batch creating its contact, and stalls.
        const stalledRun = h.run();
        await stall.atStall;
        // Its lock session ends under it (a dropped connection), as in leaseSessionLost.test.ts: the run stops.
        await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted`,
        );
        expect(await stalledRun).toMatchObject({ ok: false });

        // Another worker takes the cycle over and finishes it; an open of the new contact is recorded.
        const takeover = { ...h.deps, store: other, owner: `other-host:4242:${randomUUID()}` };
        const taken = must(await runConnection(takeover, ref));
        expect([taken.state, taken.context.lastError]).toEqual(['idle', null]);
        const [contact] = must(await other.listContacts({ tenantId: h.tenantId, limit: 10 }));
        if (contact === undefined) throw new Error('no contact');
        const event = { eventId: 'open-1', contactId: contact.id, kind: 'email_open' as const };
        must(
          await other.ingestEngagementEvents({
            tenantId: h.tenantId,
            events: [{ ...event, occurredAt: new Date().toISOString() }],
            now: new Date(),
          }),
        );
        const [before] = must(await other.getContacts({ tenantId: h.tenantId, ids: [contact.id] }));

        // The stalled batch goes on: refused, nothing written.
        stall.release();
        expect(await stall.done).toMatchObject({ ok: false, error: { kind: 'lease_lost' } });
        const [after] = must(await other.getContacts({ tenantId: h.tenantId, ids: [contact.id] }));
        expect(after?.contact.emailOpens).toBe(1);
        expect(after?.changeSeq).toBe(before?.changeSeq);
      } finally {
        await admin.end();
        await h.close();
        await one.close();
        await other.close();
      }
    }, 60_000);
  },
);
