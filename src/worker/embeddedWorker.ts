import { setMaxListeners } from 'node:events';
import { NonRetriableError } from 'inngest';
import {
  abandonConnectionRun,
  type ConnectionProgress,
  driveConnection,
  type SyncSteps,
} from '../inngest/driveConnection.ts';
import {
  DEFAULT_DUE_LIMIT,
  type DueConnection,
  dueHorizon,
  nextTickMs,
  selectDue,
} from '../inngest/dueSelection.ts';
import { PROVIDER_CONCURRENCY, STEP_BUDGET_MS } from '../inngest/functions/syncConnection.ts';
import type { RunnerDeps } from '../runner/connectionRunner.ts';
import { keyedSlots } from './providerSlots.ts';

/**
 * The embedded mode: one process, no Inngest server. Every tick it runs the same due selection as the
 * `schedule-tick` function and, for each due connection, the same `driveConnection` as the `sync-connection`
 * function, in-process and concurrently. Leases keep it exclusive against any other worker on the database;
 * an in-process set plays the part of Inngest's singleton, per-provider slots that of its concurrency: as under
 * Inngest, a slot is held for a step, not a run, so a run sleeping in backoff or handing a long phase over holds
 * none. A slot held for a whole run let ten long first loads of one provider (a first push to agentOS takes a day)
 * starve every other agency on that provider, skipped at each tick without a word.
 */

export interface EmbeddedWorkerOptions {
  /** Milliseconds between ticks; 60,000 (the cron's minute) by default. */
  tickMs?: number;
  /** Connections selected per tick at most; `DEFAULT_DUE_LIMIT` by default. */
  dueLimit?: number;
  /** Steps running at once per provider; `PROVIDER_CONCURRENCY` by default. */
  providerConcurrency?: number;
  /** How long a phase step runs before it hands over to the next step (`SyncSteps`); `STEP_BUDGET_MS` by default. */
  stepBudgetMs?: number;
  /**
   * Receives one line per finished run and per notable event, with its severity (`info` when left out); stderr at
   * the CLI, filtered by `LOG_LEVEL`.
   */
  log: (line: string, severity?: Severity) => void;
}

/** A report (`info`), a run that ended in error or failed (`warn`), the worker's own failure (`error`). */
export type Severity = 'info' | 'warn' | 'error';

/** How one run of one connection ended. */
export interface RunReport {
  connection: DueConnection;
  /** Where the machine stands after the run; `null` when the run failed before reading it. */
  progress: ConnectionProgress | null;
  /** Steps the run executed. */
  steps: number;
  /** Why the run ended early: the worker stopping, a long backoff handed to a later tick, a failure. */
  interrupted: { kind: 'stopping' | 'deferred' | 'failed'; message: string } | null;
}

export interface EmbeddedWorker {
  /** Starts ticking: one tick now, then one every `tickMs`. */
  start(): void;
  /** One tick now: starts a run for each due connection not already running; resolves once they started. */
  tick(): Promise<{ selected: number; started: DueConnection[] }>;
  /** Resolves with the reports of every run in flight, once they have all ended. */
  drain(): Promise<RunReport[]>;
  /**
   * Stops picking up work: no new tick, no new step; a backoff sleep ends at once. Runs finish the step they
   * are in, for at most `graceMs`; a run still in a step after that is abandoned where it stands (its last
   * persisted snapshot and its lease let the next worker resume it). Resolves with how many were abandoned.
   */
  stop(params?: { graceMs?: number }): Promise<{ abandoned: number }>;
  /** Connection ids of the runs in flight. */
  running(): string[];
}

/** Thrown by the worker's steps to end a run early; not an error of the run. */
class Interrupt extends Error {
  override readonly name = 'Interrupt';
  constructor(
    readonly kind: 'stopping' | 'deferred',
    message: string,
  ) {
    super(message);
  }
}

