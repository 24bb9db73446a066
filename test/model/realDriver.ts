import { isDeepStrictEqual } from 'node:util';
import { type Actor, createActor, fromPromise } from 'xstate';
import { createAuditPhase } from '../../src/actors/auditPhase.ts';
import { createFetchPhase } from '../../src/actors/fetchPhase.ts';
import { createPushPhase } from '../../src/actors/pushPhase.ts';
import { createReconcilePhase } from '../../src/actors/reconcilePhase.ts';
import type { ConnectionState } from '../../src/machines/connectionContext.ts';
import { connectionMachine } from '../../src/machines/connectionMachine.ts';
import { parsePersistedConnection, toPersisted } from '../../src/machines/persistence.ts';
import {
  type AuditPhaseInput,
  type AuditPhaseOutput,
  type FetchPhaseInput,
  type FetchPhaseOutput,
  type Phase,
  type PhaseFailureKind,
  type PushPhaseInput,
  type PushPhaseOutput,
  phaseActorIds,
  phaseFailureSchema,
  phaseSchema,
  type ReconcilePhaseInput,
  type ReconcilePhaseOutput,
} from '../../src/machines/phases.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { failedCycleAudit } from '../../src/runner/failedCycleAudit.ts';
import { PersistQueue } from '../../src/runner/persistQueue.ts';
import type { ActionStep, CrashStep, ModelDriver, ObservedConnection } from './driver.ts';
import { Gate } from './gate.ts';
import { type CrashPoint, crashPointIn, type ModelPath, type ModelStep } from './paths.ts';
import { distinctEvents, iso, longAfter, pathInputs, windowTo } from './realPath.ts';
import {
  applyInputs,
  armSimulator,
  auditedCycles,
  createDeath,
  type Fault,
  faultFor,
  MODEL_PAGE_SIZE,
  openWorld,
  type PhaseRunOptions,
  phaseDeps,
  simRecords,
  type World,
  type WorldInputs,
  worldViolations,
} from './realSystem.ts';

/**
 * What happens to the next phase run of a cycle: it fails with this kind (by a real fault; a kind the
 * phase cannot really produce runs it fault-free), the process crashes (`ackCrash`: in pushing, after the
 * CRM applied a write), or `null`: it runs fault-free.
 */
export type CycleFault = PhaseFailureKind | 'crash' | 'ackCrash' | null;

/** The faults of one cycle, by phase: each run of a phase takes the next of its own (none left: fault-free). */
export type PhaseFaults = Partial<Record<Phase, CycleFault[]>>;

/** `natural`: run the real phase, fault-free. `step`: make the real phase end as the model step says. */
type Arrangement =
  | { kind: 'natural' }
  | { kind: 'step'; step: Extract<ModelStep, { kind: 'phase' }> }
  | { kind: 'fault'; fault: Fault };

type ConnectionActor = Actor<typeof connectionMachine>;

/** What a driver saw of crashes and faults, for the suite's coverage checks. */
export interface CrashLog {
  /** Crashes in pushing where the CRM applied a write whose acknowledgement the ledger never recorded. */
  ackLost: number;
  /** Crashes in pushing with nothing to write (the crash point did not arise). */
  ackVacuous: number;
  /** Crashes in reconciling after its first batch committed, before the rest. */
  batchLost: number;
  /** Crashes in reconciling whose phase ended before a batch committed (the crash point did not arise). */
  batchVacuous: number;
  /** Phase × kind failures the real phase cannot produce, rejected without running it. */
  synthetic: Set<string>;
  /** Phase × kind → how the fault was injected. */
  injected: Map<string, Fault>;
  /**
   * Phase runs given a fault by `cycle`, by `<phase> <fault> → <what followed>`: the state the machine went to,
   * `crash`, or the next phase where the phase cannot fail that way (the audit makes no provider call).
   */
  cycleFaults: Map<string, number>;
}

export const newCrashLog = (): CrashLog => ({
  ackLost: 0,
  ackVacuous: 0,
  batchLost: 0,
  batchVacuous: 0,
  synthetic: new Set(),
  injected: new Map(),
  cycleFaults: new Map(),
});

/**
 * A `ModelDriver` over the real system: the connection machine with the real phase actors, snapshots
 * persisted to PGlite after every transition, the Reapit simulator over HTTP. Each model step's outcome is
 * produced by a real fault (see `faultFor`); a crash lets the phase finish its work in a dying process (in
 * pushing: until the CRM applied a write), drops the actor, provider and limiter, and restores from the store.
 */
