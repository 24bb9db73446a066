import { isDeepStrictEqual } from 'node:util';
import { type Actor, createActor, fromPromise } from 'xstate';
import type { ConnectionContext, Cycle } from '../../src/machines/connectionContext.ts';
import { connectionMachine } from '../../src/machines/connectionMachine.ts';
import { parsePersistedConnection, toPersisted } from '../../src/machines/persistence.ts';
import type { AuditPhaseOutput, FetchPhaseOutput, PhaseActorId } from '../../src/machines/phases.ts';
import type { ActionStep, CrashStep, ModelDriver, ObservedConnection } from './driver.ts';
import { Gate } from './gate.ts';
import type { ModelPath, ModelStep, PhaseOutcome } from './paths.ts';

/**
 * `connectionMachine` with every phase actor replaced by `run`, which receives the arranged outcome.
 * The pure driver resolves or rejects with it; a real driver would set up its simulators and run the
 * real phase.
 */
export function gatedMachine(
  gate: Gate<PhaseOutcome>,
  run: (actorId: PhaseActorId, input: unknown, outcome: PhaseOutcome) => Promise<unknown> = settle,
) {
  const phase = <TOutput, TInput>(actorId: PhaseActorId) =>
    fromPromise<TOutput, TInput>(
      async ({ input }) => (await run(actorId, input, await gate.next(actorId))) as TOutput,
    );
  return connectionMachine.provide({
    actors: {
      fetchPhase: phase('fetchPhase'),
      reconcilePhase: phase('reconcilePhase'),
      pushPhase: phase('pushPhase'),
      auditPhase: phase('auditPhase'),
    },
  });
}

async function settle(_actorId: PhaseActorId, _input: unknown, outcome: PhaseOutcome): Promise<unknown> {
  if (outcome.ok) return outcome.output;
  throw outcome.failure;
}

type ConnectionActor = Actor<ReturnType<typeof gatedMachine>>;

/**
 * Runs paths against the machine alone: fake phase actors, a JSON string as the store. Each transition
 * is persisted as the composition root will do it (subscribe + getPersistedSnapshot).
 */
export class PureDriver implements ModelDriver {
  private readonly gate = new Gate<PhaseOutcome>();
  /** The input each phase actor last ran with, to check it against the context it was built from. */
  private readonly inputs = new Map<PhaseActorId, unknown>();
  private readonly machine = gatedMachine(this.gate, (actorId, input, outcome) => {
    this.inputs.set(actorId, input);
    return settle(actorId, input, outcome);
  });
  private actor: ConnectionActor | null = null;
  private stored = '';

  async start(path: ModelPath): Promise<void> {
    this.run(createActor(this.machine, { input: path.input }));
  }

  async apply(step: ActionStep): Promise<void> {
    const actor = this.live();
    if (step.kind === 'command') {
      actor.send(step.event);
      return;
    }
    if (!(step.actorId in actor.getSnapshot().children)) {
      throw new Error(`${step.actorId} is not running in ${String(actor.getSnapshot().value)}`);
    }
    const transitioned = new Promise<void>((resolve) => {
      const subscription = actor.subscribe(() => {
        subscription.unsubscribe();
        resolve();
      });
    });
    this.gate.arrange(step.actorId, step.outcome);
    await transitioned;
  }

  async crash(_step: CrashStep): Promise<void> {
    // Detach first, so stopping cannot overwrite the stored snapshot (a crash persists nothing more).
    const dying = this.live();
    this.actor = null;
    dying.stop();
    this.gate.clear();
    const restored = parsePersistedConnection(JSON.parse(this.stored));
    if (!restored.ok) throw new Error(`cannot restore: ${JSON.stringify(restored.error)}`);
    this.run(createActor(this.machine, restored.value.actorOptions));
  }

  async observe(): Promise<ObservedConnection> {
    const restored = parsePersistedConnection(JSON.parse(this.stored));
    if (!restored.ok) throw new Error(`persisted snapshot unreadable: ${JSON.stringify(restored.error)}`);
    const { state, context } = restored.value;
    const live = this.live().getSnapshot();
    if (state !== live.value || !isDeepStrictEqual(context, live.context)) {
      throw new Error('the persisted snapshot lags behind the live actor');
    }
    return { value: state, context };
  }

