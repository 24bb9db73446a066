import { describe, expect, it, test } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { type ConnectionInput, type ConnectionState, failedAttempts } from './connectionContext.ts';
import { CONNECTION_MACHINE_VERSION, connectionMachine } from './connectionMachine.ts';
import { parsePersistedConnection, toPersisted } from './persistence.ts';
import type {
  AuditPhaseInput,
  AuditPhaseOutput,
  FetchPhaseInput,
  FetchPhaseOutput,
  PhaseActorId,
  PhaseFailure,
  PushPhaseInput,
  PushPhaseOutput,
  ReconcilePhaseInput,
  ReconcilePhaseOutput,
} from './phases.ts';

const T0 = '2025-01-06T09:00:00.000Z';
const FAILED_AT = '2025-01-06T09:01:00.000Z';
const input: ConnectionInput = {
  connectionId: 'conn-1',
  tenantId: 'tenant-1',
  provider: 'reapit',
  cursor: { modified: '2025-01-05T12:00:00.1234567Z', externalId: 'C1' },
  localCursor: 7,
};
const syncRequested = { type: 'sync.requested', now: T0, cycleId: 'cycle-1', windowTo: T0 } as const;

const lastPage: FetchPhaseOutput = { nextPageToken: null, records: 3, quarantined: 1 };
const reconciled = { upserts: 3, plannedWrites: 2, conflicts: 1, complete: true };
const pushed = { sent: 2, deferred: 0 };
const audited: AuditPhaseOutput = {
  cursor: { modified: '2025-01-06T08:59:59.9999999Z', externalId: 'C9' },
  localCursor: 12,
  finishedAt: '2025-01-06T09:05:00.000Z',
};
const failure = (kind: PhaseFailure['kind'], extra: Partial<PhaseFailure> = {}) =>
  ({ kind, message: `${kind} happened`, status: 503, at: FAILED_AT, ...extra }) as PhaseFailure;

type Outcome = { resolve: unknown } | { reject: unknown };

/**
 * Phase actors that play a script: each call takes the next outcome for its id, and with none left stays
 * pending forever (an unresolved invoke, as at a crash). `calls` records every invocation and its input.
 */
function scripted(script: Partial<Record<PhaseActorId, Outcome[]>> = {}) {
  const calls: Array<{ id: PhaseActorId; input: unknown }> = [];
  const phase = <TOutput, TInput>(id: PhaseActorId) =>
    fromPromise<TOutput, TInput>(({ input: phaseInput }) => {
      calls.push({ id, input: phaseInput });
      const next = script[id]?.shift();
      if (next === undefined) return new Promise<TOutput>(() => {});
      return 'resolve' in next ? Promise.resolve(next.resolve as TOutput) : Promise.reject(next.reject);
    });
  const machine = connectionMachine.provide({
    actors: {
      fetchPhase: phase<FetchPhaseOutput, FetchPhaseInput>('fetchPhase'),
      reconcilePhase: phase<ReconcilePhaseOutput, ReconcilePhaseInput>('reconcilePhase'),
      pushPhase: phase<PushPhaseOutput, PushPhaseInput>('pushPhase'),
      auditPhase: phase<AuditPhaseOutput, AuditPhaseInput>('auditPhase'),
    },
  });
  return { machine, calls };
}

async function runTo(machine: typeof connectionMachine, state: ConnectionState) {
  const actor = createActor(machine, { input }).start();
  actor.send(syncRequested);
  await waitFor(actor, (s) => s.value === state);
  return actor;
}

/** Scripts that leave the machine resting in each state. */
const scriptsTo: Record<ConnectionState, Partial<Record<PhaseActorId, Outcome[]>>> = {
  idle: {
    fetchPhase: [{ resolve: lastPage }],
    reconcilePhase: [{ resolve: reconciled }],
    pushPhase: [{ resolve: pushed }],
    auditPhase: [{ resolve: audited }],
  },
  fetching: {},
  reconciling: { fetchPhase: [{ resolve: lastPage }] },
  pushing: { fetchPhase: [{ resolve: lastPage }], reconcilePhase: [{ resolve: reconciled }] },
  auditing: {
    fetchPhase: [{ resolve: lastPage }],
    reconcilePhase: [{ resolve: reconciled }],
    pushPhase: [{ resolve: pushed }],
  },
  backoff: { fetchPhase: [{ resolve: lastPage }], reconcilePhase: [{ reject: failure('transient') }] },
  error: { fetchPhase: [{ reject: failure('auth_failed', { status: 401 }) }] },
};

