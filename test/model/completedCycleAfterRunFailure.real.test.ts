import { NonRetriableError } from 'inngest';
import { describe, expect, it } from 'vitest';
import { abandonConnectionRun, driveConnection } from '../../src/inngest/driveConnection.ts';
import { CONNECTION_MACHINE_VERSION } from '../../src/machines/connectionMachine.ts';
import { resetConnection } from '../../src/runner/resetConnection.ts';
import { useSharedStore } from '../support/sharedStore.ts';
import { newCrashLog, RealDriver } from './realDriver.ts';
import { pathInputs } from './realPath.ts';
import { auditEntries, processDeps, refOf, restamp, storedMachine } from './storedWorld.ts';

/**
 * A cycle whose audit transaction committed, its snapshot still saying `auditing` (the process died before the save
 * saying idle), then a failed run's entry (`run:<id>`, written by `abandonConnectionRun`) landing after the cycle's
 * completed entry. `completedEntry` looked at the connection's latest entry only, so a later reset or abandonment took
 * the completed cycle as unfinished: a second, failed entry for it (its fetch counted twice, its window said to be
 * fetched again), `status` showing the cycle before as the last, and after an abandonment the machine in `error`.
 */

const sharedStore = useSharedStore();
/** A driver whose cycle `done` committed its audit entry, the process dying before the snapshot saying idle. */
async function auditedButStillAuditing() {
  const driver = new RealDriver(sharedStore(), Date.now(), newCrashLog(), pathInputs());
  await driver.start();
  await driver.runTo('auditing', 'done');
  await driver.crash({ kind: 'crash', label: 'CRASH', state: 'auditing', point: 'inFlight' });
  await driver.stop();
  const world = driver.world;
  expect((await auditEntries(world)).map((e) => [e.cycleId, e.outcome])).toEqual([
    ['done', 'completed'],
    ['history', 'completed'],
  ]);
  expect((await storedMachine(world)).stateValue).toBe('auditing');
  return driver;
}

describe('a completed cycle still in auditing, a failed run entry after its own', () => {
  it('rollback: after runs failed on the newer snapshot (run: entries), the reset keeps the completed cycle as completed', async () => {
    const driver = await auditedButStillAuditing();
    try {
      const world = driver.world;
      // The crm-sync that wrote it was newer (rolled back): every scheduled run now fails on the snapshot.
      await restamp(world, String(CONNECTION_MACHINE_VERSION + 1));
      // As the embedded worker (or Inngest's onFailure) does with a run failing NonRetriable.
      const deps = processDeps(world, 'tick');
      const failed = await driveConnection(deps, refOf(world), {
        run: (_id, fn) => fn(),
        sleepUntil: async () => {},
        finalAttempt: true,
      }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(NonRetriableError);
      await abandonConnectionRun(deps, refOf(world), {
        runId: 'r1',
        message: (failed as Error).message,
        startedAt: new Date(world.t0),
      });
      expect((await auditEntries(world)).map((e) => e.cycleId)).toEqual(['run:r1', 'done', 'history']);

      // The operator resets, as the refusal says.
      const reset = await resetConnection(processDeps(world, 'reset'), refOf(world));
      if (!reset.ok) throw new Error(JSON.stringify(reset.error));
      const entries = await auditEntries(world);
      // The cycle completed: no second, failed entry saying it was abandoned and its window to be fetched again.
      expect(entries.filter((e) => e.cycleId.startsWith('done'))).toEqual([
        expect.objectContaining({ cycleId: 'done', outcome: 'completed' }),
      ]);
      expect(reset.value.auditCycleId).toBeNull();
      // And the fresh machine keeps it as the last completed cycle (what `status` shows).
      type Stored = { context: { lastAudit: { cycleId: string } | null } };
      expect(((await storedMachine(world)).snapshot as Stored).context.lastAudit?.cycleId).toBe('done');
    } finally {
      await driver.close();
    }
  });

  it('Inngest: a superseded onFailure writes run:R1 after the entry; the run that committed it, abandoned, ends idle', async () => {
    const driver = await auditedButStillAuditing();
    try {
      const world = driver.world;
      // R1 failed before cycle `done` began (startedAt = t0): its onFailure finds a newer run's cycle, leaves it,
      // and writes its own failure entry outside any cycle.
      const r1 = await abandonConnectionRun(processDeps(world, 'r1-onfailure'), refOf(world), {
        runId: 'R1',
        message: 'step failed',
        startedAt: new Date(world.t0 - 120_000),
        failedAt: new Date(world.t0 - 60_000),
      });
      expect(r1.state).toBe('auditing');
      expect((await auditEntries(world)).map((e) => e.cycleId)).toEqual(['run:R1', 'done', 'history']);

      // R2, the run whose audit committed, fails for good: its onFailure abandons the machine it left in auditing.
      const r2 = await abandonConnectionRun(
        processDeps(world, 'r2-onfailure', world.t0 + 60_000),
        refOf(world),
        {
          runId: 'R2',
          message: 'step failed',
          startedAt: new Date(world.t0),
          failedAt: new Date(world.t0 + 30_000),
        },
      );
      const entries = await auditEntries(world);
      // The cycle completed: it ends idle, with its one entry.
      expect({
        state: r2.state,
        done: entries.filter((e) => e.cycleId.startsWith('done')).map((e) => e.cycleId),
      }).toEqual({
        state: 'idle',
        done: ['done'],
      });
    } finally {
      await driver.close();
    }
  });
});
