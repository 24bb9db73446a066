import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { err } from '../../src/core/result.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * The store, with the `nth` call of `markPushSent` after `arm()` answered as a database gone away (in a transaction
 * too: the push marks a write sent under its lease, in one).
 */
function failingMarkPushSent(store: StoreHandle) {
  let countdown: number | null = null;
  const failing = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(inner, key) {
        if (key === 'markPushSent') {
          return (async (request) => {
            if (countdown !== null && --countdown === 0) {
              countdown = null;
              return err({ kind: 'unavailable', message: 'connection terminated by the test' });
            }
            return (inner as unknown as StoreHandle).markPushSent(request);
          }) satisfies StoreHandle['markPushSent'];
        }
        if (key === 'transaction') {
          return ((fn, ...rest) =>
            (inner as unknown as StoreHandle).transaction(
              (tx) => fn(failing(tx)),
              ...rest,
            )) as StoreHandle['transaction'];
        }
        const value = Reflect.get(inner, key);
        return typeof value === 'function' ? value.bind(inner) : value;
      },
    });
  return { store: failing(store), arm: (nth: number) => (countdown = nth) };
}

/** Writers of a push at once: `IN_FLIGHT` in src/actors/pushPhase.ts (keep in sync). */
const IN_FLIGHT = 8;
/** Runs after the failed one that may pass before the connection is idle again (one backoff, some margin). */
const MAX_RERUNS = 5;

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

    const before = await h.sim.control.stats();
    // The third ledger write fails; the writers in flight with it settle, and none takes another write.
    failing.arm(3);
    const failed = must(await h.run('phase'));
    expect(failed.state).toBe('backoff');
    expect(failed.context.lastError?.message).toContain('connection terminated by the test');
    const atFailure = await h.sim.control.stats();
    // Sent by the failed phase: at most the writes in flight beside the one whose ledger write threw (the writers
    // start together, so all of the first IN_FLIGHT are taken before it throws). A writer that takes new writes
    // after the failure sends the rest of the 16 (15 without the guard).
    const sentByFailedPhase = atFailure.writeCalls - before.writeCalls;
    expect(sentByFailedPhase).toBeGreaterThan(0);
    expect(sentByFailedPhase).toBeLessThanOrEqual(IN_FLIGHT - 1);
    await sleep(1_500);
    expect(await h.sim.control.stats()).toEqual(atFailure);

    let outcome = must(await h.run());
    for (let reruns = 1; outcome.state === 'backoff' && reruns < MAX_RERUNS; reruns++) {
      clock.offsetMs = Date.parse(outcome.context.resumeAt ?? '') - Date.now() + 1;
      outcome = must(await h.run());
    }
    expect(outcome.state).toBe('idle');
    // Each of the 16 updates reached the CRM once, over the failed phase and its re-run: none twice, none lost.
    const after = await h.sim.control.stats();
    expect({
      writeCalls: after.writeCalls - before.writeCalls,
      writes: after.writes - before.writes,
    }).toEqual({
      writeCalls: 16,
      writes: 16,
    });
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
