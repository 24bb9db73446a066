import { isDeepStrictEqual } from 'node:util';
import { type Actor, createActor, fromPromise } from 'xstate';
import { connectionMachine } from '../../src/machines/connectionMachine.ts';
import { parsePersistedConnection, toPersisted } from '../../src/machines/persistence.ts';
import type { AuditPhaseOutput, PhaseActorId } from '../../src/machines/phases.ts';
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
  private readonly machine = gatedMachine(this.gate);
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

  /** The fakes return exactly the arranged output, so the committed cursors must be exactly the audit's. */
  async assertInvariants({ after, step }: { after: ObservedConnection; step: ModelStep }): Promise<void> {
    if (step.kind !== 'phase' || step.actorId !== 'auditPhase' || !step.outcome.ok) return;
    const audited = step.outcome.output as AuditPhaseOutput;
    if (
      !isDeepStrictEqual(after.context.cursor, audited.cursor) ||
      after.context.localCursor !== audited.localCursor
    ) {
      throw new Error('the cursors must become exactly what the audit committed');
    }
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