export class RealDriver implements ModelDriver {
  world!: World;
  /** Inputs applied before the path's cycle, plus CRM edits made during it (for the fault-free replay). */
  readonly applied: WorldInputs[] = [];
  private readonly gate = new Gate<Arrangement>();
  private readonly persist = new PersistQueue();
  private readonly machine = connectionMachine.provide({
    actors: {
      fetchPhase: fromPromise<FetchPhaseOutput, FetchPhaseInput>(({ input, signal }) =>
        this.runPhase('fetching', input, signal),
      ),
      reconcilePhase: fromPromise<ReconcilePhaseOutput, ReconcilePhaseInput>(({ input, signal }) =>
        this.runPhase('reconciling', input, signal),
      ),
      pushPhase: fromPromise<PushPhaseOutput, PushPhaseInput>(({ input, signal }) =>
        this.runPhase('pushing', input, signal),
      ),
      auditPhase: fromPromise<AuditPhaseOutput, AuditPhaseInput>(({ input, signal }) =>
        this.runPhase('auditing', input, signal),
      ),
    },
  });
  private actor: ConnectionActor | null = null;
  private problems: string[] = [];
  /** Cycles the machine completed (left auditing for idle). */
  private readonly completed = new Set<string>();
  /** Failure audits the runner writes on entering error: `${cycleId}/error@${at}`. */
  private readonly errorsEntered = new Set<string>();

  constructor(
    private readonly store: StoreHandle,
    readonly t0: number,
    readonly log: CrashLog = newCrashLog(),
    private readonly inputs: WorldInputs = pathInputs(),
    /** Contacts seeded in the CRM before the first cycle. */
    private readonly seededContacts?: number,
  ) {}

  /** A fresh tenant and simulator, a fault-free first cycle (history), then the path's inputs. */
  async start(_path?: ModelPath): Promise<void> {
    this.world = await openWorld(this.store, this.t0, this.seededContacts);
    const { tenantId, connectionId } = this.world;
    this.run(
      createActor(this.machine, {
        input: { connectionId, tenantId, provider: 'reapit', cursor: null, localCursor: 0 },
      }),
    );
    await this.cycle('history');
    await this.addInputs(this.inputs);
  }

  async addInputs(inputs: WorldInputs): Promise<void> {
    await applyInputs(this.world, inputs);
    this.applied.push(inputs);
  }

  async apply(step: ActionStep): Promise<void> {
    const actor = this.live();
    if (step.kind === 'command') {
      actor.send(step.event);
      await this.persist.flush();
      return;
    }
    if (!(step.actorId in actor.getSnapshot().children))
      throw new Error(`${step.actorId} is not running in ${String(actor.getSnapshot().value)}`);
    await this.transition(() => this.gate.arrange(step.actorId, { kind: 'step', step }));
  }

  async crash(step: CrashStep): Promise<void> {
    const dying = this.live();
    // Detach first: nothing the dying actor does from here on is persisted.
    this.actor = null;
    await this.persist.flush();
    const phase = phaseSchema.safeParse(dying.getSnapshot().value);
    if (phase.success) await this.dyingRun(phase.data, step.point);
    dying.stop();
    this.gate.clear();
    await this.restore();
  }

  async observe(): Promise<ObservedConnection> {
    const { state, context } = await this.loadPersisted();
    const live = this.actor?.getSnapshot();
    if (live !== undefined && (state !== live.value || !isDeepStrictEqual(context, live.context)))
      throw new Error('the persisted snapshot lags behind the live actor');
    return { value: state, context };
  }

