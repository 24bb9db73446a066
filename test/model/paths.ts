import type { AnyEventObject, SnapshotFrom } from 'xstate';
import type { DirectedGraphNode } from 'xstate/graph';
import { getAdjacencyMap, getShortestPaths, toDirectedGraph } from 'xstate/graph';
import { DEFAULT_BACKOFF } from '../../src/core/backoff.ts';
import type {
  ConnectionCommand,
  ConnectionInput,
  ConnectionState,
} from '../../src/machines/connectionContext.ts';
import { connectionMachine } from '../../src/machines/connectionMachine.ts';
import type { PhaseActorId, PhaseFailure } from '../../src/machines/phases.ts';

/**
 * Test paths generated from the REAL connection machine with `xstate/graph`, plus the transition
 * coverage they reach. Nothing here executes a path; see `runPath` in driver.ts.
 */

export type ConnectionSnapshot = SnapshotFrom<typeof connectionMachine>;

/** Fixed instants the model's events carry. */
export const MODEL_TIMES = {
  start: '2025-01-06T09:00:00.000Z',
  /** A cycle's upper bound: a minute before it starts. */
  windowTo: '2025-01-06T08:59:00.000Z',
  failedAt: '2025-01-06T09:01:00.000Z',
  quotaResetAt: '2025-01-06T15:00:00.000Z',
  /** Later than any backoff the model can schedule (cap 15 min, quota reset above). */
  longAfter: '2025-01-13T09:00:00.000Z',
} as const;

/** A connection with history, so every cycle's window starts at a real cursor. */
export const MODEL_INPUT: ConnectionInput = {
  connectionId: 'model-connection',
  tenantId: 'model-tenant',
  provider: 'reapit',
  cursor: { modified: '2025-01-05T12:00:00.1234567Z', externalId: 'C100' },
  localCursor: 10,
};

/** Where a crash strikes: while a phase is in flight, or part-way through one: (pushing) after the provider
 * acknowledged writes and before the ledger recorded them; (reconciling) after its first batch committed. */
export type CrashPoint = 'inFlight' | 'afterProviderAck' | 'afterBatchCommit';

/** The crash point a path takes in `state`: part-way through the phase where it commits or writes in parts. */
export const crashPointIn = (state: ConnectionState): CrashPoint =>
  state === 'pushing' ? 'afterProviderAck' : state === 'reconciling' ? 'afterBatchCommit' : 'inFlight';

/** What the next run of a phase actor should do. */
export type PhaseOutcome = { ok: true; output: unknown } | { ok: false; failure: PhaseFailure };

/** The abstract state a step must reach: what the machine's guards depend on, nothing volatile. */
export type AbstractState = string;

export type ModelStep =
  | { kind: 'command'; label: string; event: ConnectionCommand; expected: AbstractState }
  | { kind: 'phase'; label: string; actorId: PhaseActorId; outcome: PhaseOutcome; expected: AbstractState }
  /** Drop the actor and all memory, restore from the last persisted snapshot, go on. */
  | { kind: 'crash'; label: string; state: ConnectionState; point: CrashPoint };

export interface ModelPath {
  /** The transition this path exists to cover (its last step). */
  covers: string;
  description: string;
  input: ConnectionInput;
  steps: ModelStep[];
}

const failureSamples: PhaseFailure[] = [
  { kind: 'transient', message: 'HTTP 503 from provider', status: 503, at: MODEL_TIMES.failedAt },
  {
    kind: 'rate_limited',
    message: 'HTTP 429 Retry-After 120',
    status: 429,
    retryAfterMs: 120_000,
    at: MODEL_TIMES.failedAt,
  },
  {
    kind: 'quota_exhausted',
    message: 'daily quota used',
    status: 429,
    resumeAt: MODEL_TIMES.quotaResetAt,
    at: MODEL_TIMES.failedAt,
  },
  { kind: 'auth_failed', message: 'HTTP 401 token revoked', status: 401, at: MODEL_TIMES.failedAt },
  { kind: 'fatal', message: 'HTTP 400 schema mismatch', status: 400, at: MODEL_TIMES.failedAt },
];

