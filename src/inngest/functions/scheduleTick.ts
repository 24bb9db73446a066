import { cron, type Inngest, RetryAfterError } from 'inngest';
import type { RunnerDeps } from '../../runner/connectionRunner.ts';
import { connectionSyncDue } from '../client.ts';
import { STORE_RETRY_MS } from '../driveConnection.ts';
import { DEFAULT_DUE_LIMIT, type DueConnection, dueEventId, selectDue } from '../dueSelection.ts';

/** The tick runs every minute; each tenant's interval decides which connections it selects. */
export const TICK_CRON = '* * * * *';
/** Events per `step.sendEvent`: 500 events of about 200 bytes stay far below Inngest's request limit. */
export const FAN_OUT_CHUNK = 500;

export interface ScheduleTickOptions {
  /** Connections selected per tick at most; `DEFAULT_DUE_LIMIT` by default. */
  dueLimit?: number;
}

/** What one tick did; the function's result. */
export interface TickResult {
  slot: string | null;
  fannedOut: number;
}

/**
 * `schedule-tick`: once a minute, select the connections that are due (store.listDueConnections: enabled,
 * next run reached, no live lease) and send one `crm/connection.sync.due` per connection, with the id
 * `${connectionId}:${slot}`. The selection is a step, so a retried tick re-sends the same ids and Inngest
 * starts no second run for the slot.
 */
export function createScheduleTick(client: Inngest, deps: RunnerDeps, options: ScheduleTickOptions = {}) {
  return client.createFunction(
    {
      id: 'schedule-tick',
      name: 'Fan out due CRM connections',
      triggers: [cron(TICK_CRON)],
      // One tick's steps at a time. An overlapping tick would be harmless anyway: its events carry the
      // slot's ids and each connection's run is a singleton.
      concurrency: 1,
      retries: 2,
    },
    async ({ step }): Promise<TickResult> => {
      const due = await step.run('select-due', async () => {
        const selected = await selectDue(deps.store, {
          now: deps.clock(),
          limit: options.dueLimit ?? DEFAULT_DUE_LIMIT,
        });
        if (!selected.ok) throw new RetryAfterError(selected.error.message, STORE_RETRY_MS);
        return selected.value;
      });
      for (const [index, chunk] of chunks(due, FAN_OUT_CHUNK).entries()) {
        await step.sendEvent(`fan-out-${index}`, chunk.map(dueEvent));
      }
      return { slot: due[0]?.slot ?? null, fannedOut: due.length };
    },
  );
}

/** The due event for one connection in one slot, with its deterministic id. */
export function dueEvent(due: DueConnection) {
  return connectionSyncDue.create(due, { id: dueEventId(due.connectionId, due.slot) });
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
