import { randomUUID } from 'node:crypto';
import { InngestTestEngine } from '@inngest/test';
import { describe, expect, it } from 'vitest';
import { dueEventId, selectDue, slotOf } from '../../src/inngest/dueSelection.ts';
import { createScheduleTick, type TickResult } from '../../src/inngest/functions/scheduleTick.ts';
import { formatLeaseOwner } from '../../src/persistence/leaseOwner.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import type { RunnerDeps } from '../../src/runner/connectionRunner.ts';
import { capturingClient } from '../support/inngest.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { createSyncHarness } from '../support/syncHarness.ts';

const T0 = new Date('2025-06-02T09:15:20.000Z');

async function memoryStore(): Promise<StoreHandle> {
  const opened = await openMemoryStore();
  if (!opened.ok) throw new Error(opened.error.message);
  return opened.value;
}

/** A tenant with one connection per provider, first run at `nextRunAt`. */
async function tenant(store: StoreHandle, providers: ProviderName[], nextRunAt: Date, intervalSeconds = 900) {
  const created = await store.createTenant({
    name: `agency-${randomUUID()}`,
    syncIntervalSeconds: intervalSeconds,
  });
  if (!created.ok) throw new Error(created.error.message);
  const ids: string[] = [];
  for (const provider of providers) {
    const connection = await store.addConnection({
      tenantId: created.value.id,
      provider,
      baseUrl: `https://${provider}.example.test`,
      credentials: { token: 'x' },
      nextRunAt,
    });
    if (!connection.ok) throw new Error(connection.error.message);
    ids.push(connection.value.id);
  }
  return { tenantId: created.value.id, connectionIds: ids };
}

function deps(store: StoreHandle, now: () => Date): RunnerDeps {
  return {
    store,
    clock: now,
    owner: formatLeaseOwner({ host: 'tick', pid: 1, id: randomUUID() }),
    newCycleId: randomUUID,
  };
}

/** Runs the tick function once through the test engine, at `now`. */
async function tick(store: StoreHandle, now: Date) {
  const { client, sent } = capturingClient();
  const fn = createScheduleTick(
    client,
    deps(store, () => now),
  );
  const run = await new InngestTestEngine({ function: fn }).execute();
  if ('error' in run && run.error) throw new Error(`tick failed: ${JSON.stringify(run.error)}`);
  return { result: run.result as TickResult, sent, ctx: run.ctx };
}

