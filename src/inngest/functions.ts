import type { Inngest } from 'inngest';
import type { RunnerDeps } from '../runner/connectionRunner.ts';
import { createScheduleTick, type ScheduleTickOptions } from './functions/scheduleTick.ts';
import { createSyncConnection, type SyncConnectionOptions } from './functions/syncConnection.ts';

export type SchedulingOptions = ScheduleTickOptions & SyncConnectionOptions;

/**
 * Both Inngest functions of crm-sync, built over the runner's dependencies (the composition root's, or a
 * test's in-memory store): the minute tick that fans out due connections, and the per-connection run.
 */
export function createFunctions(client: Inngest, deps: RunnerDeps, options: SchedulingOptions = {}) {
  return [createScheduleTick(client, deps, options), createSyncConnection(client, deps, options)] as const;
}