/** Successful outputs per phase actor; the fetch has two, since "more pages" loops back into fetching. */
const successSamples: Record<PhaseActorId, Array<{ label: string; output: unknown }>> = {
  fetchPhase: [
    { label: 'more pages', output: { nextPageToken: 'page-next', records: 2, quarantined: 0 } },
    { label: 'last page', output: { nextPageToken: null, records: 1, quarantined: 1 } },
  ],
  reconcilePhase: [{ label: 'ok', output: { upserts: 2, plannedWrites: 2, conflicts: 1, complete: true } }],
  pushPhase: [{ label: 'ok', output: { sent: 2, deferred: 0 } }],
  auditPhase: [
    {
      label: 'ok',
      output: {
        cursor: { modified: '2025-01-06T08:59:59.9999999Z', externalId: 'C205' },
        localCursor: 14,
        finishedAt: '2025-01-06T09:05:00.000Z',
      },
    },
  ],
};

const commandSamples: Array<{ label: string; event: ConnectionCommand }> = [
  {
    label: 'sync.requested',
    event: {
      type: 'sync.requested',
      now: MODEL_TIMES.start,
      cycleId: 'model-cycle',
      // Before `now`, as a provider's settle lag makes it: a window ending at the request's now is then caught.
      windowTo: MODEL_TIMES.windowTo,
    },
  },
  { label: 'sync.resume (not due)', event: { type: 'sync.resume', now: MODEL_TIMES.failedAt } },
  { label: 'sync.resume (due)', event: { type: 'sync.resume', now: MODEL_TIMES.longAfter } },
  { label: 'retry.requested', event: { type: 'retry.requested' } },
  { label: 'credentials.updated', event: { type: 'credentials.updated' } },
  {
    label: 'sync.abandoned',
    event: { type: 'sync.abandoned', message: 'scheduler gave up', at: MODEL_TIMES.failedAt },
  },
];

interface CatalogueEntry {
  label: string;
  /** Typed as a command because xstate types a machine's events as the declared ones only; the graph
   * walker feeds any event object to `transition`, including the invoke done/error events built here. */
  event: ConnectionCommand;
  step: (expected: AbstractState) => ModelStep;
}

/** The invoke ids of the machine, read from its definition (so a new invoke cannot be forgotten). */
function invokeIds(): PhaseActorId[] {
  const ids: string[] = [];
  const walk = (node: DirectedGraphNode) => {
    ids.push(...node.stateNode.invoke.map((invoke) => invoke.id));
    node.children.forEach(walk);
  };
  walk(toDirectedGraph(connectionMachine));
  for (const id of ids) {
    if (!(id in successSamples))
      throw new Error(`no model outcomes for invoke "${id}": add it to successSamples`);
  }
  return ids as PhaseActorId[];
}

function buildCatalogue(): CatalogueEntry[] {
  const entries: CatalogueEntry[] = commandSamples.map(({ label, event }) => ({
    label,
    event,
    step: (expected) => ({ kind: 'command', label, event, expected }),
  }));
  for (const actorId of invokeIds()) {
    for (const { label: outcomeLabel, output } of successSamples[actorId]) {
      const label = `${actorId} ${outcomeLabel}`;
      const done: AnyEventObject = { type: `xstate.done.actor.${actorId}`, output, actorId };
      entries.push({
        label,
        event: done as ConnectionCommand,
        step: (expected) => ({ kind: 'phase', label, actorId, outcome: { ok: true, output }, expected }),
      });
    }
    for (const failure of failureSamples) {
      const label = `${actorId} ${failure.kind}`;
      const error: AnyEventObject = { type: `xstate.error.actor.${actorId}`, error: failure, actorId };
      entries.push({
        label,
        event: error as ConnectionCommand,
        step: (expected) => ({ kind: 'phase', label, actorId, outcome: { ok: false, failure }, expected }),
      });
    }
  }
  return entries;
}

