import { beforeAll, describe, expect, it, test } from 'vitest';
import { createActor } from 'xstate';
import { type CursorPosition, compareCursor } from '../../src/core/cursor.ts';
import { CONNECTION_MACHINE_VERSION } from '../../src/machines/connectionMachine.ts';
import {
  type PersistedConnection,
  parsePersistedConnection,
  toPersisted,
} from '../../src/machines/persistence.ts';
import { Gate } from './gate.ts';
import { generatePaths, MODEL_INPUT, type PhaseOutcome } from './paths.ts';
import { gatedMachine } from './pureDriver.ts';

/**
 * Robustness of the persisted snapshot, over every snapshot the model's paths persist: a snapshot of another
 * version, of an older shape, partial or tampered with is refused with a typed error, never restored with a
 * reset or advanced cursor; an intact one restores to exactly what was stored; `sync.resume` is due exactly
 * at `resumeAt`.
 */

/** Every distinct snapshot persisted along the abstract paths (one per step), with the state it is in. */
async function persistedAlongPaths(): Promise<PersistedConnection[]> {
  const seen = new Map<string, PersistedConnection>();
  for (const path of generatePaths(MODEL_INPUT, 'abstract')) {
    const gate = new Gate<PhaseOutcome>();
    const actor = createActor(gatedMachine(gate), { input: path.input }).start();
    const keep = () => {
      const persisted = JSON.parse(JSON.stringify(toPersisted(actor))) as PersistedConnection;
      seen.set(JSON.stringify(persisted), persisted);
    };
    keep();
    for (const step of path.steps) {
      if (step.kind === 'crash') continue;
      if (step.kind === 'command') actor.send(step.event);
      else {
        if (!(step.actorId in actor.getSnapshot().children))
          throw new Error(`${step.actorId} is not running in ${String(actor.getSnapshot().value)}`);
        const moved = new Promise<void>((resolve) => {
          const sub = actor.subscribe(() => {
            sub.unsubscribe();
            resolve();
          });
        });
        gate.arrange(step.actorId, step.outcome);
        await moved;
      }
      keep();
    }
    actor.stop();
  }
  return [...seen.values()];
}

let stored: PersistedConnection[] = [];
beforeAll(async () => {
  stored = await persistedAlongPaths();
});
const byState = (value: string) => stored.filter((p) => (p.snapshot as { value: string }).value === value);

type Json = Record<string, unknown>;
const snapshotOf = (p: PersistedConnection) => p.snapshot as Json & { context: Json; children: Json };
const errorKind = (json: unknown) => {
  const parsed = parsePersistedConnection(json);
  return parsed.ok ? 'ok' : parsed.error.kind;
};

type Cursors = { cursor: CursorPosition | null; localCursor: number };

/** `persisted` with its committed cursors replaced by `change` everywhere it holds them. */
function withCursors(persisted: PersistedConnection, change: { cursor?: unknown; localCursor?: unknown }) {
  const copy = structuredClone(persisted);
  const snapshot = snapshotOf(copy);
  const replace = (holder: Json) => {
    if ('cursor' in change && 'cursor' in holder) holder.cursor = change.cursor;
    if ('localCursor' in change && 'localCursor' in holder) holder.localCursor = change.localCursor;
    if ('cursor' in change && typeof holder.window === 'object' && holder.window !== null)
      (holder.window as Json).from = change.cursor;
  };
  replace(snapshot.context);
  if (snapshot.context.cycle !== null) replace(snapshot.context.cycle as Json);
  for (const child of Object.values(snapshot.children) as Array<{ snapshot: { input: Json } }>)
    replace(child.snapshot.input);
  return copy;
}

