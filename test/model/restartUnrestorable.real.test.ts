import { describe, expect, it } from 'vitest';
import { CONNECTION_MACHINE_VERSION } from '../../src/machines/connectionMachine.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { resetConnection } from '../../src/runner/resetConnection.ts';
import { useSharedStore } from '../support/sharedStore.ts';
import { newCrashLog, RealDriver } from './realDriver.ts';
import { distinctEvents, pathInputs } from './realPath.ts';
import { openWorld, sidesDisagree, type World, worldViolations } from './realSystem.ts';
import { auditEntries, processDeps, refOf, restamp, storedMachine } from './storedWorld.ts';

/**
 * A stored snapshot this crm-sync cannot restore, on the real system (PGlite, the Reapit simulator over HTTP, the
 * real runner): an older machine version's (left by the crm-sync an upgrade replaced) is restarted by the next run
 * at the committed cursor, its cycle audited as abandoned; a newer version's (a rollback) is refused, naming the
 * reset, until `resetConnection` restarts it the same way. Either way nothing is lost or written twice.
 */

const sharedStore = useSharedStore();

async function committedCursors(world: World) {
  const row = await world.store.getConnection(refOf(world));
  if (!row.ok) throw new Error(row.error.message);
  return { cursor: row.value.cursor, localCursor: row.value.localCursor };
}