export function createEmbeddedWorker(deps: RunnerDeps, options: EmbeddedWorkerOptions): EmbeddedWorker {
  const tickMs = options.tickMs ?? 60_000;
  const limit = options.dueLimit ?? DEFAULT_DUE_LIMIT;
  const stepBudgetMs = options.stepBudgetMs ?? STEP_BUDGET_MS;
  const stopping = new AbortController();
  // Every run sleeping in backoff listens to it (one CRM down across agencies): more than Node's default of 10 is
  // no leak, and not to be warned of.
  setMaxListeners(0, stopping.signal);
  const slots = keyedSlots(options.providerConcurrency ?? PROVIDER_CONCURRENCY, stopping.signal);
  const inFlight = new Map<string, { connection: DueConnection; report: Promise<RunReport> }>();
  let timer: NodeJS.Timeout | null = null;
  let ticking: Promise<unknown> = Promise.resolve();
  let notStarted = 0;

  // A tick never rejects: nothing awaits the timer's ticks, and an unhandled rejection would end the
  // worker. Whatever failed is logged; the connections are still due on the next tick.
  const tick = async (): Promise<{ selected: number; started: DueConnection[] }> => {
    try {
      return await selectAndStart();
    } catch (error) {
      options.log(`tick failed: ${error instanceof Error ? error.message : String(error)}`, 'error');
      return { selected: 0, started: [] };
    }
  };

  const selectAndStart = async () => {
    if (stopping.signal.aborted) return { selected: 0, started: [] };
    const now = deps.clock();
    const due = await selectDue(deps.store, { now, limit, tickMs });
    if (!due.ok) {
      options.log(`tick: selecting due connections failed: ${due.error.message}`, 'error');
      return { selected: 0, started: [] };
    }
    const started: DueConnection[] = [];
    const dueBefore = dueHorizon(now, tickMs);
    for (const connection of due.value) {
      if (stopping.signal.aborted) break;
      if (inFlight.has(connection.connectionId)) continue;
      const report = runOne(connection, dueBefore).then((r) => {
        inFlight.delete(connection.connectionId);
        // A run still waiting for its provider's slot when the worker stopped did nothing: counted in one line.
        if (r.steps === 0 && r.interrupted?.kind === 'stopping') notStarted += 1;
        else {
          const failed = r.progress?.state === 'error' || r.interrupted?.kind === 'failed';
          options.log(formatReport(r), failed ? 'warn' : 'info');
        }
        return r;
      });
      inFlight.set(connection.connectionId, { connection, report });
      started.push(connection);
    }
    return { selected: due.value.length, started };
  };

  const runOne = async (connection: DueConnection, dueBefore: Date): Promise<RunReport> => {
    const ref = { tenantId: connection.tenantId, connectionId: connection.connectionId };
    let steps = 0;
    let last: ConnectionProgress | null = null;
    const tools: SyncSteps = {
      run: async (id, fn) => {
        const release = await slots.acquire(connection.provider);
        // A slot granted as the worker began stopping is given back unused.
        if (release === null || stopping.signal.aborted) {
          release?.();
          throw new Interrupt('stopping', `stopped before step ${id}`);
        }
        try {
          steps += 1;
          last = await fn();
          return last;
        } finally {
          release();
        }
      },
      sleepUntil: async (id, until) => {
        const wait = Date.parse(until) - deps.clock().getTime();
        // A wait beyond the next tick is the tick's job: the runner set the next run to `resumeAt`.
        if (wait > tickMs) throw new Interrupt('deferred', `backoff until ${until}; a later tick resumes it`);
        await sleep(Math.max(0, wait), stopping.signal);
        if (stopping.signal.aborted) throw new Interrupt('stopping', `stopped during ${id}`);
      },
      // No retries in-process: a lease still held ends the run; the next tick tries again.
      finalAttempt: true,
      stepBudgetMs,
      dueBefore,
    };
    try {
      const progress = await driveConnection(deps, ref, tools);
      return { connection, progress, steps, interrupted: null };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // A step cut short because the process is stopping (`RunnerDeps.stopping`) is left for the next run.
      if (error instanceof Interrupt || deps.stopping?.aborted) {
        return {
          connection,
          progress: last,
          steps,
          interrupted: { kind: error instanceof Interrupt ? error.kind : 'stopping', message },
        };
      }
      if (error instanceof NonRetriableError) {
        // As the Inngest function's onFailure does: a machine left mid-cycle stops in error, with its audit.
        await abandonConnectionRun(deps, ref, {
          runId: `worker:${connection.connectionId}:${connection.slot}`,
          message,
          startedAt: deps.clock(),
        }).catch((abandonError: unknown) =>
          options.log(
            `abandoning connection ${connection.connectionId} failed: ${abandonError instanceof Error ? abandonError.message : String(abandonError)}`,
            'error',
          ),
        );
      }
      return { connection, progress: last, steps, interrupted: { kind: 'failed', message } };
    }
  };

  // Ticks fall on whole multiples of `tickMs` (`nextTickMs`), as the cron's on each minute's start.
  const schedule = () => {
    const now = deps.clock();
    timer = setTimeout(() => {
      ticking = tick().finally(() => {
        if (!stopping.signal.aborted) schedule();
      });
    }, nextTickMs(now, tickMs) - now.getTime());
  };

  return {
    start: () => {
      ticking = tick().finally(() => {
        if (!stopping.signal.aborted) schedule();
      });
    },
    tick: () => {
      const next = tick();
      ticking = next;
      return next;
    },
    drain: async () => Promise.all([...inFlight.values()].map((run) => run.report)),
    stop: async ({ graceMs = 30_000 } = {}) => {
      stopping.abort();
      if (timer !== null) clearTimeout(timer);
      await ticking.catch(() => undefined);
      const all = Promise.all([...inFlight.values()].map((run) => run.report));
      const finished = await Promise.race([all.then(() => true), sleep(graceMs).then(() => false)]);
      if (notStarted > 0)
        options.log(
          `${notStarted} run(s) waiting for their provider's slot not started; due at the next tick`,
        );
      return { abandoned: finished ? 0 : inFlight.size };
    },
    running: () => [...inFlight.keys()],
  };
}

/** One line per run: tenant, provider, connection, resulting state, and what the cycle did. */
export function formatReport(report: RunReport): string {
  const { connection, progress, steps, interrupted } = report;
  const parts = [
    `tenant=${connection.tenantId}`,
    `provider=${connection.provider}`,
    `connection=${connection.connectionId}`,
    `state=${progress?.state ?? 'unknown'}`,
    `steps=${steps}`,
  ];
  if (progress?.stopped) parts.push(`stopped=${progress.stopped}`);
  if (progress?.state === 'idle' && progress.lastAudit !== null && steps > 1) {
    const { fetched, upserts, sent } = progress.lastAudit.counts;
    parts.push(`fetched=${fetched} upserts=${upserts} sent=${sent}`);
  }
  if (progress?.state === 'error' && progress.lastError !== null) {
    parts.push(
      `reason=${progress.errorReason ?? 'fatal'} error=${JSON.stringify(progress.lastError.message)}`,
    );
  }
  if (interrupted !== null) parts.push(`${interrupted.kind}=${JSON.stringify(interrupted.message)}`);
  return `run ${parts.join(' ')}`;
}

/** Resolves after `ms`, or at once when `signal` aborts; never keeps the process alive on its own. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
