import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_BACKOFF } from '../../src/core/backoff.ts';
import type { ConnectionContext, ConnectionState } from '../../src/machines/connectionContext.ts';
import { phaseActorIds, phaseSchema } from '../../src/machines/phases.ts';
import { abstractState, type Coverage, type ModelPath, type ModelStep } from './paths.ts';

/** What a driver reports after each step: the connection as last persisted. */
export interface ObservedConnection {
  value: ConnectionState;
  context: ConnectionContext;
}

export type ActionStep = Exclude<ModelStep, { kind: 'crash' }>;
export type CrashStep = Extract<ModelStep, { kind: 'crash' }>;

/**
 * Executes generated paths against one system: the pure fakes (pureDriver.ts) or the real store and
 * provider simulators. A driver owns everything a step touches; `runPath` owns the checking.
 */
export interface ModelDriver {
  /** A fresh system with one connection created from `path.input`, in `idle`. */
  start(path: ModelPath): Promise<void>;
  /**
   * `command`: send the event. `phase`: arrange the outcome of the phase actor now running (or about to
   * run) for `step.actorId`, then wait until the machine has taken the resulting transition.
   */
  apply(step: ActionStep): Promise<void>;
  /** Drop the actor and everything in memory; restore from the persisted snapshot; continue. */
  crash(step: CrashStep): Promise<void>;
  /** The connection as persisted now (read back and validated, not the live actor's memory). */
  observe(): Promise<ObservedConnection>;
  /** Checks only this system can make (store and provider agree with the context). Throw to fail. */
  assertInvariants(check: {
    before: ObservedConnection;
    after: ObservedConnection;
    step: ModelStep;
  }): Promise<void>;
  stop(): Promise<void>;
}

/** Runs one path, checking after every step the expected state, the context invariants and the driver's own. */
export async function runPath(path: ModelPath, driver: ModelDriver, coverage: Coverage): Promise<void> {
  await driver.start(path);
  try {
    let before = await driver.observe();
    for (const [index, step] of path.steps.entries()) {
      const where = `step ${index + 1} (${step.label}) of: ${path.description}`;
      if (step.kind === 'crash') await driver.crash(step);
      else await driver.apply(step);
      const after = await driver.observe();

      if (step.kind === 'crash') {
        if (!isDeepStrictEqual(after, before)) throw new Error(`restore changed the connection at ${where}`);
        coverage.recordCrash(before.value, step.point);
      } else {
        const reached = abstractState(after);
        if (reached !== step.expected)
          throw new Error(`reached ${reached}, expected ${step.expected} at ${where}`);
        coverage.recordTransition(coverage.keyOf(before, step.label, after));
      }
      const violations = contextViolations(before, after, step);
      if (violations.length > 0) throw new Error(`${violations.join('; ')} at ${where}`);
      await driver.assertInvariants({ before, after, step });
      before = after;
    }
  } finally {
    await driver.stop();
  }
}

