import { and, assign, fromPromise, setup } from 'xstate';
import { addMs, backoffDelayMs, DEFAULT_BACKOFF, laterOf } from '../core/backoff.ts';
import {
  type ConnectionCommand,
  type ConnectionContext,
  type ConnectionInput,
  type Cycle,
  cycleCounts,
  type ErrorReason,
  type LastError,
} from './connectionContext.ts';
import {
  type AuditPhaseInput,
  type AuditPhaseOutput,
  type ConnectionRef,
  type FetchPhaseInput,
  type FetchPhaseOutput,
  type Phase,
  type PhaseFailure,
  type PushPhaseInput,
  type PushPhaseOutput,
  phaseSchema,
  type ReconcilePhaseInput,
  type ReconcilePhaseOutput,
  toPhaseFailure,
} from './phases.ts';

/**
 * Version of the persisted snapshot shape (states, context, invoke ids). Bump it on any change that an
 * older snapshot would not satisfy; persisted snapshots of another version are refused, not guessed at.
 */
export const CONNECTION_MACHINE_VERSION = 1;

/** Placeholder logic: the composition root must `provide` the real actor; running without one is a bug. */
function notProvided<TOutput, TInput>(id: string) {
  return fromPromise<TOutput, TInput>(async () => {
    throw new Error(`${id} actor not provided: build the machine with connectionMachine.provide({ actors })`);
  });
}

function activeCycle(context: ConnectionContext): Cycle {
  if (context.cycle === null)
    throw new Error(`connection ${context.connectionId}: phase entered without a cycle`);
  return context.cycle;
}

function connectionRef(context: ConnectionContext): ConnectionRef {
  return { connectionId: context.connectionId, tenantId: context.tenantId, provider: context.provider };
}

function failureOf(context: ConnectionContext, error: unknown): PhaseFailure {
  return toPhaseFailure(error, activeCycle(context).startedAt);
}

function recordError(failure: PhaseFailure, phase: Phase): LastError {
  return {
    kind: failure.kind,
    message: failure.message,
    status: failure.status ?? null,
    phase,
    at: failure.at,
  };
}

const isRetryableKind = (failure: PhaseFailure) =>
  failure.kind === 'transient' || failure.kind === 'rate_limited';

/** Only reached for retryable kinds once attempts ran out; quota exhaustion never halts. */
function haltReason(failure: PhaseFailure): ErrorReason {
  if (isRetryableKind(failure)) return 'attempts_exhausted';
  return failure.kind === 'auth_failed' ? 'auth_failed' : 'fatal';
}

/** A phase's rejection, read once per transition and handed to guards and actions as params. */
interface FailureParams {
  phase: Phase;
  failure: PhaseFailure;
}

/**
 * The input each phase's actor is invoked with, from the context its state was entered with (the context does
 * not change while a phase runs). Restoring a snapshot checks its persisted input against this.
 */
export const phaseInputs = {
  fetching: (context: ConnectionContext): FetchPhaseInput => {
    const cycle = activeCycle(context);
    return {
      connection: connectionRef(context),
      cycleId: cycle.cycleId,
      window: cycle.window,
      pageToken: cycle.fetch.pageToken,
      page: cycle.fetch.pages,
      localCursor: context.localCursor,
    };
  },
  reconciling: (context: ConnectionContext): ReconcilePhaseInput => {
    const cycle = activeCycle(context);
    return {
      connection: connectionRef(context),
      cycleId: cycle.cycleId,
      window: cycle.window,
      localCursor: context.localCursor,
    };
  },
  pushing: (context: ConnectionContext): PushPhaseInput => ({
    connection: connectionRef(context),
    cycleId: activeCycle(context).cycleId,
  }),
  auditing: (context: ConnectionContext): AuditPhaseInput => {
    const cycle = activeCycle(context);
    return {
      connection: connectionRef(context),
      cycleId: cycle.cycleId,
      startedAt: cycle.startedAt,
      window: cycle.window,
      cursor: context.cursor,
      localCursor: context.localCursor,
      counts: cycleCounts(cycle),
    };
  },
} as const satisfies Record<Phase, (context: ConnectionContext) => unknown>;

/** The transitions every phase takes when its actor rejects: park, retry later, or stop in `error`. */
function onPhaseError(phase: Phase) {
  const params = ({
    context,
    event,
  }: {
    context: ConnectionContext;
    event: { error: unknown };
  }): FailureParams => ({
    phase,
    failure: failureOf(context, event.error),
  });
  return [
    {
      guard: { type: 'isQuotaExhausted', params },
      target: 'backoff',
      actions: { type: 'parkUntilReset', params },
    },
    { guard: { type: 'canRetry', params }, target: 'backoff', actions: { type: 'scheduleRetry', params } },
    { target: 'error', actions: { type: 'halt', params } },
  ] as const;
}