/** `modified` (an ISO instant) written at another offset, its fraction padded to `digits`: the same instant. */
function sameInstant(modified: string, offset: 'Z' | '+00:00' | '+01:00', digits = 0): string {
  const match = /^(.{19})(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(modified);
  if (match === null) throw new Error(`not an ISO instant: ${modified}`);
  const [, seconds, fraction = '', zone] = match;
  const utc = Date.parse(`${seconds}${zone}`);
  const local = new Date(utc + (offset === '+01:00' ? 3_600_000 : 0)).toISOString().slice(0, 19);
  const digitsOut = fraction.padEnd(digits, '0');
  const written = `${local}${digitsOut === '' ? '' : `.${digitsOut}`}${offset}`;
  if (written === modified) throw new Error(`${modified} is already written that way`);
  return written;
}

const samePosition = (a: CursorPosition | null, b: CursorPosition | null) =>
  a === null || b === null ? a === b : compareCursor(a, b) === 0;

describe('persisted snapshots of every state the model reaches', () => {
  it('covers every state', () => {
    const states = new Set(stored.map((p) => (p.snapshot as { value: string }).value));
    expect([...states].sort()).toEqual(
      ['auditing', 'backoff', 'error', 'fetching', 'idle', 'pushing', 'reconciling'].sort(),
    );
  });

  it('restore to exactly what was stored, and persist it again unchanged', () => {
    for (const persisted of stored) {
      const parsed = parsePersistedConnection(persisted);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
      const gate = new Gate<PhaseOutcome>();
      const actor = createActor(gatedMachine(gate), parsed.value.actorOptions).start();
      const again = JSON.parse(JSON.stringify(toPersisted(actor)));
      actor.stop();
      expect(again).toEqual(persisted);
    }
  });

  test.each([
    ['older', CONNECTION_MACHINE_VERSION - 1, 'older_version'],
    ['newer', CONNECTION_MACHINE_VERSION + 1, 'newer_version'],
    ['fractional', CONNECTION_MACHINE_VERSION + 0.5, 'invalid'],
  ])('refuse a snapshot of an %s machine version as %s', (_name, machineVersion, kind) => {
    for (const persisted of stored) expect(errorKind({ ...persisted, machineVersion })).toBe(kind);
  });

  it('refuse a partial snapshot (any required member missing) with a typed error', () => {
    for (const persisted of stored) {
      const snapshot = snapshotOf(persisted);
      for (const key of ['status', 'value', 'context', 'children']) {
        const { [key]: _dropped, ...partial } = snapshot;
        expect([key, errorKind({ ...persisted, snapshot: partial })]).toEqual([key, 'invalid']);
      }
      // An older shape of the context: any member it did not have yet.
      for (const key of Object.keys(snapshot.context)) {
        const { [key]: _dropped, ...context } = snapshot.context;
        expect([key, errorKind({ ...persisted, snapshot: { ...snapshot, context } })]).toEqual([
          key,
          'invalid',
        ]);
      }
      expect(errorKind({ machineVersion: persisted.machineVersion })).toBe('invalid');
      expect(errorKind(null)).toBe('invalid');
    }
  });

  it('refuse a cursor of the wrong shape rather than restore without one', () => {
    for (const persisted of stored) {
      const snapshot = snapshotOf(persisted);
      for (const cursor of [{ modified: 'yesterday' }, 'C100', { externalId: 'C100' }]) {
        const tampered = {
          ...persisted,
          snapshot: { ...snapshot, context: { ...snapshot.context, cursor } },
        };
        expect(errorKind(tampered)).toBe('invalid');
      }
    }
  });

  it('refuse a phase state whose actor is missing, finished, or has a malformed input', () => {
    for (const phase of ['fetching', 'reconciling', 'pushing', 'auditing']) {
      const samples = byState(phase);
      expect(samples.length).toBeGreaterThan(0);
      for (const persisted of samples) {
        const snapshot = snapshotOf(persisted);
        const [id, child] = Object.entries(snapshot.children)[0] as [string, Json & { snapshot: Json }];
        const withChild = (replacement: unknown) => ({
          ...persisted,
          snapshot: { ...snapshot, children: { [id]: replacement } },
        });
        expect(errorKind({ ...persisted, snapshot: { ...snapshot, children: {} } })).toBe('inconsistent');
        expect(errorKind(withChild({ ...child, snapshot: { ...child.snapshot, status: 'done' } }))).toBe(
          'inconsistent',
        );
        expect(errorKind(withChild({ ...child, snapshot: { ...child.snapshot, input: {} } }))).toBe(
          'inconsistent',
        );
        expect(errorKind(withChild({ ...child, src: 'someOtherPhase' }))).toBe('inconsistent');
      }
    }
  });

  // Regression: a persisted actor input that disagreed with the context was restored, and the phase re-ran
  // with it: a window from `null` re-fetched everything, another page or cycle staged the wrong records.
  it('refuse a phase actor whose persisted input is not what the context implies', () => {
    const tamperings: Array<[string, (input: Json) => Json]> = [
      ['another cycle', (input) => ({ ...input, cycleId: 'another-cycle' })],
      [
        'a window reset to the start',
        (input) => ({ ...input, window: { ...(input.window as Json), from: null } }),
      ],
      ['another page', (input) => ({ ...input, page: 7, pageToken: 'page-7' })],
      ['other committed cursors', (input) => ({ ...input, cursor: null, localCursor: 0 })],
      ['other totals', (input) => ({ ...input, counts: { ...(input.counts as Json), sent: 99 } })],
    ];
    for (const phase of ['fetching', 'reconciling', 'pushing', 'auditing']) {
      for (const persisted of byState(phase)) {
        const snapshot = snapshotOf(persisted);
        const [id, child] = Object.entries(snapshot.children)[0] as [string, Json & { snapshot: Json }];
        const input = child.snapshot.input as Json;
        for (const [name, tamper] of tamperings) {
          const changed = tamper(input);
          // Only members this phase's input has: an extra member is refused by the schema anyway.
          if (Object.keys(changed).some((key) => !(key in input))) continue;
          const tampered = {
            ...persisted,
            snapshot: {
              ...snapshot,
              children: { [id]: { ...child, snapshot: { ...child.snapshot, input: changed } } },
            },
          };
          expect([phase, name, errorKind(tampered)]).toEqual([phase, name, 'inconsistent']);
        }
      }
    }
  });

  it('refuse a cycle whose window does not start at the committed cursor', () => {
    for (const persisted of stored) {
      const snapshot = snapshotOf(persisted);
      const cycle = snapshot.context.cycle as Json | null;
      if (cycle === null) continue;
      const window = { ...(cycle.window as Json), from: null };
      const tampered = {
        ...persisted,
        snapshot: { ...snapshot, context: { ...snapshot.context, cycle: { ...cycle, window } } },
      };
      expect(errorKind(tampered)).not.toBe('ok');
    }
  });

  it('refuse idle with a cycle, and a settled state with a running actor', () => {
    for (const persisted of byState('fetching')) {
      const snapshot = snapshotOf(persisted);
      expect(errorKind({ ...persisted, snapshot: { ...snapshot, value: 'idle', children: {} } })).toBe(
        'inconsistent',
      );
      expect(errorKind({ ...persisted, snapshot: { ...snapshot, value: 'backoff' } })).toBe('inconsistent');
    }
    for (const persisted of byState('idle')) {
      const snapshot = snapshotOf(persisted);
      expect(errorKind({ ...persisted, snapshot: { ...snapshot, value: 'fetching' } })).toBe('inconsistent');
    }
  });

  it('refuse a settled state without what leads it out, and a phase after the fetch with a page left', () => {
    // Restored, none of these is left by any event (a backoff never due, a retry with nowhere to go), and `reset`
    // refuses a snapshot that restores: the connection stayed stuck for good.
    const tamper = (persisted: PersistedConnection, change: Json) => {
      const snapshot = snapshotOf(persisted);
      return { ...persisted, snapshot: { ...snapshot, context: { ...snapshot.context, ...change } } };
    };
    const samples = (value: string) => {
      const found = byState(value);
      expect(found.length, value).toBeGreaterThan(0);
      return found;
    };
    for (const persisted of samples('backoff')) {
      expect(errorKind(tamper(persisted, { resumeAt: null }))).toBe('inconsistent');
      expect(errorKind(tamper(persisted, { resumePhase: null }))).toBe('inconsistent');
    }
    for (const persisted of samples('error')) {
      expect(errorKind(tamper(persisted, { resumePhase: null }))).toBe('inconsistent');
      expect(errorKind(tamper(persisted, { errorReason: null }))).toBe('inconsistent');
    }
    for (const phase of ['reconciling', 'pushing', 'auditing'])
      for (const persisted of samples(phase)) {
        const cycle = snapshotOf(persisted).context.cycle as Json & { fetch: Json };
        const midWindow = { ...cycle, fetch: { ...cycle.fetch, pageToken: 'page-7' } };
        expect(errorKind(tamper(persisted, { cycle: midWindow }))).toBe('inconsistent');
      }
  });

  it('never restore a tampered snapshot to a different cursor', () => {
    // Whatever is accepted must carry exactly the cursors it holds, and they must be the stored position: a value
    // coerced on the way in (a string read as 0, a float rounded) is a silent reset or advance, and a reset
    // re-fetches everything, an advance loses data. Each tampering is written everywhere the snapshot holds the
    // cursors (context, window, the phase actor's input), so that only the validation of the values can refuse it.
    const tamperings: Array<
      [string, (cursors: Cursors) => { cursor?: unknown; localCursor?: unknown } | null]
    > = [
      ['localCursor as a numeric string', ({ localCursor }) => ({ localCursor: String(localCursor) })],
      ['localCursor as a float', ({ localCursor }) => ({ localCursor: localCursor + 0.5 })],
      ['localCursor negative', ({ localCursor }) => ({ localCursor: -localCursor - 1 })],
      ['localCursor null', () => ({ localCursor: null })],
      [
        'modified as epoch milliseconds',
        ({ cursor }) => cursor && { cursor: { ...cursor, modified: Date.parse(cursor.modified) } },
      ],
      [
        'externalId as a number',
        ({ cursor }) =>
          cursor && { cursor: { ...cursor, externalId: Number(cursor.externalId.replace(/\D/g, '')) } },
      ],
      ['an extra cursor key', ({ cursor }) => cursor && { cursor: { ...cursor, page: 2 } }],
      [
        'modified at +00:00',
        ({ cursor }) => cursor && { cursor: { ...cursor, modified: sameInstant(cursor.modified, '+00:00') } },
      ],
      [
        'modified at +01:00',
        ({ cursor }) => cursor && { cursor: { ...cursor, modified: sameInstant(cursor.modified, '+01:00') } },
      ],
      [
        'modified with a longer fraction',
        ({ cursor }) => cursor && { cursor: { ...cursor, modified: sameInstant(cursor.modified, 'Z', 8) } },
      ],
    ];
    const withCursor = stored.filter((p) => snapshotOf(p).context.cursor !== null);
    expect(withCursor.length).toBeGreaterThan(0);
    const outcomes = new Map(tamperings.map(([name]) => [name, { refused: 0, restored: 0 }]));
    for (const persisted of stored) {
      const original = snapshotOf(persisted).context as unknown as Cursors;
      for (const [name, tamper] of tamperings) {
        const change = tamper({ cursor: original.cursor, localCursor: original.localCursor });
        if (change === null) continue;
        const tampered = withCursors(persisted, change);
        expect(JSON.stringify(tampered)).not.toBe(JSON.stringify(persisted));
        const written = snapshotOf(tampered).context as unknown as Cursors;
        const parsed = parsePersistedConnection(tampered);
        const outcome = outcomes.get(name) as { refused: number; restored: number };
        if (!parsed.ok) {
          expect([name, parsed.error.kind]).toEqual([
            name,
            expect.stringMatching(/^(invalid|inconsistent)$/),
          ]);
          outcome.refused += 1;
          continue;
        }
        outcome.restored += 1;
        const actor = createActor(gatedMachine(new Gate<PhaseOutcome>()), parsed.value.actorOptions).start();
        const restored = actor.getSnapshot().context;
        actor.stop();
        for (const cursors of [parsed.value.context, parsed.value.actorOptions.input, restored]) {
          // Exactly as written, never converted ...
          expect([name, cursors.cursor, cursors.localCursor]).toStrictEqual([
            name,
            written.cursor,
            written.localCursor,
          ]);
          // ... and the stored position: only another way of writing the same instant may pass.
          expect([name, samePosition(cursors.cursor, original.cursor), cursors.localCursor]).toStrictEqual([
            name,
            true,
            original.localCursor,
          ]);
        }
      }
    }
    // Every tampering met each snapshot it applies to. Those that change a cursor's value or type were refused; the
    // same instant written another way is a position as a CRM may send it (kept raw, never re-formatted): restored.
    expect(Object.fromEntries(outcomes)).toEqual({
      'localCursor as a numeric string': { refused: stored.length, restored: 0 },
      'localCursor as a float': { refused: stored.length, restored: 0 },
      'localCursor negative': { refused: stored.length, restored: 0 },
      'localCursor null': { refused: stored.length, restored: 0 },
      'modified as epoch milliseconds': { refused: withCursor.length, restored: 0 },
      'externalId as a number': { refused: withCursor.length, restored: 0 },
      'an extra cursor key': { refused: withCursor.length, restored: 0 },
      'modified at +00:00': { refused: 0, restored: withCursor.length },
      'modified at +01:00': { refused: 0, restored: withCursor.length },
      'modified with a longer fraction': { refused: 0, restored: withCursor.length },
    });
  });
});

describe('backoff resumes exactly at resumeAt', () => {
  test.each(['fetching', 'reconciling', 'pushing', 'auditing'])(
    'in %s: not a millisecond before, and at the instant itself',
    (phase) => {
      const samples = byState('backoff').filter(
        (p) => (snapshotOf(p).context as { resumePhase: string }).resumePhase === phase,
      );
      expect(samples.length).toBeGreaterThan(0);
      for (const persisted of samples) {
        const resumeAt = Date.parse(String(snapshotOf(persisted).context.resumeAt));
        const restoreAndResume = (now: number) => {
          const parsed = parsePersistedConnection(persisted);
          if (!parsed.ok) throw new Error(parsed.error.kind);
          const actor = createActor(
            gatedMachine(new Gate<PhaseOutcome>()),
            parsed.value.actorOptions,
          ).start();
          actor.send({ type: 'sync.resume', now: new Date(now).toISOString() });
          const value = actor.getSnapshot().value;
          actor.stop();
          return value;
        };
        expect(restoreAndResume(resumeAt - 1)).toBe('backoff');
        expect(restoreAndResume(resumeAt)).toBe(phase);
      }
    },
  );
});