describe('persisted snapshot', () => {
  test.each(Object.keys(scriptsTo) as ConnectionState[])('round-trips through JSON in %s', async (state) => {
    const { machine } = scripted(structuredClone(scriptsTo[state]));
    const actor = await runTo(machine, state);
    if (state === 'idle') expect(actor.getSnapshot().context.lastAudit?.cycleId).toBe('cycle-1');
    const stored = JSON.parse(JSON.stringify(toPersisted(actor)));
    actor.stop();

    const parsed = parsePersistedConnection(stored);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    const restored = createActor(scripted().machine, parsed.value.actorOptions).start();

    expect(restored.getSnapshot().value).toBe(state);
    expect(restored.getSnapshot().context).toEqual(actor.getSnapshot().context);
    expect(toPersisted(restored)).toEqual(stored);
  });

  it('re-runs an unresolved invoke on restore, from the page checkpoint', async () => {
    const first = scripted({
      fetchPhase: [{ resolve: { nextPageToken: 'page-2', records: 2, quarantined: 0 } }],
    });
    const actor = createActor(first.machine, { input }).start();
    actor.send(syncRequested);
    await waitFor(actor, (s) => s.context.cycle?.fetch.pageToken === 'page-2');
    const stored = JSON.parse(JSON.stringify(toPersisted(actor)));
    actor.stop();

    const second = scripted();
    const parsed = parsePersistedConnection(stored);
    if (!parsed.ok) throw new Error(parsed.error.kind);
    createActor(second.machine, parsed.value.actorOptions).start();

    expect(second.calls).toEqual([
      {
        id: 'fetchPhase',
        input: {
          connection: { connectionId: 'conn-1', tenantId: 'tenant-1', provider: 'reapit' },
          cycleId: 'cycle-1',
          window: { from: input.cursor, to: T0 },
          pageToken: 'page-2',
          page: 1,
          localCursor: 7,
        },
      },
    ]);
  });

  test.each([
    {
      name: 'newer version',
      change: { machineVersion: CONNECTION_MACHINE_VERSION + 1 },
      kind: 'newer_version',
    },
    { name: 'older version', change: { machineVersion: 0 }, kind: 'older_version' },
    { name: 'missing version', change: { machineVersion: undefined }, kind: 'invalid' },
    { name: 'negative attempt', context: { attempt: -1 }, kind: 'invalid' },
    { name: 'unknown state', snapshot: { value: 'sleeping' }, kind: 'invalid' },
    { name: 'stopped snapshot', snapshot: { status: 'stopped' }, kind: 'invalid' },
    { name: 'phase without its actor', snapshot: { children: {} }, kind: 'inconsistent' },
    { name: 'idle with a cycle', snapshot: { value: 'idle', children: {} }, kind: 'inconsistent' },
  ])('refuses a stored snapshot with $name as $kind', async ({ change, snapshot, context, kind }) => {
    const actor = await runTo(scripted().machine, 'fetching');
    const stored = JSON.parse(JSON.stringify(toPersisted(actor)));
    actor.stop();
    const tampered = {
      ...stored,
      ...change,
      snapshot: { ...stored.snapshot, ...snapshot, context: { ...stored.snapshot.context, ...context } },
    };
    const parsed = parsePersistedConnection(tampered);
    expect(parsed.ok ? 'ok' : parsed.error.kind).toBe(kind);
  });

  it('refuses a snapshot whose persisted actor input is malformed', async () => {
    const actor = await runTo(scripted().machine, 'fetching');
    const stored = JSON.parse(JSON.stringify(toPersisted(actor)));
    actor.stop();
    stored.snapshot.children.fetchPhase.snapshot.input.page = 'one';
    const parsed = parsePersistedConnection(stored);
    expect(parsed.ok ? 'ok' : parsed.error.kind).toBe('inconsistent');
  });
});

