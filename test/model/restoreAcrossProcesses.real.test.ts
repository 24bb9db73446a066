import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type RunnerDeps, runConnection } from '../../src/runner/connectionRunner.ts';
import { useSharedStore } from '../support/sharedStore.ts';
import { newCrashLog, RealDriver } from './realDriver.ts';
import { pathInputs } from './realPath.ts';
import { auditedCycles, modelSpec, openWorld, sidesDisagree, type World } from './realSystem.ts';

/**
 * The persisted snapshot across process boundaries, on the real system (PGlite, the Reapit simulator over
 * HTTP, the real runner and phase actors):
 * - a crash between push and audit, and one after the audit committed but before the machine heard, re-run
 *   without a second CRM write or a second audit entry, and the cursor moves once;
 * - a cycle run one phase per process (each run a fresh runner, limiter and provider, as Inngest steps on
 *   different workers) restores every mid-cycle snapshot and ends where one process would;
 * - a stored snapshot that cannot be restored (newer version, older shape, partial) stops the run with a typed
 *   `snapshot` error: nothing fetched, cursor and snapshot untouched. (An older version's is restarted:
 *   restartUnrestorable.real.test.ts.)
 */

const sharedStore = useSharedStore();

const refOf = (world: World) => ({ tenantId: world.tenantId, connectionId: world.connectionId });

async function committedCursors(world: World) {
  const row = await world.store.getConnection(refOf(world));
  if (!row.ok) throw new Error(row.error.message);
  return { cursor: row.value.cursor, localCursor: row.value.localCursor };
}

describe('a crash between push and audit (real system)', () => {
  it.each([
    ['pushing', 'after every write of the push was acknowledged and recorded'],
    ['auditing', 'after the audit transaction committed, before the machine took its result'],
  ] as const)('in %s, %s, re-runs without a second write or audit', async (phase, _when) => {
    const driver = new RealDriver(sharedStore(), Date.now(), newCrashLog(), pathInputs());
    try {
      await driver.start();
      await driver.runTo(phase, 'crash-cycle');
      const before = await committedCursors(driver.world);
      // The dying process runs the phase to its end (every write acknowledged, or the audit committed)
      // and dies before the transition is persisted: the restored machine is still in `phase`.
      await driver.crash({ kind: 'crash', label: 'CRASH', state: phase, point: 'inFlight' });
      expect((await driver.observe()).value).toBe(phase);
      const statsAtCrash = await driver.world.sim.control.stats();
      const afterCrash = await committedCursors(driver.world);
      // The dying push really wrote (the path's inputs plan a create and an update).
      if (phase === 'pushing') expect(statsAtCrash.writes).toBeGreaterThan(0);
      if (phase === 'pushing') expect(afterCrash).toEqual(before);
      else expect(afterCrash).not.toEqual(before);

      await driver.finish();
      const after = await driver.observe();
      expect(after.value).toBe('idle');
      const stats = await driver.world.sim.control.stats();
      expect({ writeCalls: stats.writeCalls, writes: stats.writes, creates: stats.creates }).toEqual({
        writeCalls: statsAtCrash.writeCalls,
        writes: statsAtCrash.writes,
        creates: statsAtCrash.creates,
      });
      const audits = await auditedCycles(driver.world);
      expect(audits.completed.filter((id) => id === 'crash-cycle')).toHaveLength(1);
      expect(await committedCursors(driver.world)).toEqual({
        cursor: after.context.cursor,
        localCursor: after.context.localCursor,
      });
      if (phase === 'auditing') expect(await committedCursors(driver.world)).toEqual(afterCrash);
      await driver.assertInvariants({ after });
      await driver.converge();
      expect(await sidesDisagree(driver.world)).toEqual([]);
    } finally {
      await driver.close();
    }
  });
});

/** A runner as a fresh process builds it: its own owner, limiters and cycle ids. */
function processDeps(world: World, name: string): RunnerDeps {
  return {
    store: world.store,
    clock: () => new Date(world.t0),
    owner: `${name}:${randomUUID()}`,
    newCycleId: () => `${name}-cycle`,
    limiters: new Map(),
    providerOptions: () => ({ spec: modelSpec }),
  };
}

