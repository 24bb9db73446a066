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

/**
 * How long before a tick boundary a tick's reading of the clock still counts as that boundary's tick. The cron fires
 * at each minute's start by Inngest's clock and reads the database's, which may lag it; the worker's timer may fire
 * a millisecond early. Read just before the boundary, the tick took the minute ending there, left out every run set
 * a few seconds into the next, and the next tick came a whole minute later: that run was a minute late.
 */
export const TICK_EARLY_MS = 5_000;

/** The tick boundary a tick reading `now` belongs to, for a scheduler ticking every `tickMs` (`TICK_EARLY_MS`). */
export function tickBoundaryMs(now: Date, tickMs: number): number {
  const early = Math.min(TICK_EARLY_MS, tickMs / 10);
  return Math.floor((now.getTime() + early) / tickMs) * tickMs;
}

/** The slot of a tick reading `now`: the UTC minute it ticks for (`tickBoundaryMs`), as `2025-06-01T12:34Z`. */
export function slotOf(now: Date): string {
  const start = new Date(tickBoundaryMs(now, SLOT_MS));
  return `${start.toISOString().slice(0, 16)}Z`;
}

/**
 * Whether a connection whose next run is `nextRunAt` is due in the slot `now` falls in: its next run falls
 * before the slot ends. A run sets its next run from when it ended, a few seconds after the tick that started
 * it, so "reached by now" would leave every run one tick late: a 1m interval ran every 2 minutes, 5m every 6.
 */
export function isDueInSlot(nextRunAt: Date, now: Date): boolean {
  return nextRunAt.getTime() < slotEndMs(now);
}

function slotEndMs(now: Date): number {
  return tickBoundaryMs(now, SLOT_MS) + SLOT_MS;
}

/**
 * The first instant after `now` that is a whole number of `tickMs` since the epoch: where a scheduler ticking every
 * `tickMs` ticks next. Every scheduler ticks on these, the cron at each minute's start, so two of them on one
 * database (two workers, or the cron and a worker) look to the same horizon: ticking at their own seconds, each
 * took the run the other had set a few seconds into its next minute, and a 1m interval ran twice a minute.
 */
export function nextTickMs(now: Date, tickMs: number): number {
  return (Math.floor(now.getTime() / tickMs) + 1) * tickMs;
}

/** How far ahead `selectDue` counts a connection due: its slot's end, or a ticking scheduler's next tick. */
export function dueHorizon(now: Date, tickMs?: number): Date {
  return new Date(tickMs === undefined ? slotEndMs(now) : tickBoundaryMs(now, tickMs) + tickMs);
}

/**
 * The id of the due event for a connection in a slot. Inngest keeps one run per event id for 24 hours, so
 * a tick that is retried, or runs twice in the same minute, cannot start a second run for the slot.
 */
export function dueEventId(connectionId: string, slot: string): string {
  return `${connectionId}:${slot}`;
}

/**
 * The connections due in the slot `now` falls in: enabled, next run before the slot ends (`isDueInSlot`;
 * each run sets it from the tenant's or the connection's interval as stored now), no live lease at `now`.
 * Read fresh every tick, so an interval changed through the CLI or API applies from the next tick. First every
 * next run further out than one interval from `now` is brought to it (`boundNextRuns`): a host clock stepped
 * back, or an interval shortened by SQL, left it late by as much; a backoff's to its own wait from `now`.
 * `tickMs`, for a scheduler that ticks every so often (the embedded worker): due before its next tick
 * (`nextTickMs`) instead. Ticking more often than once a slot, it looks only as far as its next tick; a backoff
 * due later was otherwise selected at every tick before it, each run handing it back.
 */
export async function selectDue(
  store: Pick<Store, 'boundNextRuns' | 'listDueConnections'>,
  params: { now: Date; limit?: number; tickMs?: number },
): Promise<Result<DueConnection[], StoreError>> {
  const { now } = params;
  const bounded = await store.boundNextRuns({ now });
  if (!bounded.ok) return bounded;
  const horizonMs = dueHorizon(now, params.tickMs).getTime();
  // Due by the horizon, leases judged at `now`, both in the store: leases judged here, after the limit, took places
  // of it that due connections then never got (a lease renewed within the minute expires before the horizon).
  const due = await store.listDueConnections({
    now: new Date(horizonMs - 1),
    leasesAt: now,
    limit: params.limit ?? DEFAULT_DUE_LIMIT,
  });
  if (!due.ok) return due;
  const slot = slotOf(now);
  return ok(due.value.map((c) => ({ tenantId: c.tenantId, connectionId: c.id, provider: c.provider, slot })));
}