  async assertInvariants({ after }: { after: ObservedConnection }): Promise<void> {
    const problems = await worldViolations(this.world, { distinctEvents: distinctEvents(this.applied) });
    const audits = await auditedCycles(this.world);
    if (new Set(audits.completed).size !== audits.completed.length)
      problems.push(`a cycle was audited twice: ${audits.completed}`);
    const ctx = after.context;
    const auditPending =
      ctx.cycle !== null && (after.value === 'auditing' || ctx.resumePhase === 'auditing')
        ? ctx.cycle.cycleId
        : null;
    for (const id of this.completed)
      if (!audits.completed.includes(id)) problems.push(`completed cycle ${id} has no audit entry`);
    for (const id of audits.completed)
      if (!this.completed.has(id) && id !== auditPending)
        problems.push(`audit entry for cycle ${id}, which did not complete`);
    if (!isDeepStrictEqual(new Set(audits.failed), this.errorsEntered))
      problems.push(`failure audits ${audits.failed} ≠ errors entered ${[...this.errorsEntered]}`);
    // The committed cursors live in the connection row and move only in the audit transaction. Only while an
    // audit is pending (its commit may have landed before a crash) may the row be ahead of the snapshot.
    const row = await this.world.store.getConnection({
      tenantId: this.world.tenantId,
      connectionId: this.world.connectionId,
    });
    if (!row.ok) throw new Error(row.error.message);
    const rowCursors = { cursor: row.value.cursor, localCursor: row.value.localCursor };
    const snapshotCursors = { cursor: ctx.cursor, localCursor: ctx.localCursor };
    if (auditPending === null && !isDeepStrictEqual(rowCursors, snapshotCursors))
      problems.push(
        `the committed cursors ${JSON.stringify(rowCursors)} differ from the snapshot's ${JSON.stringify(snapshotCursors)} in ${after.value}`,
      );
    if (problems.length > 0) throw new Error(problems.join('; '));
  }

  async stop(): Promise<void> {
    const actor = this.actor;
    this.actor = null;
    await this.persist.flush();
    actor?.stop();
    this.gate.clear();
  }

  async close(): Promise<void> {
    await this.stop();
    await this.world.sim.close();
  }

  /**
   * As a new process would: restore from the store, finish what is in progress (resume a backoff, retry
   * an error), then run fault-free cycles until one changes nothing. Returns the cycles run.
   */
  async converge(maxCycles = 8): Promise<number> {
    if (this.actor === null) await this.restore();
    await this.settle();
    for (let n = 1; n <= maxCycles; n++) {
      await this.cycle(`settle-${n}`);
      const counts = this.live().getSnapshot().context.lastAudit?.counts;
      if (counts && counts.fetched + counts.plannedWrites + counts.upserts + counts.sent === 0) return n;
    }
    throw new Error(`no quiet cycle after ${maxCycles} fault-free cycles`);
  }

  /** One cycle from idle, with the given faults (each phase's consumed in order of its runs), to idle. */
  async cycle(cycleId: string, faults: PhaseFaults = {}): Promise<void> {
    const at = iso(this.t0);
    this.live().send({ type: 'sync.requested', now: at, cycleId, windowTo: windowTo(this.t0) });
    await this.persist.flush();
    await this.settle(faults);
  }

  /** Starts a cycle and runs its phases fault-free until the machine is in `phase` (persisted). */
  async runTo(phase: Phase, cycleId = 'cycle'): Promise<void> {
    if (this.live().getSnapshot().value === 'idle') {
      const at = iso(this.t0);
      this.live().send({ type: 'sync.requested', now: at, cycleId, windowTo: windowTo(this.t0) });
      await this.persist.flush();
    }
    for (let guard = 0; guard < 50; guard++) {
      const state = this.live().getSnapshot().value as ConnectionState;
      if (state === phase) return;
      if (!phaseSchema.safeParse(state).success) throw new Error(`runTo(${phase}) stopped in ${state}`);
      await this.transition(() => this.gate.arrange(phaseActorIds[state as Phase], { kind: 'natural' }));
    }
    throw new Error(`runTo(${phase}) did not get there`);
  }

  /** Runs the machine fault-free from where it is to idle (after a crash, the restored phase re-runs first). */
  async finish(): Promise<void> {
    await this.settle();
  }

  /** Drives the machine to idle: phases run (with the next scheduled fault), backoff resumes, error retries. */
  private async settle(faults: PhaseFaults = {}): Promise<void> {
    const queues = new Map(Object.entries(faults).map(([phase, queue]) => [phase, [...queue]]));
    const tally = (key: string) => this.log.cycleFaults.set(key, (this.log.cycleFaults.get(key) ?? 0) + 1);
    for (let guard = 0; guard < 200; guard++) {
      const state = this.live().getSnapshot().value as ConnectionState;
      if (state === 'idle') return;
      if (state === 'backoff') {
        this.live().send({ type: 'sync.resume', now: longAfter(this.t0) });
        await this.persist.flush();
      } else if (state === 'error') {
        this.live().send({ type: 'retry.requested' });
        await this.persist.flush();
      } else {
        const phase = state as Phase;
        const next = queues.get(phase)?.shift() ?? null;
        if (next === 'crash' || next === 'ackCrash') {
          const point = next === 'ackCrash' ? crashPointIn(phase) : 'inFlight';
          await this.crash({ kind: 'crash', label: 'CRASH', state, point });
          tally(`${phase} ${next} → crash`);
          continue;
        }
        const fault = next === null ? 'synthetic' : faultFor(phase, next);
        await this.transition(() =>
          this.gate.arrange(
            phaseActorIds[phase],
            fault === 'synthetic' ? { kind: 'natural' } : { kind: 'fault', fault },
          ),
        );
        if (next !== null) tally(`${phase} ${next} → ${String(this.live().getSnapshot().value)}`);
      }
    }
    throw new Error('the machine did not settle in idle');
  }