  /**
   * The fakes return exactly the arranged output, so what the machine folds into its context is known: the
   * committed cursors become exactly the audit's, each phase's report is kept, and the phase ran with the
   * input its context implies (page checkpoint, window, committed cursors, the cycle's totals).
   */
  async assertInvariants({
    before,
    after,
    step,
  }: {
    before: ObservedConnection;
    after: ObservedConnection;
    step: ModelStep;
  }): Promise<void> {
    if (step.kind !== 'phase') return;
    const problems: string[] = [];
    const input = this.inputs.get(step.actorId);
    const expectedInput = phaseInputFor(step.actorId, before.context);
    if (!isDeepStrictEqual(input, expectedInput))
      problems.push(
        `${step.actorId} ran with ${JSON.stringify(input)}, expected ${JSON.stringify(expectedInput)}`,
      );
    if (step.outcome.ok) problems.push(...foldViolations(step.actorId, step.outcome.output, before, after));
    if (problems.length > 0) throw new Error(problems.join('; '));
  }

  async stop(): Promise<void> {
    const actor = this.actor;
    this.actor = null;
    actor?.stop();
    this.gate.clear();
  }

  private run(actor: ConnectionActor): void {
    this.actor = actor;
    actor.subscribe(() => {
      if (this.actor === actor) this.stored = JSON.stringify(toPersisted(actor));
    });
    actor.start();
    this.stored = JSON.stringify(toPersisted(actor));
  }

  private live(): ConnectionActor {
    if (this.actor === null) throw new Error('driver not started');
    return this.actor;
  }
}

/** The totals of a cycle, written out here independently of `cycleCounts`. */
function totalsOf(cycle: Cycle) {
  return {
    pages: cycle.fetch.pages,
    fetched: cycle.fetch.records,
    quarantined: cycle.fetch.quarantined,
    upserts: cycle.reconcile?.upserts ?? 0,
    plannedWrites: cycle.reconcile?.plannedWrites ?? 0,
    conflicts: cycle.reconcile?.conflicts ?? 0,
    sent: cycle.push?.sent ?? 0,
    deferred: cycle.push?.deferred ?? 0,
  };
}

/** What each phase must be given, from the context its state was entered with (see phases.ts). */
function phaseInputFor(actorId: PhaseActorId, context: ConnectionContext): unknown {
  const cycle = context.cycle;
  if (cycle === null) return 'no cycle';
  const connection = {
    connectionId: context.connectionId,
    tenantId: context.tenantId,
    provider: context.provider,
  };
  const { cycleId, window } = cycle;
  switch (actorId) {
    case 'fetchPhase':
      return {
        connection,
        cycleId,
        window,
        pageToken: cycle.fetch.pageToken,
        page: cycle.fetch.pages,
        localCursor: context.localCursor,
      };
    case 'reconcilePhase':
      return { connection, cycleId, window, localCursor: context.localCursor };
    case 'pushPhase':
      return { connection, cycleId };
    case 'auditPhase':
      return {
        connection,
        cycleId,
        startedAt: cycle.startedAt,
        window,
        cursor: context.cursor,
        localCursor: context.localCursor,
        counts: totalsOf(cycle),
      };
  }
}

/** A phase's output must land in the context exactly (the fakes return what the step arranged). */
function foldViolations(
  actorId: PhaseActorId,
  output: unknown,
  before: ObservedConnection,
  after: ObservedConnection,
): string[] {
  const was = before.context.cycle;
  if (was === null) return [`${actorId} ran without a cycle`];
  const now = after.context.cycle;
  const problems: string[] = [];
  const expect = (holds: boolean, problem: string) => {
    if (!holds) problems.push(problem);
  };
  switch (actorId) {
    case 'fetchPhase': {
      const page = output as FetchPhaseOutput;
      expect(
        isDeepStrictEqual(now?.fetch, {
          pageToken: page.nextPageToken,
          pages: was.fetch.pages + 1,
          records: was.fetch.records + page.records,
          quarantined: was.fetch.quarantined + page.quarantined,
        }),
        `the page checkpoint must record the page: ${JSON.stringify(now?.fetch)}`,
      );
      break;
    }
    case 'reconcilePhase':
      expect(isDeepStrictEqual(now?.reconcile, output), 'the reconcile report must be kept');
      break;
    case 'pushPhase':
      expect(isDeepStrictEqual(now?.push, output), 'the push report must be kept');
      break;
    case 'auditPhase': {
      const audited = output as AuditPhaseOutput;
      expect(
        isDeepStrictEqual(after.context.cursor, audited.cursor) &&
          after.context.localCursor === audited.localCursor,
        'the cursors must become exactly what the audit committed',
      );
      expect(
        isDeepStrictEqual(after.context.lastAudit, {
          cycleId: was.cycleId,
          startedAt: was.startedAt,
          finishedAt: audited.finishedAt,
          counts: totalsOf(was),
        }),
        `lastAudit must summarise the cycle: ${JSON.stringify(after.context.lastAudit)}`,
      );
      break;
    }
  }
  return problems;
}