const catalogue = buildCatalogue();
const entryOf = new Map<object, CatalogueEntry>(catalogue.map((entry) => [entry.event, entry]));

function entryFor(event: object): CatalogueEntry {
  const entry = entryOf.get(event);
  if (entry === undefined) throw new Error(`event outside the model catalogue: ${JSON.stringify(event)}`);
  return entry;
}

/** The model events a snapshot handles; throws if the machine handles an event the model cannot make. */
function eventsFor(snapshot: ConnectionSnapshot): ConnectionCommand[] {
  // Attempts are what keeps the abstract graph finite; a machine that counts past the limit would make the
  // traversal run forever instead of failing.
  if (snapshot.context.attempt >= DEFAULT_BACKOFF.maxAttempts)
    throw new Error(`attempt ${snapshot.context.attempt} in ${String(snapshot.value)}: beyond the maximum`);
  const handled = new Set(snapshot._nodes.flatMap((node) => node.ownEvents));
  const events = catalogue.filter((entry) => handled.has(entry.event.type)).map((entry) => entry.event);
  for (const type of handled) {
    if (!events.some((event) => event.type === type)) throw new Error(`no model event for "${type}"`);
  }
  return events;
}

/** What the guards depend on; volatile data (times, counts, ids) is left out so the graph is finite. */
export function abstractState(snapshot: {
  value: unknown;
  context: ConnectionSnapshot['context'];
}): AbstractState {
  const { attempt, resumePhase, errorReason, cycle } = snapshot.context;
  return JSON.stringify({
    value: snapshot.value,
    attempt,
    resumePhase,
    errorReason,
    midWindow: cycle !== null && cycle.fetch.pageToken !== null,
  });
}

/** The identity of a transition: source state, event (with outcome), target state. */
export const transitionKey = (from: unknown, label: string, to: unknown) =>
  `${String(from)} --${label}--> ${String(to)}`;

/** How finely paths and coverage tell transitions apart: by state value, or by abstract state. */
export type Granularity = 'value' | 'abstract';

type Observed = { value: unknown; context: ConnectionSnapshot['context'] };

/** The key of a transition at a granularity: `value` names states, `abstract` adds attempt, phase, reason. */
export function keyAt(granularity: Granularity, from: Observed, label: string, to: Observed): string {
  return granularity === 'value'
    ? transitionKey(from.value, label, to.value)
    : transitionKey(abstractState(from), label, abstractState(to));
}

/** The model's events, labelled: what a reference model (spec.ts) must answer for in every state. */
export function modelEvents(): Array<{ label: string; event: AnyEventObject }> {
  return catalogue.map(({ label, event }) => ({ label, event }));
}

const traversal = (input: ConnectionInput) => ({
  input,
  events: eventsFor,
  serializeState: (snapshot: ConnectionSnapshot) => abstractState(snapshot),
});

interface Vertex {
  key: AbstractState;
  state: ConnectionSnapshot;
  out: Array<{ entry: CatalogueEntry; next: ConnectionSnapshot }>;
}

/** The machine's adjacency map over abstract states, as a plain list. */
function vertices(input: ConnectionInput): Vertex[] {
  const adjacency = getAdjacencyMap(connectionMachine, traversal(input));
  // The map's keys are branded strings, which TypeScript cannot index; its values are what we read.
  const values = Object.values(adjacency) as Array<{
    state: ConnectionSnapshot;
    transitions: Record<string, { event: object; state: ConnectionSnapshot }>;
  }>;
  return values.map(({ state, transitions }) => ({
    key: abstractState(state),
    state,
    out: Object.values(transitions).map(({ event, state: next }) => ({ entry: entryFor(event), next })),
  }));
}

/**
 * Every transition reachable with the model's events, from the machine's own adjacency map: this is the
 * Y of `transitions covered: X/Y`. Transitions a guard refuses (e.g. a `sync.resume` before `resumeAt`)
 * count too: staying put is behaviour.
 */
