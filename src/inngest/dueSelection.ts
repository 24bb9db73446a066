import type { ProviderName } from '../core/providerName.ts';
import { ok, type Result } from '../core/result.ts';
import type { Store, StoreError } from '../persistence/store.ts';

/** Length of a schedule slot: the cron ticks once a minute, so a slot is one UTC minute. */
export const SLOT_MS = 60_000;

/**
 * Connections selected per tick at most. What is left stays due (earliest first) and goes out on the next
 * tick; 10,000 keeps the selection step's output (about 1.5 MB) under Inngest's 4 MB step limit.
 */
export const DEFAULT_DUE_LIMIT = 10_000;

/** One connection due in one slot: the data of a `crm/connection.sync.due` event. */
export interface DueConnection {
  tenantId: string;
  connectionId: string;
  provider: ProviderName;
  slot: string;
}

/** The slot `now` falls in: its UTC minute, as `2025-06-01T12:34Z`. */
export function slotOf(now: Date): string {
  const start = new Date(Math.floor(now.getTime() / SLOT_MS) * SLOT_MS);
  return `${start.toISOString().slice(0, 16)}Z`;
}

/**
 * The id of the due event for a connection in a slot. Inngest keeps one run per event id for 24 hours, so
 * a tick that is retried, or runs twice in the same minute, cannot start a second run for the slot.
 */
export function dueEventId(connectionId: string, slot: string): string {
  return `${connectionId}:${slot}`;
}

/**
 * The connections due at `now`, in the slot `now` falls in: enabled, next run reached (each run sets it
 * from the tenant's or the connection's interval as stored now), no live lease. Read fresh every tick, so
 * an interval changed through the CLI or API applies from the next tick.
 */
export async function selectDue(
  store: Pick<Store, 'listDueConnections'>,
  params: { now: Date; limit?: number },
): Promise<Result<DueConnection[], StoreError>> {
  const due = await store.listDueConnections({ now: params.now, limit: params.limit ?? DEFAULT_DUE_LIMIT });
  if (!due.ok) return due;
  const slot = slotOf(params.now);
  return ok(due.value.map((c) => ({ tenantId: c.tenantId, connectionId: c.id, provider: c.provider, slot })));
}