describe('failures', () => {
  it('backs off with the provider wait, then resumes the same phase and window only once due', async () => {
    const rateLimited = failure('rate_limited', { status: 429, retryAfterMs: 600_000 });
    const { machine, calls } = scripted({
      fetchPhase: [{ resolve: lastPage }],
      reconcilePhase: [{ reject: rateLimited }],
    });
    const actor = await runTo(machine, 'backoff');
    const { context } = actor.getSnapshot();
    expect(context).toMatchObject({
      attempt: 1,
      resumePhase: 'reconciling',
      resumeAt: '2025-01-06T09:11:00.000Z',
    });
    expect(context.lastError).toEqual({
      kind: 'rate_limited',
      message: 'rate_limited happened',
      status: 429,
      phase: 'reconciling',
      at: FAILED_AT,
    });

    actor.send({ type: 'sync.resume', now: '2025-01-06T09:10:59.999Z' });
    expect(actor.getSnapshot().value).toBe('backoff');
    actor.send({ type: 'sync.resume', now: '2025-01-06T09:11:00.000Z' });
    expect(actor.getSnapshot().value).toBe('reconciling');
    expect(actor.getSnapshot().context.cycle?.window).toEqual({ from: input.cursor, to: T0 });
    expect(calls.map((c) => c.id)).toEqual(['fetchPhase', 'reconcilePhase', 'reconcilePhase']);
  });

  it('waits at least the wait a transient failure names, in one backoff (a create the CRM may still be applying)', async () => {
    const { machine } = scripted({
      fetchPhase: [{ resolve: lastPage }],
      reconcilePhase: [{ resolve: reconciled }],
      pushPhase: [{ reject: failure('transient', { status: null, retryAfterMs: 600_000 }) }],
    });
    const actor = await runTo(machine, 'backoff');
    // The first retry's own wait is 15-30 s: without the failure's wait it would come back too soon.
    expect(actor.getSnapshot().context).toMatchObject({
      attempt: 1,
      resumePhase: 'pushing',
      resumeAt: '2025-01-06T09:11:00.000Z',
    });
  });

  it('parks until the quota resets without spending an attempt', async () => {
    const { machine } = scripted({
      fetchPhase: [
        { reject: failure('transient') },
        { reject: failure('quota_exhausted', { resumeAt: '2025-01-07T00:00:00.000Z' }) },
      ],
    });
    const actor = await runTo(machine, 'backoff');
    actor.send({ type: 'sync.resume', now: '2025-01-06T10:00:00.000Z' });
    await waitFor(actor, (s) => s.value === 'backoff');
    expect(actor.getSnapshot().context).toMatchObject({ attempt: 1, resumeAt: '2025-01-07T00:00:00.000Z' });
  });

  test.each([
    { kind: 'auth_failed', reason: 'auth_failed', credentialsLeave: true },
    { kind: 'fatal', reason: 'fatal', credentialsLeave: false },
  ] as const)('$kind stops in error with reason $reason', async ({ kind, reason, credentialsLeave }) => {
    const { machine } = scripted({
      fetchPhase: [{ resolve: lastPage }],
      reconcilePhase: [{ reject: failure(kind) }],
    });
    const actor = await runTo(machine, 'error');
    expect(actor.getSnapshot().context).toMatchObject({ errorReason: reason, resumePhase: 'reconciling' });
    expect(actor.getSnapshot().context.lastError?.message).toBe(`${kind} happened`);

    actor.send({ type: 'credentials.updated' });
    expect(actor.getSnapshot().value).toBe(credentialsLeave ? 'reconciling' : 'error');
    if (!credentialsLeave) {
      actor.send({ type: 'retry.requested' });
      expect(actor.getSnapshot().value).toBe('reconciling');
    }
    expect(actor.getSnapshot().context).toMatchObject({ errorReason: null, resumePhase: null, attempt: 0 });
  });

  it('spreads the resumeAt of cycles that fail alike at the same instant (the jitter is seeded by the cycle)', async () => {
    // An outage fails every tenant's connection in the same phase and attempt at once: without the cycle in the
    // seed they all came back at the same instant, against a CRM just recovering.
    const resumeAts = new Set<string | null>();
    for (let i = 0; i < 20; i++) {
      const { machine } = scripted({ fetchPhase: [{ reject: failure('transient') }] });
      const actor = createActor(machine, { input }).start();
      actor.send({ ...syncRequested, cycleId: `cycle-${i}` });
      await waitFor(actor, (s) => s.value === 'backoff');
      resumeAts.add(actor.getSnapshot().context.resumeAt);
      actor.stop();
    }
    expect(resumeAts.size).toBeGreaterThan(15);
  });

  it('stops with attempts_exhausted on the fifth consecutive retryable failure', async () => {
    const resumeLate = { type: 'sync.resume', now: '2025-02-01T00:00:00.000Z' } as const;
    const drive = scripted({
      fetchPhase: [{ resolve: lastPage }],
      reconcilePhase: [{ resolve: reconciled }],
      pushPhase: Array.from({ length: 5 }, () => ({ reject: failure('transient') })),
    });
    const driven = createActor(drive.machine, { input }).start();
    driven.send(syncRequested);
    for (let attempt = 1; attempt <= 4; attempt++) {
      await waitFor(driven, (s) => s.value === 'backoff' && s.context.attempt === attempt);
      driven.send(resumeLate);
    }
    await waitFor(driven, (s) => s.value === 'error');
    expect(driven.getSnapshot().context).toMatchObject({ errorReason: 'attempts_exhausted', attempt: 4 });
    expect(drive.calls.filter((c) => c.id === 'pushPhase')).toHaveLength(5);
    // What status and the admin API show: five failures in a row, the one that stopped it included.
    expect(failedAttempts('error', driven.getSnapshot().context)).toBe(5);
    expect(failedAttempts('backoff', { attempt: 4 })).toBe(4);
  });

  it('treats a rejection that is not a PhaseFailure as fatal, with its message', async () => {
    const { machine } = scripted({ fetchPhase: [{ reject: new TypeError('boom') }] });
    const actor = await runTo(machine, 'error');
    expect(actor.getSnapshot().context.errorReason).toBe('fatal');
    expect(actor.getSnapshot().context.lastError).toMatchObject({ kind: 'fatal', message: 'boom', at: T0 });
  });

  it('fails loudly into error when an actor was never provided', async () => {
    const actor = createActor(connectionMachine, { input }).start();
    actor.send(syncRequested);
    await waitFor(actor, (s) => s.value === 'error');
    expect(actor.getSnapshot().context.lastError?.message).toMatch(/fetchPhase actor not provided/);
  });
});

