import { isDeepStrictEqual } from 'node:util';
import type { Snapshot } from 'xstate';
import { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';
import {
  type ConnectionContext,
  type ConnectionInput,
  type ConnectionState,
  connectionContextSchema,
  connectionStateSchema,
} from './connectionContext.ts';
import { CONNECTION_MACHINE_VERSION, phaseInputs } from './connectionMachine.ts';
import { phaseActorIds, phaseInputSchemas, phaseSchema } from './phases.ts';

/** What is stored per connection after every transition: the machine version and the snapshot JSON. */
export interface PersistedConnection {
  /** `CONNECTION_MACHINE_VERSION` of the machine that wrote the snapshot. */
  machineVersion: number;
  /** `getPersistedSnapshot()` as plain JSON (undefined members dropped). */
  snapshot: unknown;
}

/** Why a stored snapshot cannot be restored. */
export type PersistedConnectionError =
  | { kind: 'invalid'; message: string }
  | { kind: 'older_version'; found: number; expected: number }
  | { kind: 'newer_version'; found: number; expected: number }
  | { kind: 'inconsistent'; message: string };

/** The part of an xstate snapshot we rely on; xstate's own bookkeeping fields pass through untouched. */
const persistedChildSchema = z.looseObject({
  src: z.string(),
  snapshot: z.looseObject({ status: z.string(), input: z.unknown() }),
});
const persistedSnapshotSchema = z.looseObject({
  status: z.literal('active'),
  value: connectionStateSchema,
  context: connectionContextSchema,
  children: z.record(z.string(), persistedChildSchema),
});
type PersistedSnapshot = z.infer<typeof persistedSnapshotSchema>;

/** A stored connection, validated: its state and context, and how to restore an actor from it. */
export interface RestoredConnection {
  state: ConnectionState;
  context: ConnectionContext;
  /** For `createActor(machine, actorOptions)`; `input` is the snapshot's own (xstate ignores it on restore). */
  actorOptions: { snapshot: Snapshot<unknown>; input: ConnectionInput };
}

const envelopeSchema = z.strictObject({ machineVersion: z.number().int(), snapshot: z.unknown() });

/** The actor's persisted snapshot as JSON, stamped with the machine version. */
export function toPersisted(actor: { getPersistedSnapshot(): Snapshot<unknown> }): PersistedConnection {
  return {
    machineVersion: CONNECTION_MACHINE_VERSION,
    snapshot: JSON.parse(JSON.stringify(actor.getPersistedSnapshot())),
  };
}

/**
 * Validates a stored `PersistedConnection` (version first, then shape, then consistency). Another version is refused: there is no migration yet.
 */
export function parsePersistedConnection(
  json: unknown,
): Result<RestoredConnection, PersistedConnectionError> {
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) return err({ kind: 'invalid', message: z.prettifyError(envelope.error) });
  const found = envelope.data.machineVersion;
  if (found > CONNECTION_MACHINE_VERSION) {
    return err({ kind: 'newer_version', found, expected: CONNECTION_MACHINE_VERSION });
  }
  if (found < CONNECTION_MACHINE_VERSION) {
    return err({ kind: 'older_version', found, expected: CONNECTION_MACHINE_VERSION });
  }
  const parsed = persistedSnapshotSchema.safeParse(envelope.data.snapshot);
  if (!parsed.success) return err({ kind: 'invalid', message: z.prettifyError(parsed.error) });
  const problem = inconsistency(parsed.data);
  if (problem !== null) return err({ kind: 'inconsistent', message: problem });
  const { value, context } = parsed.data;
  const { connectionId, tenantId, provider, cursor, localCursor } = context;
  return ok({
    state: value,
    context,
    actorOptions: {
      snapshot: { ...parsed.data, status: 'active', output: undefined, error: undefined },
      input: { connectionId, tenantId, provider, cursor, localCursor },
    },
  });
}

/**
 * A snapshot can be well-formed yet unrestorable: restoring re-creates only the children it lists, so a
 * phase state without its (unresolved) actor would wait forever.
 */
function inconsistency(snapshot: PersistedSnapshot): string | null {
  const { value, context, children } = snapshot;
  if ((value === 'idle') !== (context.cycle === null))
    return `state ${value} with cycle ${context.cycle?.cycleId}`;
  // The window is fixed at cycle start from the committed cursor, which moves only when the cycle ends.
  if (context.cycle !== null && !isDeepStrictEqual(context.cycle.window.from, context.cursor))
    return `cycle ${context.cycle.cycleId} window starts at ${JSON.stringify(context.cycle.window.from)}, not at the committed cursor ${JSON.stringify(context.cursor)}`;
  // What leads a settled state out must be there: backoff resumes at `resumeAt` into `resumePhase`, error into
  // `resumePhase` (and by `errorReason`). Restored without them, no event leaves the state, and `reset` refuses a
  // snapshot that restores.
  if ((value === 'backoff') !== (context.resumeAt !== null))
    return `state ${value} with resumeAt ${context.resumeAt}`;
  if ((value === 'backoff' || value === 'error') !== (context.resumePhase !== null))
    return `state ${value} with resumePhase ${context.resumePhase}`;
  if ((value === 'error') !== (context.errorReason !== null))
    return `state ${value} with errorReason ${context.errorReason}`;
  // Only the fetch goes on mid-window: a later phase with a page left would close a window not fetched to its end.
  const fetchesNext = value === 'fetching' || context.resumePhase === 'fetching';
  if (context.cycle !== null && context.cycle.fetch.pageToken !== null && !fetchesNext)
    return `state ${value} with page ${context.cycle.fetch.pageToken} of the window still to fetch`;
  const phase = phaseSchema.safeParse(value);
  const childIds = Object.keys(children);
  if (!phase.success) {
    return childIds.length === 0 ? null : `state ${value} has running actors ${childIds.join(', ')}`;
  }
  const actorId = phaseActorIds[phase.data];
  const child = children[actorId];
  if (childIds.length !== 1 || child === undefined || child.src !== actorId) {
    return `state ${value} needs exactly its ${actorId} actor, found ${childIds.join(', ') || 'none'}`;
  }
  if (child.snapshot.status !== 'active') return `${actorId} is ${child.snapshot.status}, not active`;
  const input = phaseInputSchemas[phase.data].safeParse(child.snapshot.input);
  if (!input.success) return `${actorId} input: ${z.prettifyError(input.error)}`;
  // The restored actor re-runs with its persisted input: one that is not what the context implies (another
  // cycle, window or page) would fetch or write something else than the snapshot records.
  const expected = phaseInputs[phase.data](context);
  return isDeepStrictEqual(input.data, expected)
    ? null
    : `${actorId} input ${JSON.stringify(input.data)} is not what state ${value} implies: ${JSON.stringify(expected)}`;
}
