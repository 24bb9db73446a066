import { expect, it } from 'vitest';
import { createAuditPhase } from '../../src/actors/auditPhase.ts';
import { readStatus } from '../../src/cli/connectionStatus.ts';
import { abandonConnectionRun } from '../../src/inngest/driveConnection.ts';
import { phaseInputs } from '../../src/machines/connectionMachine.ts';
import { abandonRun } from '../../src/runner/abandonRun.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { withStoreMethods } from '../support/storeOverrides.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

/**
 * A second cycle run phase by phase up to auditing, then its audit transaction committed alone: a step that failed
 * after the transaction, before the snapshot saying idle.
 */
async function stoppedAfterAuditCommitted(h: SyncHarness) {
  expect(must(await h.run()).state).toBe('idle');
  await h.sim.control.edits({ count: 3, seed: 2, apart: true });
  let stopped = must(await h.run('phase'));
  while (stopped.state !== 'auditing') stopped = must(await h.run('phase'));
  const audit = createAuditPhase({ store: h.store, clock: h.deps.clock });
  const signal = new AbortController().signal;
  const committed = await audit({ input: phaseInputs.auditing(stopped.context), signal });
  return { stopped, committed };
}

/**
 * The scheduler gives up on a run mid-cycle (Inngest's retries of a step spent): the machine stops in `error` and
 * its failed entry says why. Retried and completed, the cycle's entry lists every error since it began, but listed
 * none: a phase's failure leaves a note of its own, an abandonment did not.
 */
it('lists the abandonment among the errors of the cycle completed on retry, once', async () => {
  const h = await createSyncHarness('loop', { simulator: { contacts: 8, seed: 6 } });
  try {
    const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
    expect(must(await h.run()).state).toBe('idle');
    await h.sim.control.edits({ count: 3, seed: 2, apart: true });
    expect(must(await h.run('phase')).state).not.toBe('idle');
    const abandoned = must(await abandonRun(h.deps, ref, 'retries of the step spent: store unreachable'));
    expect(abandoned.state).toBe('error');
    expect(must(await h.run('retry')).state).toBe('idle');

    const [completed, failed] = must(await h.store.listAudit({ ...ref, limit: 2 })).entries.map(
      (e) => e.body,
    );
    const stopped = expect.objectContaining({
      message: expect.stringMatching(/^stopped in error \(fatal\) during \w+: .*retries of the step spent/),
    });
    expect(failed).toMatchObject({ outcome: 'failed', errors: [stopped] });
    expect(completed).toMatchObject({ outcome: 'completed', errors: [stopped] });
  } finally {
    await h.close();
  }
});

/**
 * A step fails for good after the audit transaction committed, before the snapshot saying idle was saved: the cycle
 * completed. Abandoned, it stopped in error under a second, failed entry, its window to be fetched again.
 */
it('ends a cycle whose audit entry committed as completed, with no failed entry, when its run is abandoned', async () => {
  const h = await createSyncHarness('loop', { simulator: { contacts: 8, seed: 6 } });
  try {
    const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
    const { stopped, committed } = await stoppedAfterAuditCommitted(h);

    // As Inngest's onFailure and the worker abandon it: no `run:` entry either, for a run that failed outside a cycle.
    const abandoned = await abandonConnectionRun(h.deps, ref, {
      runId: '01JFAILEDRUN',
      message: 'retries of the step spent: store unreachable',
      startedAt: new Date(),
    });
    expect(abandoned).toEqual({ state: 'idle' });
    const cycleId = stopped.context.cycle?.cycleId;
    expect(must(await h.store.getConnection(ref)).cursor).toEqual(committed.cursor);
    const entries = must(await h.store.listAudit({ ...ref, limit: 5 })).entries.map((e) => e.body);
    expect(entries.filter((e) => e.outcome === 'failed')).toEqual([]);
    expect(entries[0]).toMatchObject({ cycleId, outcome: 'completed' });
    const next = must(await h.run());
    expect(next).toMatchObject({ state: 'idle', context: { cursor: committed.cursor } });
  } finally {
    await h.close();
  }
});

/**
 * As above, but the audit phase run again first (to end the cycle) failed on a store blip: the machine waits in
 * backoff to audit. Abandoned then, it stopped in error under a failed entry, though the cycle had completed.
 */