/** The phase `backoff` waits to resume; set whenever the machine is in `backoff`. */
function waitingPhase(context: ConnectionContext): Phase {
  if (context.resumePhase === null)
    throw new Error(`connection ${context.connectionId}: backoff without a phase to resume`);
  return context.resumePhase;
}

/**
 * `sync.abandoned`: the scheduler gave up on the cycle. The phase in progress (`null`: the one `backoff` waits
 * to resume) fails as `fatal`, so the machine stops in `error` exactly as if its actor had rejected.
 */
function onAbandoned(phase: Phase | null) {
  return {
    target: 'error',
    actions: {
      type: 'halt',
      params: ({
        context,
        event,
      }: {
        context: ConnectionContext;
        event: { message: string; at: string };
      }): FailureParams => ({
        phase: phase ?? waitingPhase(context),
        failure: { kind: 'fatal', message: event.message, at: event.at },
      }),
    },
  } as const;
}

/** `backoff` and `error` return to the phase that failed (`resumePhase`), the same cycle and window. */
function toResumePhase<TGuard>(guardFor: (phase: Phase) => TGuard, actions: 'leaveBackoff' | 'leaveError') {
  return phaseSchema.options.map((phase) => ({ guard: guardFor(phase), target: phase, actions }));
}

/**
 * The lifecycle of one connection (tenant x provider). No IO and no timers here: each phase invokes an
 * injected actor, backoff is `resumeAt` in context, and time arrives as event data. See ARCHITECTURE.md.
 */