describe('schedule-tick', () => {
  it('sends one crm/connection.sync.due per due connection, its id the connection and the slot', async () => {
    const store = await memoryStore();
    try {
      const a = await tenant(store, ['reapit', 'alto'], T0);
      const b = await tenant(store, ['street'], T0);
      const { result, sent } = await tick(store, T0);

      const slot = slotOf(T0);
      expect(slot).toBe('2025-06-02T09:15Z');
      expect(result).toEqual({ slot, fannedOut: 3 });
      const expected = [
        { tenantId: a.tenantId, connectionId: a.connectionIds[0], provider: 'reapit' },
        { tenantId: a.tenantId, connectionId: a.connectionIds[1], provider: 'alto' },
        { tenantId: b.tenantId, connectionId: b.connectionIds[0], provider: 'street' },
      ].map((data) => ({
        name: 'crm/connection.sync.due',
        id: `${data.connectionId}:${slot}`,
        data: { ...data, slot },
      }));
      expect(sent).toEqual(expect.arrayContaining(expected.map((e) => expect.objectContaining(e))));
      expect(sent).toHaveLength(3);
    } finally {
      await store.close();
    }
  });

  it('gives the same event ids to every tick in a slot (a retried tick starts no second run), new ones in the next', async () => {
    const store = await memoryStore();
    try {
      await tenant(store, ['reapit', 'loop'], T0);
      const ids = (events: Array<{ id?: string }>) => events.map((e) => e.id).sort();
      const first = await tick(store, T0);
      const retried = await tick(store, new Date(T0.getTime() + 34_000));
      const nextSlot = await tick(store, new Date(T0.getTime() + 40_000));
      expect(ids(retried.sent)).toEqual(ids(first.sent));
      expect(ids(nextSlot.sent)).not.toEqual(ids(first.sent));
      expect(ids(nextSlot.sent).every((id) => id?.endsWith(':2025-06-02T09:16Z'))).toBe(true);

      // A retry of the same run replays the memoized selection, so the same events go out.
      const { client, sent } = capturingClient();
      const fn = createScheduleTick(
        client,
        deps(store, () => new Date(T0.getTime() + 3_600_000)),
      );
      const selection = first.sent.map((e) => e.data);
      await new InngestTestEngine({
        function: fn,
        steps: [{ id: 'select-due', handler: () => selection }],
      }).execute();
      expect(ids(sent)).toEqual(ids(first.sent));
      expect(dueEventId('c-1', '2025-06-02T09:15Z')).toBe('c-1:2025-06-02T09:15Z');
    } finally {
      await store.close();
    }
  });

  it('selects what is due: next run within the minute, enabled, and no live lease (an expired one does not count)', async () => {
    const store = await memoryStore();
    try {
      const later = await tenant(store, ['reapit'], new Date(T0.getTime() + 60_000));
      const due = await tenant(store, ['reapit'], T0);
      const disabled = await tenant(store, ['reapit'], T0);
      const leased = await tenant(store, ['reapit'], T0);
      const expired = await tenant(store, ['reapit'], T0);
      // Its next run falls later in the tick's minute: due now, not one tick late.
      const laterThisMinute = await tenant(store, ['reapit'], new Date(T0.getTime() + 30_000));
      const leasedUntilLaterThisMinute = await tenant(store, ['reapit'], T0);
      const refOf = (t: { tenantId: string; connectionIds: string[] }) => ({
        tenantId: t.tenantId,
        connectionId: t.connectionIds[0] ?? '',
      });
      await store.setConnectionEnabled({ ...refOf(disabled), enabled: false });
      // A live worker on another host holds one lease; another lease ran out a second ago.
      await store.acquireLease({ ...refOf(leased), owner: 'other-host:4242:w1', ttlMs: 60_000, now: T0 });
      await store.acquireLease({
        ...refOf(expired),
        owner: 'other-host:4242:w2',
        ttlMs: 1_000,
        now: new Date(T0.getTime() - 2_000),
      });
      await store.acquireLease({
        ...refOf(leasedUntilLaterThisMinute),
        owner: 'other-host:4242:w3',
        ttlMs: 10_000,
        now: T0,
      });

      const { sent } = await tick(store, T0);
      const selected = sent.map((e) => e.data.connectionId).sort();
      expect(selected).toEqual(
        [refOf(due).connectionId, refOf(expired).connectionId, refOf(laterThisMinute).connectionId].sort(),
      );

      const { sent: atLater } = await tick(store, new Date(T0.getTime() + 60_000));
      expect(atLater.map((e) => e.data.connectionId)).toContain(refOf(later).connectionId);
      expect(atLater.map((e) => e.data.connectionId)).toContain(refOf(leased).connectionId);
    } finally {
      await store.close();
    }
  });

  it('gives no place of its limit to a connection whose run holds a live lease', async () => {
    const store = await memoryStore();
    try {
      // The run in progress started earlier (its next run sorts first) and renewed its lease 30 s before the tick:
      // live now, run out before the minute ends.
      const running = await tenant(store, ['reapit'], new Date(T0.getTime() - 120_000));
      const waiting = await tenant(store, ['loop'], new Date(T0.getTime() - 60_000));
      await store.acquireLease({
        tenantId: running.tenantId,
        connectionId: running.connectionIds[0] ?? '',
        owner: 'other-host:4242:w1',
        ttlMs: 60_000,
        now: new Date(T0.getTime() - 30_000),
      });
      const due = await selectDue(store, { now: T0, limit: 1 });
      expect(due.ok && due.value.map((d) => d.connectionId)).toEqual(waiting.connectionIds);
    } finally {
      await store.close();
    }
  });

  it("follows each tenant's interval as stored: a changed interval applies without a redeploy", async () => {
    const store = await memoryStore();
    // The cron fires at the start of each minute; the runs end a few seconds into it.
    const minute = Math.ceil(Date.now() / 60_000) * 60_000 + 60_000;
    let now = new Date(minute + 5_000);
    const runner = { clock: () => now };
    const hourly = await createSyncHarness('reapit', { store, simulator: { contacts: 5 }, runner });
    const everyMinute = await createSyncHarness('reapit', { store, simulator: { contacts: 5 }, runner });
    try {
      await store.setTenantInterval({ tenantId: hourly.tenantId, syncIntervalSeconds: 3_600 });
      await store.setTenantInterval({ tenantId: everyMinute.tenantId, syncIntervalSeconds: 60 });
      for (const h of [hourly, everyMinute]) expect((await h.run()).ok).toBe(true);
      const selectedAtTick = async (minutes: number) =>
        (await tick(store, new Date(minute + minutes * 60_000 + 500))).sent.map((e) => e.data.connectionId);

      expect(await selectedAtTick(0)).toEqual([]);
      expect(await selectedAtTick(1)).toEqual([everyMinute.connectionId]);
      expect((await selectedAtTick(60)).sort()).toEqual(
        [hourly.connectionId, everyMinute.connectionId].sort(),
      );

      // The operator moves the hourly tenant to one connection override of 2 minutes: the next run uses it.
      await store.setConnectionInterval({
        tenantId: hourly.tenantId,
        connectionId: hourly.connectionId,
        syncIntervalSeconds: 120,
      });
      now = new Date(minute + 60 * 60_000 + 5_000);
      expect((await hourly.run()).ok).toBe(true);
      expect(await selectedAtTick(61)).not.toContain(hourly.connectionId);
      expect(await selectedAtTick(62)).toContain(hourly.connectionId);
    } finally {
      await hourly.close();
      await everyMinute.close();
      await store.close();
    }
  });
});