describe('a stored machine this crm-sync cannot restore (real system)', () => {
  it('an older version mid-push is restarted at the committed cursor: its cycle audited as abandoned, no write twice', async () => {
    const driver = new RealDriver(sharedStore(), Date.now(), newCrashLog(), pathInputs());
    try {
      await driver.start();
      await driver.runTo('pushing', 'old-cycle');
      const before = await committedCursors(driver.world);
      // Every write of the push acknowledged, the machine still in pushing: then the crm-sync is upgraded.
      await driver.crash({ kind: 'crash', label: 'CRASH', state: 'pushing', point: 'inFlight' });
      await driver.stop();
      const world = driver.world;
      const atCrash = await world.sim.control.stats();
      expect(atCrash.writes).toBeGreaterThan(0);
      const staged = await world.store.listStaged({
        ...refOf(world),
        cycleId: 'old-cycle',
        afterExternalId: null,
        limit: 10,
      });
      expect(staged.ok && staged.value.length).toBeGreaterThan(0);
      // What the cycle fetched and the CRM acknowledged before the upgrade: in no other entry once it is abandoned.
      const noted = await world.store.cycleNoteTotals({ ...refOf(world), cycleId: 'old-cycle' });
      if (!noted.ok) throw new Error(noted.error.message);
      const { created, updated, unchanged } = noted.value;
      expect(created + updated).toBeGreaterThan(0);
      const { cycle } = (
        (await storedMachine(world)).snapshot as {
          context: { cycle: { fetch: { records: number }; startedAt: string; window: { to: string } } };
        }
      ).context;
      const fetched = cycle.fetch.records;
      expect(fetched).toBeGreaterThan(0);
      await restamp(world, String(CONNECTION_MACHINE_VERSION - 1));

      const run = await runConnection(processDeps(world, 'upgraded'), refOf(world), 'cycle');
      if (!run.ok) throw new Error(JSON.stringify(run.error));
      expect(run.value.state).toBe('idle');

      const stats = await world.sim.control.stats();
      expect({ writes: stats.writes, creates: stats.creates }).toEqual({
        writes: atCrash.writes,
        creates: atCrash.creates,
      });
      const entries = await auditEntries(world);
      const abandoned = entries.filter((e) => e.cycleId.startsWith('old-cycle/restarted@'));
      expect(abandoned).toHaveLength(1);
      // The abandoned cycle's own start and window, not the restart's instant.
      expect(abandoned[0]).toMatchObject({
        outcome: 'failed',
        startedAt: cycle.startedAt,
        window: { from: before.cursor, to: cycle.window.to },
        fetched,
        written: { created, updated, unchanged },
      });
      expect(abandoned[0]?.errors.at(-1)?.message).toMatch(
        /^cycle old-cycle abandoned while pushing, restarted at the committed cursor: .*written by machine version 0 and this crm-sync runs version 1/,
      );
      expect(entries.filter((e) => e.outcome === 'completed').map((e) => e.cycleId)).toEqual([
        'upgraded-cycle',
        'history',
      ]);
      const stored = await storedMachine(world);
      expect([stored.machineVersion, stored.stateValue]).toEqual([
        String(CONNECTION_MACHINE_VERSION),
        'idle',
      ]);
      const context = (stored.snapshot as { context: { cursor: unknown; localCursor: number } }).context;
      expect({ cursor: context.cursor, localCursor: context.localCursor }).toEqual(
        await committedCursors(world),
      );
      const gone = await world.store.listStaged({
        ...refOf(world),
        cycleId: 'old-cycle',
        afterExternalId: null,
        limit: 10,
      });
      expect(gone.ok && gone.value).toEqual([]);

      expect(await worldViolations(world, { distinctEvents: distinctEvents(driver.applied) })).toEqual([]);
      expect(await sidesDisagree(world)).toEqual([]);
    } finally {
      await driver.close();
    }
  });

  it('an older version stopped in auditing after its entry committed is restarted with no abandonment entry', async () => {
    const driver = new RealDriver(sharedStore(), Date.now(), newCrashLog(), pathInputs());
    try {
      await driver.start();
      await driver.runTo('auditing', 'old-cycle');
      // The audit transaction commits, the process dies before the snapshot saying idle: then the upgrade.
      await driver.crash({ kind: 'crash', label: 'CRASH', state: 'auditing', point: 'inFlight' });
      await driver.stop();
      const world = driver.world;
      expect((await auditEntries(world)).map((e) => e.cycleId)).toEqual(['old-cycle', 'history']);
      expect((await storedMachine(world)).stateValue).toBe('auditing');
      await restamp(world, String(CONNECTION_MACHINE_VERSION - 1));
      // The first run after the upgrade fails at once, so what the restart left is what `status` shows.
      await world.sim.control.faults({ errorRate: 1 });

      const run = await runConnection(processDeps(world, 'upgraded'), refOf(world), 'cycle');
      if (!run.ok) throw new Error(JSON.stringify(run.error));
      expect(run.value.state).toBe('backoff');
      const entries = await auditEntries(world);
      // The cycle completed: one entry, and none saying it was abandoned and its window to be fetched again.
      expect(entries.map((e) => [e.cycleId, e.outcome])).toEqual([
        ['old-cycle', 'completed'],
        ['history', 'completed'],
      ]);
      // The last cycle is the one that completed, not the one before it.
      expect(run.value.context.lastAudit).toMatchObject({
        cycleId: 'old-cycle',
        finishedAt: entries[0]?.finishedAt,
        counts: { fetched: entries[0]?.fetched },
      });
    } finally {
      await driver.close();
    }
  });

  it('an older version restarted keeps its last completed cycle when the first run after it fails', async () => {
    const driver = new RealDriver(sharedStore(), Date.now(), newCrashLog(), pathInputs());
    try {
      await driver.start();
      await driver.stop();
      const world = driver.world;
      type Stored = { context: { lastAudit: { cycleId: string } | null } };
      const last = ((await storedMachine(world)).snapshot as Stored).context.lastAudit;
      expect(last).not.toBeNull();
      await restamp(world, String(CONNECTION_MACHINE_VERSION - 1));
      await world.sim.control.faults({ errorRate: 1 });

      const run = await runConnection(processDeps(world, 'upgraded'), refOf(world), 'cycle');
      if (!run.ok) throw new Error(JSON.stringify(run.error));
      expect(run.value.state).toBe('backoff');
      // What `status` and the admin page show as the last cycle, until the next one completes.
      expect(run.value.context.lastAudit).toEqual(last);
      expect(((await storedMachine(world)).snapshot as Stored).context.lastAudit).toEqual(last);
    } finally {
      await driver.close();
    }
  });

  it('a newer version is refused, naming the reset; the reset restarts it idle at the committed cursor', async () => {
    const world = await openWorld(sharedStore(), Date.now());
    try {
      const first = await runConnection(processDeps(world, 'first'), refOf(world), 'cycle');
      if (!first.ok) throw new Error(JSON.stringify(first.error));
      const nothing = await resetConnection(processDeps(world, 'early'), refOf(world));
      expect(nothing.ok ? nothing.value : nothing.error.kind).toBe('nothing_to_reset');

      await restamp(world, String(CONNECTION_MACHINE_VERSION + 1));
      const requests = (await world.sim.control.stats()).requests;
      const refused = await runConnection(processDeps(world, 'refused'), refOf(world), 'cycle');
      expect(refused.ok ? refused.value.state : refused.error).toEqual({
        kind: 'snapshot',
        unrestorable: { kind: 'newer_version', found: 2, expected: 1 },
        message: `stored machine snapshot cannot be restored: it was written by machine version 2 and this crm-sync runs version 1; crm-sync reset restarts it at its committed cursor (the window of a cycle it was in is fetched again)`,
      });
      expect((await world.sim.control.stats()).requests).toBe(requests);

      const cursors = await committedCursors(world);
      const reset = await resetConnection(processDeps(world, 'reset'), refOf(world));
      expect(reset.ok ? reset.value : reset.error).toEqual({
        fromState: 'idle',
        abandonedCycleId: null,
        auditCycleId: null,
      });
      const stored = await storedMachine(world);
      const context = (
        stored.snapshot as { context: { cursor: unknown; localCursor: number; lastAudit: unknown } }
      ).context;
      expect([stored.machineVersion, context.cursor, context.localCursor]).toEqual([
        String(CONNECTION_MACHINE_VERSION),
        cursors.cursor,
        cursors.localCursor,
      ]);
      // The replaced machine's last completed cycle is kept: status showed none until the next cycle completed.
      expect(context.lastAudit).toEqual(first.value.context.lastAudit);
      expect(first.value.context.lastAudit?.cycleId).toBe('first-cycle');
      // An idle machine abandons no cycle: no audit entry.
      expect((await auditEntries(world)).map((e) => e.cycleId)).toEqual(['first-cycle']);

      const next = await runConnection(processDeps(world, 'next'), refOf(world), 'cycle');
      if (!next.ok) throw new Error(JSON.stringify(next.error));
      expect(next.value.state).toBe('idle');
      expect((await auditEntries(world)).map((e) => e.cycleId)).toEqual(['next-cycle', 'first-cycle']);
    } finally {
      await world.sim.close();
    }
  });
});