  /** Runs `arrange` and waits until the machine took the resulting transition and it is persisted. */
  private async transition(arrange: () => void): Promise<void> {
    const actor = this.live();
    const transitioned = new Promise<void>((resolve) => {
      const subscription = actor.subscribe(() => {
        subscription.unsubscribe();
        resolve();
      });
    });
    arrange();
    await transitioned;
    await this.persist.flush();
    const problems = this.problems;
    this.problems = [];
    if (problems.length > 0) throw new Error(problems.join('; '));
  }

  /** The body of every phase actor: wait for the arrangement, then run the real phase accordingly. */
  private async runPhase<T>(phase: Phase, input: unknown, signal: AbortSignal): Promise<T> {
    const arrangement = await this.gate.next(phaseActorIds[phase]);
    if (arrangement.kind === 'natural') return this.realRun<T>(phase, input, signal, {});
    if (arrangement.kind === 'fault') {
      const disarm = await armSimulator(this.world, arrangement.fault);
      try {
        return await this.realRun<T>(phase, input, signal, { fault: arrangement.fault });
      } finally {
        await disarm();
      }
    }
    const { step } = arrangement;
    if (step.outcome.ok) {
      const morePages = step.label.endsWith('more pages');
      if (phase === 'fetching' && morePages) await this.ensureMorePages(input as FetchPhaseInput);
      const output = await this.realRun<T>(phase, input, signal, {});
      if (phase === 'fetching' && ((output as FetchPhaseOutput).nextPageToken !== null) !== morePages) {
        const problem = `fetch returned ${morePages ? 'the last page' : 'more pages'} for "${step.label}"`;
        this.problems.push(problem);
        throw new Error(problem);
      }
      return output;
    }
    const expected = step.outcome.failure;
    const fault = faultFor(phase, expected.kind);
    this.log.injected.set(`${phase} ${expected.kind}`, fault);
    if (fault === 'synthetic') {
      this.log.synthetic.add(`${phase} ${expected.kind}`);
      throw expected;
    }
    const disarm = await armSimulator(this.world, fault);
    try {
      await this.realRun(phase, input, signal, { fault });
    } catch (error) {
      const failure = phaseFailureSchema.safeParse(error);
      if (failure.success && failure.data.kind === expected.kind && failure.data.at === expected.at)
        throw failure.data;
      const problem = `${phase} with ${fault} rejected with ${JSON.stringify(error)}, expected ${expected.kind} at ${expected.at}`;
      this.problems.push(problem);
      throw error;
    } finally {
      await disarm();
    }
    const problem = `${phase} succeeded although ${fault} was injected (expected ${expected.kind})`;
    this.problems.push(problem);
    throw new Error(problem);
  }

  private async realRun<T>(
    phase: Phase,
    input: unknown,
    signal: AbortSignal,
    options: PhaseRunOptions,
  ): Promise<T> {
    const deps = await phaseDeps(this.world, options);
    switch (phase) {
      case 'fetching':
        return (await createFetchPhase(deps)({ input: input as FetchPhaseInput, signal })) as T;
      case 'reconciling':
        return (await createReconcilePhase(deps)({ input: input as ReconcilePhaseInput, signal })) as T;
      case 'pushing':
        return (await createPushPhase(deps)({ input: input as PushPhaseInput, signal })) as T;
      case 'auditing':
        return (await createAuditPhase(deps)({ input: input as AuditPhaseInput, signal })) as T;
    }
  }

