import type { Inngest } from 'inngest';
import { z } from 'zod';
import type { RunnerDeps } from '../../runner/connectionRunner.ts';
import { connectionSyncDue, connectionSyncDueSchema } from '../client.ts';
import {
  abandonConnectionRun,
  type ConnectionProgress,
  driveConnection,
  machineStoppedError,
} from '../driveConnection.ts';

const stampedEventSchema = z.looseObject({ ts: z.number().int().positive() });

/** Step retries per step; after the last one, `onFailure` stops the machine in `error`. */
export const SYNC_RETRIES = 4;
/** Steps running at once per provider across all connections (sleeping runs do not count). */
export const PROVIDER_CONCURRENCY = 10;

/**
 * How long one phase step runs before it hands over to the next step of its phase. Inngest allows a step two hours
 * at most (its usage limits) and ends the request then, while a first push of 100,000 contacts to agentOS (50
 * requests a minute) takes about 33 hours and a first reconcile of 1,000,000 about one: well inside the bound, and
 * long enough that the hand-overs cost nothing to speak of (one step, one lease and one snapshot read each).
 */
export const STEP_BUDGET_MS = 10 * 60_000;

export interface SyncConnectionOptions {
  /** Per-provider concurrency; `PROVIDER_CONCURRENCY` by default. */
  providerConcurrency?: number;
  /** A phase step's budget; `STEP_BUDGET_MS` by default. */
  stepBudgetMs?: number;
}

/**
 * `sync-connection`: one run per due event. A singleton per connection (a run still going makes the new
 * one skip), and at most `providerConcurrency` steps at once per provider. The run drives the machine one
 * phase per step (`driveConnection`); backoff sleeps until `resumeAt`; a machine that stops in `error`
 * (authentication failed, attempts exhausted) ends the run with a `NonRetriableError`. When the run fails
 * for good, `onFailure` puts a machine left mid-cycle in `error` with an audit entry.
 */
export function createSyncConnection(client: Inngest, deps: RunnerDeps, options: SyncConnectionOptions = {}) {
  return client.createFunction(
    {
      id: 'sync-connection',
      name: 'Sync one CRM connection',
      triggers: [connectionSyncDue],
      singleton: { key: 'event.data.connectionId', mode: 'skip' },
      concurrency: [
        { key: 'event.data.provider', limit: options.providerConcurrency ?? PROVIDER_CONCURRENCY },
      ],
      retries: SYNC_RETRIES,
      onFailure: async ({ event, error, step }) => {
        const original = connectionSyncDueSchema.safeParse(event.data.event.data);
        if (!original.success) return { state: 'unknown' as const };
        const { tenantId, connectionId } = original.data;
        const failureStamp = stampedEventSchema.safeParse(event);
        return step.run('abandon', () =>
          abandonConnectionRun(
            deps,
            { tenantId, connectionId },
            {
              runId: event.data.run_id,
              message: error.message,
              startedAt: new Date(event.data.event.ts ?? deps.clock().getTime()),
              // When the failure was reported (Inngest stamps every event, its types leave `ts` out of this one):
              // a cycle begun after it is a newer run's.
              ...(failureStamp.success ? { failedAt: new Date(failureStamp.data.ts) } : {}),
            },
          ),
        );
      },
    },
    async ({ event, step, attempt }): Promise<ConnectionProgress> => {
      const { tenantId, connectionId } = event.data;
      const progress = await driveConnection(
        deps,
        { tenantId, connectionId },
        {
          run: (id, fn) => step.run(id, fn),
          sleepUntil: async (id, until) => {
            await step.sleepUntil(id, until);
          },
          finalAttempt: attempt >= SYNC_RETRIES,
          // A database failover outlasting the retries, or a deploy stopping the process on the last one, must
          // not park every mid-cycle machine in error.
          interruptedOnFinalAttempt: 'stop',
          stepBudgetMs: options.stepBudgetMs ?? STEP_BUDGET_MS,
        },
      );
      if (progress.state === 'error' && progress.stopped === null) throw machineStoppedError(progress);
      return progress;
    },
  );
}