export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    input: {} as ConnectionInput,
    events: {} as ConnectionCommand,
  },
  actors: {
    fetchPhase: notProvided<FetchPhaseOutput, FetchPhaseInput>('fetchPhase'),
    reconcilePhase: notProvided<ReconcilePhaseOutput, ReconcilePhaseInput>('reconcilePhase'),
    pushPhase: notProvided<PushPhaseOutput, PushPhaseInput>('pushPhase'),
    auditPhase: notProvided<AuditPhaseOutput, AuditPhaseInput>('auditPhase'),
  },
  guards: {
    hasMorePages: (_, params: { output: FetchPhaseOutput }) => params.output.nextPageToken !== null,
    isQuotaExhausted: (_, { failure }: FailureParams) => failure.kind === 'quota_exhausted',
    canRetry: ({ context }, { failure }: FailureParams) =>
      isRetryableKind(failure) && context.attempt + 1 < DEFAULT_BACKOFF.maxAttempts,
    resumeDue: ({ context }, params: { phase: Phase; now: string }) =>
      context.resumePhase === params.phase &&
      context.resumeAt !== null &&
      Date.parse(context.resumeAt) <= Date.parse(params.now),
    resumesTo: ({ context }, params: { phase: Phase }) => context.resumePhase === params.phase,
    isAuthFailure: ({ context }) => context.errorReason === 'auth_failed',
  },
  actions: {
    startCycle: assign(({ context }, request: { now: string; cycleId: string; windowTo: string }) => ({
      cycle: {
        cycleId: request.cycleId,
        startedAt: request.now,
        // The lower bound is the committed cursor as stored, inclusive; the upper bound is the caller's.
        window: { from: context.cursor, to: request.windowTo },
        fetch: { pageToken: null, pages: 0, records: 0, quarantined: 0 },
        reconcile: null,
        push: null,
      },
      attempt: 0,
      lastError: null,
    })),
    recordPage: assign(({ context }, params: { output: FetchPhaseOutput }) => {
      const cycle = activeCycle(context);
      const { output } = params;
      return {
        attempt: 0,
        cycle: {
          ...cycle,
          fetch: {
            pageToken: output.nextPageToken,
            pages: cycle.fetch.pages + 1,
            records: cycle.fetch.records + output.records,
            quarantined: cycle.fetch.quarantined + output.quarantined,
          },
        },
      };
    }),
    recordReconcile: assign(({ context }, params: { output: ReconcilePhaseOutput }) => ({
      attempt: 0,
      cycle: { ...activeCycle(context), reconcile: params.output },
    })),
    recordPush: assign(({ context }, params: { output: PushPhaseOutput }) => ({
      attempt: 0,
      cycle: { ...activeCycle(context), push: params.output },
    })),
    completeCycle: assign(({ context }, params: { output: AuditPhaseOutput }) => {
      const cycle = activeCycle(context);
      return {
        // The only place the committed cursors change: to what the audit transaction committed.
        cursor: params.output.cursor,
        localCursor: params.output.localCursor,
        lastAudit: {
          cycleId: cycle.cycleId,
          startedAt: cycle.startedAt,
          finishedAt: params.output.finishedAt,
          counts: cycleCounts(cycle),
        },
        cycle: null,
        attempt: 0,
        lastError: null,
      };
    }),
    parkUntilReset: assign((_, { phase, failure }: FailureParams) => {
      if (failure.kind !== 'quota_exhausted') return {};
      // Quota exhaustion is not the work failing, so it spends no attempt; it waits for the reset.
      return {
        resumeAt: laterOf(failure.resumeAt, failure.at),
        resumePhase: phase,
        lastError: recordError(failure, phase),
      };
    }),
    scheduleRetry: assign(({ context }, { phase, failure }: FailureParams) => {
      const attempt = context.attempt + 1;
      const delay = backoffDelayMs({
        attempt,
        seed: `${activeCycle(context).cycleId}:${phase}:${attempt}`,
        retryAfterMs:
          failure.kind === 'rate_limited' || failure.kind === 'transient' ? failure.retryAfterMs : undefined,
      });
      return {
        attempt,
        resumeAt: addMs(failure.at, delay),
        resumePhase: phase,
        lastError: recordError(failure, phase),
      };
    }),
    halt: assign((_, { phase, failure }: FailureParams) => ({
      errorReason: haltReason(failure),
      resumePhase: phase,
      resumeAt: null,
      lastError: recordError(failure, phase),
    })),
    leaveBackoff: assign({ resumeAt: null, resumePhase: null }),
    leaveError: assign({ attempt: 0, errorReason: null, resumePhase: null }),
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    ...input,
    cycle: null,
    attempt: 0,
    resumeAt: null,
    resumePhase: null,
    lastError: null,
    errorReason: null,
    lastAudit: null,
  }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        'sync.requested': {
          target: 'fetching',
          actions: { type: 'startCycle', params: ({ event }) => event },
        },
      },
    },
    fetching: {
      invoke: {
        id: 'fetchPhase',
        src: 'fetchPhase',
        input: ({ context }) => phaseInputs.fetching(context),
        onDone: [
          {
            guard: { type: 'hasMorePages', params: ({ event }) => ({ output: event.output }) },
            // Re-entering restarts the invoke for the next page; each page is its own persisted step.
            target: 'fetching',
            reenter: true,
            actions: { type: 'recordPage', params: ({ event }) => ({ output: event.output }) },
          },
          {
            target: 'reconciling',
            actions: { type: 'recordPage', params: ({ event }) => ({ output: event.output }) },
          },
        ],
        onError: onPhaseError('fetching'),
      },
      on: { 'sync.abandoned': onAbandoned('fetching') },
    },
    reconciling: {
      invoke: {
        id: 'reconcilePhase',
        src: 'reconcilePhase',
        input: ({ context }) => phaseInputs.reconciling(context),
        onDone: {
          target: 'pushing',
          actions: { type: 'recordReconcile', params: ({ event }) => ({ output: event.output }) },
        },
        onError: onPhaseError('reconciling'),
      },
      on: { 'sync.abandoned': onAbandoned('reconciling') },
    },
    pushing: {
      invoke: {
        id: 'pushPhase',
        src: 'pushPhase',
        input: ({ context }) => phaseInputs.pushing(context),
        onDone: {
          target: 'auditing',
          actions: { type: 'recordPush', params: ({ event }) => ({ output: event.output }) },
        },
        onError: onPhaseError('pushing'),
      },
      on: { 'sync.abandoned': onAbandoned('pushing') },
    },
    auditing: {
      invoke: {
        id: 'auditPhase',
        src: 'auditPhase',
        input: ({ context }) => phaseInputs.auditing(context),
        onDone: {
          target: 'idle',
          actions: { type: 'completeCycle', params: ({ event }) => ({ output: event.output }) },
        },
        onError: onPhaseError('auditing'),
      },
      on: { 'sync.abandoned': onAbandoned('auditing') },
    },
    backoff: {
      on: {
        'sync.abandoned': onAbandoned(null),
        'sync.resume': toResumePhase(
          (phase) =>
            ({
              type: 'resumeDue',
              params: ({ event }: { event: { now: string } }) => ({ phase, now: event.now }),
            }) as const,
          'leaveBackoff',
        ),
      },
    },
    error: {
      on: {
        'retry.requested': toResumePhase(
          (phase) => ({ type: 'resumesTo', params: { phase } }) as const,
          'leaveError',
        ),
        'credentials.updated': toResumePhase(
          (phase) => and(['isAuthFailure', { type: 'resumesTo', params: { phase } }]),
          'leaveError',
        ),
      },
    },
  },
});