describe('cycle', () => {
  it("fixes the window's upper bound at the caller's windowTo, not at the request's now", () => {
    const { machine, calls } = scripted();
    const actor = createActor(machine, { input }).start();
    const windowTo = '2025-01-06T08:55:00.000Z';
    actor.send({ ...syncRequested, windowTo });
    expect(actor.getSnapshot().context.cycle?.window).toEqual({ from: input.cursor, to: windowTo });
    expect(calls).toMatchObject([
      { id: 'fetchPhase', input: { window: { from: input.cursor, to: windowTo } } },
    ]);
    actor.stop();
  });

  it('moves the cursors only when the audit succeeds, to what it returned', async () => {
    const { machine } = scripted(structuredClone(scriptsTo.idle));
    const actor = createActor(machine, { input }).start();
    const cursors: unknown[] = [];
    actor.subscribe((s) => cursors.push([s.value, s.context.cursor, s.context.localCursor]));
    actor.send(syncRequested);
    await waitFor(actor, (s) => s.value === 'idle');
    expect(cursors).toEqual([
      ['fetching', input.cursor, 7],
      ['reconciling', input.cursor, 7],
      ['pushing', input.cursor, 7],
      ['auditing', input.cursor, 7],
      ['idle', audited.cursor, 12],
    ]);
    expect(actor.getSnapshot().context).toMatchObject({
      cycle: null,
      attempt: 0,
      lastError: null,
      lastAudit: {
        cycleId: 'cycle-1',
        startedAt: T0,
        finishedAt: audited.finishedAt,
        counts: {
          pages: 1,
          fetched: 3,
          quarantined: 1,
          upserts: 3,
          plannedWrites: 2,
          conflicts: 1,
          sent: 2,
          deferred: 0,
        },
      },
    });
  });
});