describe('the runner restores a persisted snapshot in a new process (real system)', () => {
  it('runs a cycle one phase per process, restoring each mid-cycle snapshot', async () => {
    const world = await openWorld(sharedStore(), Date.now());
    const single = await openWorld(sharedStore(), world.t0);
    try {
      const states: string[] = [];
      for (let n = 0; n < 12; n++) {
        const run = await runConnection(processDeps(world, `p${n}`), refOf(world), 'phase');
        if (!run.ok) throw new Error(JSON.stringify(run.error));
        states.push(run.value.state);
        if (run.value.state === 'idle') break;
      }
      expect(states.at(-1)).toBe('idle');
      expect(states).toEqual(expect.arrayContaining(['reconciling', 'pushing', 'auditing']));
      const inOne = await runConnection(processDeps(single, 'solo'), refOf(single), 'cycle');
      if (!inOne.ok) throw new Error(JSON.stringify(inOne.error));

      const audits = await auditedCycles(world);
      expect(audits.completed).toEqual(['p0-cycle']);
      const cursors = await committedCursors(world);
      expect(cursors.cursor).not.toBeNull();
      expect(cursors).toEqual(await committedCursors(single));
      const loaded = await sharedStore().loadSnapshot(refOf(world));
      if (!loaded.ok || loaded.value === null) throw new Error('no snapshot');
      const context = (loaded.value.snapshot as { context: { cursor: unknown; localCursor: number } })
        .context;
      expect({ cursor: context.cursor, localCursor: context.localCursor }).toEqual(cursors);
      expect(await world.sim.control.stats()).toMatchObject({
        creates: (await single.sim.control.stats()).creates,
      });
    } finally {
      await world.sim.close();
      await single.sim.close();
    }
  });

  it('refuses a snapshot it cannot restore with a typed error, and touches nothing', async () => {
    const world = await openWorld(sharedStore(), Date.now());
    try {
      const first = await runConnection(processDeps(world, 'first'), refOf(world), 'cycle');
      if (!first.ok) throw new Error(JSON.stringify(first.error));
      expect(first.value.state).toBe('idle');
      const loaded = await sharedStore().loadSnapshot(refOf(world));
      if (!loaded.ok || loaded.value === null) throw new Error('no snapshot');
      const good = loaded.value.snapshot as { context: Record<string, unknown> } & Record<string, unknown>;
      const { errorReason: _e, lastAudit: _l, ...olderContext } = good.context;
      const { cursor: _c, ...cursorless } = good.context;
      const bad: Array<[string, string, unknown]> = [
        ['newer version', '2', good],
        ['unreadable version', 'v1', good],
        ['older shape', '1', { ...good, context: olderContext }],
        ['partial: no cursor', '1', { ...good, context: cursorless }],
        ['partial: no context', '1', { ...good, context: undefined }],
        ['not an object', '1', 'truncated'],
      ];
      const cursors = await committedCursors(world);
      for (const [name, machineVersion, snapshot] of bad) {
        const saved = await sharedStore().saveSnapshot({
          ...refOf(world),
          machineVersion,
          snapshot,
          stateValue: 'idle',
          now: new Date(world.t0),
        });
        if (!saved.ok) throw new Error(saved.error.message);
        const requests = (await world.sim.control.stats()).requests;
        const run = await runConnection(processDeps(world, 'next'), refOf(world), 'cycle');
        expect([name, run.ok ? run.value.state : run.error.kind]).toEqual([name, 'snapshot']);
        expect([name, (await world.sim.control.stats()).requests]).toEqual([name, requests]);
        expect(await committedCursors(world)).toEqual(cursors);
        const kept = await sharedStore().loadSnapshot(refOf(world));
        if (!kept.ok || kept.value === null) throw new Error('snapshot gone');
        expect([name, kept.value.machineVersion, kept.value.snapshot]).toEqual([
          name,
          machineVersion,
          JSON.parse(JSON.stringify(snapshot)),
        ]);
      }
      expect((await auditedCycles(world)).completed).toEqual(['first-cycle']);
    } finally {
      await world.sim.close();
    }
  });
});