export function reachableTransitions(
  input: ConnectionInput = MODEL_INPUT,
  granularity: Granularity = 'value',
): Set<string> {
  return new Set(
    vertices(input).flatMap(({ state, out }) =>
      out.map(({ entry, next }) => keyAt(granularity, state, entry.label, next)),
    ),
  );
}

/**
 * Transitions written in the machine definition (source, event type, target) that no reachable
 * transition realises: a transition whose event the model cannot make, or that no path can reach.
 */
export function unreachableDefinedTransitions(input: ConnectionInput = MODEL_INPUT): string[] {
  const realised = new Set(
    vertices(input).flatMap(({ state, out }) =>
      out.map(({ entry, next }) => transitionKey(state.value, entry.event.type, next.value)),
    ),
  );
  const defined: string[] = [];
  const walk = (node: DirectedGraphNode) => {
    for (const edge of node.edges)
      defined.push(transitionKey(edge.source.key, edge.label.text, edge.target.key));
    node.children.forEach(walk);
  };
  walk(toDirectedGraph(connectionMachine));
  return defined.filter((key) => !realised.has(key));
}

/**
 * One path per reachable transition: the shortest way to a state where it applies, then the transition,
 * with a crash just before it whenever its source state is not idle (`crashPointIn`: in pushing after the
 * provider acknowledged writes, in reconciling after a batch committed). So every transition is also taken by a freshly restored actor.
 */
export function generatePaths(
  input: ConnectionInput = MODEL_INPUT,
  granularity: Granularity = 'value',
): ModelPath[] {
  const shortest = new Map(
    getShortestPaths(connectionMachine, traversal(input)).map((p) => [abstractState(p.state), p]),
  );
  const sources = vertices(input)
    .map((vertex) => ({ ...vertex, prefix: shortest.get(vertex.key) }))
    .sort((a, b) => (a.prefix?.weight ?? 0) - (b.prefix?.weight ?? 0));

  const paths = new Map<string, ModelPath>();
  for (const { key, state, out, prefix } of sources) {
    if (prefix === undefined) throw new Error(`no path to ${key}`);
    // getShortestPaths' first step is the synthetic xstate.init into the initial state.
    const steps = prefix.steps
      .slice(1)
      .map(({ event, state: after }) => entryFor(event).step(abstractState(after)));
    for (const { entry, next } of out) {
      const covers = keyAt(granularity, state, entry.label, next);
      if (paths.has(covers)) continue;
      const crash: ModelStep[] =
        state.value === 'idle'
          ? []
          : [
              {
                kind: 'crash',
                label: `CRASH in ${state.value}`,
                state: state.value,
                point: crashPointIn(state.value),
              },
            ];
      const all = [...steps, ...crash, entry.step(abstractState(next))];
      paths.set(covers, { covers, input, steps: all, description: all.map((s) => s.label).join(' → ') });
    }
  }
  return [...paths.values()];
}

/** Transitions taken, states crashed in, as observed while paths run. */
export class Coverage {
  readonly taken = new Set<string>();
  readonly crashed = new Map<ConnectionState, Set<CrashPoint>>();

  constructor(
    readonly expected: ReadonlySet<string>,
    readonly granularity: Granularity = 'value',
  ) {}

  /** The key of a transition at this coverage's granularity. */
  keyOf(from: Observed, label: string, to: Observed): string {
    return keyAt(this.granularity, from, label, to);
  }

  recordTransition(key: string): void {
    this.taken.add(key);
  }

  recordCrash(state: ConnectionState, point: CrashPoint): void {
    const points = this.crashed.get(state) ?? new Set();
    points.add(point);
    this.crashed.set(state, points);
  }

  /** Expected transitions no path took. */
  missing(): string[] {
    return [...this.expected].filter((key) => !this.taken.has(key));
  }

  /** Taken transitions the adjacency map did not predict (the system and the model disagree). */
  unexpected(): string[] {
    return [...this.taken].filter((key) => !this.expected.has(key));
  }

  summary(): string {
    const covered = [...this.expected].filter((key) => this.taken.has(key)).length;
    return `transitions covered: ${covered}/${this.expected.size}`;
  }
}