/** Invariants of the context that hold for any correct system, whatever its actors returned. */
export function contextViolations(
  before: ObservedConnection,
  after: ObservedConnection,
  step: ModelStep,
): string[] {
  const problems: string[] = [];
  const check = (holds: boolean, problem: string) => {
    if (!holds) problems.push(problem);
  };
  const { value } = after;
  const ctx = after.context;
  const failure = step.kind === 'phase' && !step.outcome.ok ? step.outcome.failure : null;

  check((value === 'idle') === (ctx.cycle === null), `cycle must be null exactly in idle (${value})`);
  check(value !== 'idle' || ctx.attempt === 0, 'attempt must reset once a cycle completes');
  check(ctx.attempt < DEFAULT_BACKOFF.maxAttempts, `attempt ${ctx.attempt} beyond the maximum`);
  check((value === 'backoff') === (ctx.resumeAt !== null), 'resumeAt must be set exactly in backoff');
  check((value === 'error') === (ctx.errorReason !== null), 'errorReason must be set exactly in error');
  check(
    (value === 'backoff' || value === 'error') === (ctx.resumePhase !== null),
    'resumePhase must be set exactly in backoff and error',
  );
  if (value === 'backoff' || value === 'error')
    check(ctx.lastError !== null, `lastError must be set in ${value}`);

  const cursorMoved =
    !isDeepStrictEqual(before.context.cursor, ctx.cursor) || before.context.localCursor !== ctx.localCursor;
  const auditSucceeded = before.value === 'auditing' && value === 'idle';
  check(!cursorMoved || auditSucceeded, 'cursors may move only when the audit succeeds');

  if (before.context.cycle !== null && ctx.cycle !== null) {
    check(before.context.cycle.cycleId === ctx.cycle.cycleId, 'a cycle must not be replaced mid-way');
    check(isDeepStrictEqual(before.context.cycle.window, ctx.cycle.window), 'the window must stay fixed');
    check(ctx.cycle.fetch.pages >= before.context.cycle.fetch.pages, 'the page checkpoint must not go back');
  }
  if (step.kind === 'command' && step.event.type === 'sync.requested' && before.value === 'idle') {
    check(
      isDeepStrictEqual(ctx.cycle?.window, { from: before.context.cursor, to: step.event.windowTo }),
      'the window must run from the committed cursor to windowTo',
    );
  }
  const abandoned = step.kind === 'command' && step.event.type === 'sync.abandoned';
  if ((before.value === 'backoff' || before.value === 'error') && value !== before.value && !abandoned) {
    check(
      value === before.context.resumePhase,
      `must resume into ${before.context.resumePhase}, not ${value}`,
    );
  }
  if (abandoned && before.value !== 'idle' && before.value !== 'error') {
    const phase = before.value === 'backoff' ? before.context.resumePhase : before.value;
    check(
      value === 'error' && ctx.errorReason === 'fatal' && ctx.lastError?.phase === phase,
      `an abandoned cycle must stop in error as a fatal failure of ${phase}`,
    );
  }
  if (failure !== null && (value === 'backoff' || value === 'error')) {
    check(
      ctx.lastError?.kind === failure.kind && ctx.lastError.phase === phaseOf(step),
      'lastError must record the failure',
    );
  }
  check(value !== 'idle' || ctx.lastError === null, 'lastError must be cleared once a cycle completes');
  if (failure !== null && value === 'backoff' && ctx.resumeAt !== null) {
    const resumeAt = Date.parse(ctx.resumeAt);
    const failedAt = Date.parse(failure.at);
    check(resumeAt > failedAt, 'resumeAt must lie after the failure');
    if (failure.kind === 'transient' || failure.kind === 'rate_limited') {
      // Exponential with equal jitter: retry n waits between half and all of min(cap, base * 2^(n-1)),
      // or the provider's wait when that is longer. So the wait grows with the attempt.
      const { baseMs, capMs } = DEFAULT_BACKOFF;
      const exponential = Math.min(capMs, baseMs * 2 ** (ctx.attempt - 1));
      const asked = failure.retryAfterMs ?? 0;
      const floor = Math.max(exponential / 2, asked);
      const ceiling = Math.max(exponential, asked);
      check(
        resumeAt - failedAt >= Math.floor(floor) && resumeAt - failedAt <= Math.ceil(ceiling),
        `retry ${ctx.attempt} must wait between ${floor} and ${ceiling} ms, not ${resumeAt - failedAt}`,
      );
    }
    if (failure.kind === 'rate_limited') {
      check(resumeAt >= failedAt + failure.retryAfterMs, "resumeAt must honour the provider's wait");
    }
    if (failure.kind === 'quota_exhausted') {
      check(resumeAt >= Date.parse(failure.resumeAt), 'resumeAt must not precede the quota reset');
    }
  }
  return problems;
}

function phaseOf(step: ModelStep) {
  if (step.kind !== 'phase') return null;
  return phaseSchema.options.find((phase) => phaseActorIds[phase] === step.actorId) ?? null;
}