  /**
   * The process that crashes: it runs the phase from the persisted input (as the live actor would have)
   * and dies after it finished, or part-way: in pushing as soon as the CRM applied a write, before the ledger
   * heard; in reconciling once its first batch committed.
   */
  private async dyingRun(phase: Phase, point: CrashPoint): Promise<void> {
    const { children } = (await this.loadPersisted()).raw;
    const input = children[phaseActorIds[phase]]?.snapshot.input;
    const death = createDeath();
    const run = this.realRun(phase, input, new AbortController().signal, {
      death,
      killAfterWrite: point === 'afterProviderAck',
      killAfterCommit: point === 'afterBatchCommit',
    }).then(
      () => 'finished' as const,
      () => 'finished' as const,
    );
    const how = await Promise.race([run, death.died.then(() => 'died' as const)]);
    if (point === 'afterProviderAck') {
      if (how === 'died') this.log.ackLost += 1;
      else this.log.ackVacuous += 1;
    }
    if (point === 'afterBatchCommit') {
      if (how === 'died') this.log.batchLost += 1;
      else this.log.batchVacuous += 1;
    }
    death.kill();
  }

  /** Adds CRM edits (each its own millisecond) until the window holds more records than one page. */
  private async ensureMorePages(input: FetchPhaseInput): Promise<void> {
    if (input.pageToken !== null) throw new Error('"more pages" is only arranged for a first page');
    const from = input.window.from === null ? 0 : Date.parse(input.window.from.modified);
    const to = Date.parse(input.window.to);
    const edits: number[] = [];
    for (let seed = 900; seed < 920; seed++) {
      const inWindow = (await simRecords(this.world)).filter((r) => {
        const at = Date.parse(r.modified);
        return at >= from && at <= to;
      });
      if (inWindow.length > MODEL_PAGE_SIZE) break;
      await this.world.sim.control.edits({ count: 1, seed });
      edits.push(seed);
      await new Promise((r) => setTimeout(r, 2));
    }
    this.applied.push({ crmEdits: edits, localEdits: [], events: [], leads: [] });
  }

  private async loadPersisted() {
    const ref = { tenantId: this.world.tenantId, connectionId: this.world.connectionId };
    const loaded = await this.store.loadSnapshot(ref);
    if (!loaded.ok || loaded.value === null) throw new Error('no persisted snapshot');
    const envelope = { machineVersion: Number(loaded.value.machineVersion), snapshot: loaded.value.snapshot };
    const restored = parsePersistedConnection(envelope);
    if (!restored.ok) throw new Error(`persisted snapshot unreadable: ${JSON.stringify(restored.error)}`);
    const raw = loaded.value.snapshot as {
      children: Record<string, { snapshot: { input: unknown } } | undefined>;
    };
    return { ...restored.value, raw };
  }

  private async restore(): Promise<void> {
    const { actorOptions } = await this.loadPersisted();
    this.run(createActor(this.machine, actorOptions));
  }

  private run(actor: ConnectionActor): void {
    this.actor = actor;
    const ref = { tenantId: this.world.tenantId, connectionId: this.world.connectionId };
    const clock = () => new Date(this.t0);
    let previous = actor.getSnapshot().value as ConnectionState;
    const save = () => {
      const persisted = toPersisted(actor);
      const state = actor.getSnapshot().value as ConnectionState;
      this.persist.push(async () => {
        const saved = await this.store.saveSnapshot({
          ...ref,
          machineVersion: String(persisted.machineVersion),
          snapshot: persisted.snapshot,
          stateValue: state,
          now: clock(),
        });
        if (!saved.ok) throw new Error(`saving the snapshot failed: ${saved.error.message}`);
      });
    };
    actor.subscribe((snapshot) => {
      if (this.actor !== actor) return;
      save();
      const state = snapshot.value as ConnectionState;
      const { context } = snapshot;
      if (previous === 'auditing' && state === 'idle' && context.lastAudit !== null)
        this.completed.add(context.lastAudit.cycleId);
      if (state === 'error' && previous !== 'error' && context.cycle !== null && context.lastError !== null) {
        this.errorsEntered.add(`${context.cycle.cycleId}/error@${context.lastError.at}`);
        this.persist.push(async () => {
          const audited = await failedCycleAudit(this.store, context, clock());
          if (!audited.ok) throw new Error(`failure audit: ${audited.error.message}`);
        });
      }
      previous = state;
    });
    actor.start();
    save();
  }

  private live(): ConnectionActor {
    if (this.actor === null) throw new Error('driver not started');
    return this.actor;
  }
}