it('ends a completed cycle waiting in backoff to audit again, with no failed entry, when its run is abandoned', async () => {
  const h = await createSyncHarness('loop', { simulator: { contacts: 8, seed: 6 } });
  try {
    const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
    const { stopped, committed } = await stoppedAfterAuditCommitted(h);
    // The audit phase's first read fails.
    const blip = { ok: false as const, error: { kind: 'unavailable' as const, message: 'database blip' } };
    const store = withStoreMethods(h.store, { cycleNoteTotals: async () => blip });
    const backoff = must(await runConnection({ ...h.deps, store }, ref, 'phase'));
    expect(backoff).toMatchObject({ state: 'backoff', context: { resumePhase: 'auditing' } });

    const abandoned = await abandonConnectionRun(h.deps, ref, {
      runId: '01JFAILEDRUN',
      message: 'retries of the step spent: store unreachable',
      startedAt: new Date(),
    });
    expect(abandoned).toEqual({ state: 'idle' });
    const entries = must(await h.store.listAudit({ ...ref, limit: 5 })).entries.map((e) => e.body);
    expect(entries.filter((e) => e.outcome === 'failed')).toEqual([]);
    expect(entries[0]).toMatchObject({ cycleId: stopped.context.cycle?.cycleId, outcome: 'completed' });
    expect(must(await h.store.getConnection(ref)).cursor).toEqual(committed.cursor);
  } finally {
    await h.close();
  }
});

/**
 * The abandoning run's lease runs out while it reads the machine (a pause of its process) and another worker takes
 * the connection over. Saved anyway, the abandonment stopped the taker's cycle in error behind its back.
 */
it('saves no abandonment over a machine whose lease another worker took meanwhile', async () => {
  const h = await createSyncHarness('loop', { simulator: { contacts: 8, seed: 6 } });
  try {
    const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
    expect(must(await h.run()).state).toBe('idle');
    await h.sim.control.edits({ count: 3, seed: 2, apart: true });
    const midCycle = must(await h.run('phase')).state;
    expect(midCycle).not.toBe('idle');

    let takenOver = false;
    const store = new Proxy(h.store, {
      get(target, key) {
        if (key === 'loadSnapshot' && !takenOver)
          return (async (request: Parameters<typeof target.loadSnapshot>[0]) => {
            takenOver = true;
            const later = new Date(Date.now() + 120_000);
            must(await target.acquireLease({ ...ref, owner: 'other-worker', ttlMs: 60_000, now: later }));
            return target.loadSnapshot(request);
          }) as typeof target.loadSnapshot;
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const abandoned = await abandonRun({ ...h.deps, store }, ref, 'retries of the step spent');
    expect(takenOver).toBe(true);
    expect(abandoned).toMatchObject({ ok: false, error: { kind: 'store' } });
    expect(must(await h.store.loadSnapshot(ref))?.stateValue).toBe(midCycle);
    const entries = must(await h.store.listAudit({ ...ref, limit: 5 })).entries.map((e) => e.body);
    expect(entries.filter((e) => e.outcome === 'failed')).toEqual([]);
  } finally {
    await h.close();
  }
});

/**
 * The failed run's onFailure comes while a newer run (the next tick's) holds the connection's lease, in a step of up
 * to ten minutes. The abandonment was retried until the lease was free, onFailure's one retry ran out, and the
 * failed run had no audit entry.
 */
it('audits a failed run whose connection a newer run holds, and leaves that run its machine', async () => {
  const h = await createSyncHarness('loop', { simulator: { contacts: 8, seed: 6 } });
  try {
    const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
    expect(must(await h.run()).state).toBe('idle');
    await h.sim.control.edits({ count: 3, seed: 2, apart: true });
    const midCycle = must(await h.run('phase'));
    expect(midCycle.state).not.toBe('idle');
    must(await h.store.acquireLease({ ...ref, owner: 'newer-run', ttlMs: 60_000, now: new Date() }));

    const abandoned = await abandonConnectionRun(h.deps, ref, {
      runId: '01JFAILEDRUN',
      message: 'retries of the step spent',
      startedAt: new Date(),
    });
    expect(abandoned).toEqual({ state: 'leased' });
    const stored = must(await h.store.loadSnapshot(ref));
    expect(stored?.stateValue).toBe(midCycle.state);
    const entries = must(await h.store.listAudit({ ...ref, limit: 5 })).entries.map((e) => e.body);
    expect(entries.filter((e) => e.outcome === 'failed')).toEqual([
      expect.objectContaining({ cycleId: 'run:01JFAILEDRUN' }),
    ]);
  } finally {
    await h.close();
  }
});

/** `crm-sync status` shows the committed cursors, as the API does, of a machine stopped after its audit committed. */
it('shows the committed cursor of a machine stopped in auditing after its audit transaction', async () => {
  const h = await createSyncHarness('loop', { simulator: { contacts: 8, seed: 6 } });
  try {
    const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
    const { stopped, committed } = await stoppedAfterAuditCommitted(h);
    expect(committed.cursor).not.toEqual(stopped.context.cursor);

    const tenant = must(await h.store.getTenant({ tenantId: h.tenantId }));
    const connection = must(await h.store.getConnection(ref));
    const status = await readStatus(h.store, tenant, connection, new Date());
    expect(status).toMatchObject({ state: 'auditing', cursor: committed.cursor });
  } finally {
    await h.close();
  }
});
