import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { err } from '../../src/core/result.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/** The store, with the `nth` call of `markPushSent` after `arm()` answered as a database gone away. */
function failingMarkPushSent(store: StoreHandle) {
  let countdown: number | null = null;
  const wrapped: StoreHandle = new Proxy(store, {
    get(target, key) {
      if (key === 'markPushSent') {
        return (async (request) => {
          if (countdown !== null && --countdown === 0) {
            countdown = null;
            return err({ kind: 'unavailable', message: 'connection terminated by the test' });
          }
          return target.markPushSent(request);
        }) satisfies StoreHandle['markPushSent'];
      }
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: wrapped, arm: (nth: number) => (countdown = nth) };
}

/**
 * A push whose ledger write fails mid-way (the database gone for a moment) fails as a whole: no write goes out after
 * the phase has failed. Its eight writers ran on after the first one threw, sending the rest of the push in the
 * background while the machine backed off, and again alongside the push's re-run.
 */
it('sends nothing once the push has failed on a store error; the re-run sends each write once', async () => {
  const clock = { offsetMs: 0 };
  const memory = must(await openMemoryStore());
  const failing = failingMarkPushSent(memory);
  const h = await createSyncHarness('reapit', {
    simulator: { contacts: 30, seed: 8 },
    store: failing.store,
    runner: { clock: () => new Date(Date.now() + clock.offsetMs) },
  });
  try {
    expect(must(await h.run()).state).toBe('idle');
    const linked = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 30 }))
      .filter((c) => c.links.length === 1)
      .slice(0, 16);
    expect(linked).toHaveLength(16);
    const renamed = new Map(linked.map((c) => [c.links[0]?.externalId, `Renamed${c.id.slice(0, 6)}`]));
    must(
      await h.store.upsertContacts({
        tenantId: h.tenantId,
        contacts: linked.map((c) => ({
          id: c.id,
          contact: { ...c.contact, firstName: renamed.get(c.links[0]?.externalId) ?? null },
        })),
        now: new Date(),
      }),
    );
    for (let phases = 0; phases < 3 && must(await h.run('phase')).state !== 'pushing'; phases++);

    failing.arm(3);
    const failed = must(await h.run('phase'));
    expect(failed.state).toBe('backoff');
    expect(failed.context.lastError?.message).toContain('connection terminated by the test');
    const requestsAtFailure = (await h.sim.control.stats()).requests;
    await sleep(1_500);
    expect((await h.sim.control.stats()).requests).toBe(requestsAtFailure);

    for (;;) {
      const outcome = must(await h.run());
      if (outcome.state !== 'backoff') {
        expect(outcome.state).toBe('idle');
        break;
      }
      clock.offsetMs = Date.parse(outcome.context.resumeAt ?? '') - Date.now() + 1;
    }
    const [entry] = must(await h.store.listAudit({ tenantId: h.tenantId, limit: 1 })).entries;
    expect(entry?.body.written.updated).toBe(16);
    const records = (await h.sim.control.records()) as Array<{ id: string; forename?: string }>;
    for (const [externalId, firstName] of renamed)
      expect(records.find((r) => r.id === externalId)?.forename).toBe(firstName);
  } finally {
    await h.close();
    await memory.close();
  }
}, 120_000);
