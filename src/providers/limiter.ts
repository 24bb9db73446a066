import { randomUUID } from 'node:crypto';
import Bottleneck from 'bottleneck';
import { type ProviderLimits, type ProviderSpec, rateWindows } from './spec.ts';

export type CallKind = 'read' | 'write';

/**
 * The pacing of one connection: every outbound call of that connection goes through it.
 * Built from the provider's documented limits so a cycle cannot exceed them by construction.
 */
export interface ConnectionLimiter {
  /**
   * Runs `task` when the limits allow; counts it against the daily quota. Rejects with `signal`'s reason, the task
   * not run, once `signal` aborts while the call waits (a pause, a full window).
   */
  schedule<T>(kind: CallKind, task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Holds every call of this connection for `ms` (after a 429), then releases them spaced out. */
  pause(ms: number): void;
  /** How much longer a call of this connection would be held by a pause; 0 when none holds it. */
  pausedForMs(): number;
  /** When the daily quota is spent: the ISO instant it resets; otherwise `null`. */
  quotaResetAt(): string | null;
  /**
   * The calls of each UTC day counted against the quota here and not yet in the store's count (`storedUsage`),
   * oldest day first. The quota is the customer's, spent by every process that runs the connection.
   */
  unstoredUsage(): DayUsage[];
  /**
   * The store counts `total` calls of `day` by every process, `added` of them (default 0) just taken from
   * `unstoredUsage`: the quota goes by that total and the calls counted here since.
   */
  storedUsage(day: string, total: number, added?: number): void;
  /**
   * The calls counted in the rate windows that may still matter to one (started within the longest window), this
   * limiter's and those `countCallsElsewhere` added, as wall instants of `now`'s clock: what the store keeps for the
   * next process that runs the connection.
   */
  recentCalls(): RecentCall[];
  /**
   * Counts in the rate windows the calls another process made (read from the store): a call here then starts only
   * when a window has room with them too. This limiter's own, and those counted already, are skipped.
   */
  countCallsElsewhere(calls: readonly RecentCall[]): void;
  /** Stops accepting work and waits for running calls. */
  stop(): Promise<void>;
  /** No call waits or runs, and none has ended within the last `ms`. */
  idleFor(ms: number): boolean;
}

/** A call in a connection's rate windows, as processes hand them on through the store. */
export interface RecentCall {
  /** `<limiter>/<n>`: the limiter that made it (a random id each) and its call number, so none counts twice. */
  id: string;
  /** When it started (or reached the provider, as far as its answer tells), epoch ms of the runner's clock. */
  at: number;
  kind: CallKind;
}

/** Calls counted against one UTC day's quota. */
export interface DayUsage {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  requests: number;
}

export interface LimiterOptions {
  /**
   * Wall clock in epoch ms, for the daily quota's UTC day and `idleFor`; defaults to `Date.now`. The runner passes
   * its own (the database's), so that every process turns the day at the same instant.
   */
  now?: () => number;
  /**
   * Monotonic clock in ms, for the rate windows and pauses; defaults to `performance.now`. Not the wall clock: one
   * stepped back (NTP) held every call of the connection until it caught up with the last call's window, for as
   * long as it had stepped, in every later run too, since the limiter lives as long as the process.
   */
  elapsed?: () => number;
  /**
   * Arrival-time jitter (ms) the windows must absorb. If the provider sees the first call of a window late
   * (a stalled event loop, a slow hop) and a later one on time, the two bunch into one window; widening each
   * window by `jitterMs` keeps any `limit + 1` calls more than the window apart as the provider sees them.
   * Default 50 ms: 5% on a 1-second window, 2% (the floor) on a 1-minute one.
   */
  jitterMs?: number;
}

const DEFAULT_JITTER_MS = 50;
const MIN_HEADROOM = 0.02;
const DAY_MS = 86_400_000;

/**
 * Spacing (ms) between call starts that keeps every window of the given limits, widened by `jitterMs / window`
 * (at least 2%) per window: how calls held by a pause leave once it ends.
 */
export function spacingMs(
  limits: { perSecond?: number | undefined; perMinute?: number | undefined },
  jitterMs = DEFAULT_JITTER_MS,
): number {
  return Math.max(
    limits.perSecond === undefined ? 0 : (1000 / limits.perSecond) * widen(1000, jitterMs),
    limits.perMinute === undefined ? 0 : (60_000 / limits.perMinute) * widen(60_000, jitterMs),
  );
}

/**
 * Every call passes the pause gate (after a 429) and then the connection's rolling windows, which let a call
 * start only while each window it counts in has room: at most `limit` starts in any interval of the window's
 * length. A fixed clock window is one such interval, so this keeps fixed-window limits too. Unlike even spacing
 * (bottleneck's `minTime`), a window's whole budget may go at once, so a push takes the least time the limits
 * allow; unlike bottleneck's reservoir, which refills on clock boundaries, two bursts never share a window.
 * Bottleneck keeps the concurrency limit and the call order.
 */
export function createLimiter(
  spec: Pick<ProviderSpec, 'limits'>,
  options: LimiterOptions = {},
): ConnectionLimiter {
  const now = options.now ?? Date.now;
  const elapsed = options.elapsed ?? (() => performance.now());
  const jitter = options.jitterMs ?? DEFAULT_JITTER_MS;
  const limits = spec.limits;
  const windows = new RollingWindows(limits, jitter);
  const origin = randomUUID();
  const handedOn = new HandedOnCalls(windows, origin, now, elapsed);
  const calls = new Bottleneck({ maxConcurrent: limits.maxConcurrent ?? null });
  const allSpacing = spacingMs(
    { perSecond: limits.requestsPerSecond, perMinute: limits.requestsPerMinute },
    jitter,
  );
  const gate = new PauseGate(elapsed, Math.max(allSpacing, 1));
  const latency = new RecentLatency();
  const quota = new DailyQuota(limits, now);
  let unfinished = 0;
  let lastEnded = now();
  const tracked = <T>(call: Promise<T>): Promise<T> => {
    unfinished += 1;
    return call.finally(() => {
      unfinished -= 1;
      lastEnded = now();
    });
  };

  return {
    schedule: (kind, task, signal) =>
      tracked(
        calls.schedule(async () => {
          // The gate again after every wait for window room: a 429 met while this call waited pauses it too
          // (agentOS blocks a key that keeps calling past a 429).
          for (;;) {
            signal?.throwIfAborted();
            await gate.pass(signal);
            const at = elapsed();
            const start = windows.earliestStart(kind, at);
            if (start <= at) break;
            await waitUnlessAborted(start - at, signal);
          }
          signal?.throwIfAborted();
          // The quota again where the call is counted: calls that passed runPaced's check together (the push's eight
          // writes, reads queued behind the concurrency cap) would otherwise all go out past the day's last call.
          const spentUntil = quota.resetAt();
          if (spentUntil !== null) throw new QuotaSpentError(spentUntil);
          // Booked when it really starts, not when its timer was due: a call a busy event loop held back counts
          // from when it went, so the calls after it keep their distance from it as the provider sees them.
          const started = elapsed();
          const booking = windows.record(kind, started);
          handedOn.own(kind, booking);
          quota.take();
          try {
            return await task();
          } finally {
            // A call that took longer than the quickest of late may have reached the provider late (a stall on
            // either side), up to that much after it started: it counts from then, for the calls still to come.
            booking.at = started + latency.excess(elapsed() - started);
            booking.settled = true;
          }
        }),
      ),
    pause: (ms) => gate.pause(ms),
    pausedForMs: () => gate.heldForMs(),
    quotaResetAt: () => quota.resetAt(),
    unstoredUsage: () => quota.unstored(),
    storedUsage: (day, total, added = 0) => quota.stored(day, total, added),
    recentCalls: () => handedOn.recent(),
    countCallsElsewhere: (calls) => handedOn.countElsewhere(calls),
    stop: () => calls.stop({ dropWaitingJobs: false }),
    idleFor: (ms) => unfinished === 0 && now() - lastEnded >= ms,
  };
}

/** Thrown by `schedule`, the task not run, when the daily quota was spent while the call waited its turn. */
export class QuotaSpentError extends Error {
  constructor(readonly resetAt: string) {
    super(`daily request quota spent until ${resetAt}`);
    this.name = 'QuotaSpentError';
  }
}

/**
 * Waits `ms`, or less once `signal` aborts: a call its phase stopped waited out a minute's pause or window, and
 * stopping the process waited for it.
 */
export function waitUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The widening of a window that absorbs `jitterMs` of arrival-time jitter (at least 2%). */
const widen = (windowMs: number, jitterMs: number) => 1 + Math.max(MIN_HEADROOM, jitterMs / windowMs);

/**
 * A call counted in a connection's windows: from when it started, or later once it has been answered, if its
 * answer shows it may have reached the provider later (`settled` then).
 */
export interface Booking {
  at: number;
  settled: boolean;
}

/** The rolling windows a connection's calls count in: when the next call may start, and the calls started. */
export class RollingWindows {
  private readonly windowsOf: Record<CallKind, RollingWindow[]>;
  /** The longest window, widened: a call older than this counts in none. 0 without windows. */
  readonly longestMs: number;

  constructor(limits: ProviderLimits, jitterMs = DEFAULT_JITTER_MS) {
    // One window object per declared window: a window of all calls is the same object in both lanes.
    const windows = rateWindows(limits).map((w) => ({
      counts: w.counts,
      window: new RollingWindow(w.limit, w.windowMs * widen(w.windowMs, jitterMs)),
    }));
    const lane = (kind: CallKind) =>
      windows.filter((w) => w.counts === 'all' || w.counts === kind).map((w) => w.window);
    this.windowsOf = { read: lane('read'), write: lane('write') };
    this.longestMs = Math.max(0, ...windows.map((w) => w.window.windowMs));
  }

  /** The earliest instant at or after `at` when a call of `kind` may start. */
  earliestStart(kind: CallKind, at: number): number {
    return this.windowsOf[kind].reduce((earliest, w) => Math.max(earliest, w.earliestStart(earliest)), at);
  }

  /** Counts a call of `kind` started at `start` (another process's may be earlier than calls counted before). */
  record(kind: CallKind, start: number): Booking {
    const booking: Booking = { at: start, settled: false };
    for (const w of this.windowsOf[kind]) w.book(booking);
    return booking;
  }
}

/** At most `limit` calls in any `windowMs`, each counted from its booking's instant. */
class RollingWindow {
  private bookings: Booking[] = [];

  constructor(
    private readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** The earliest instant at or after `at` when a call may start: a window after the `limit`-th latest call. */
  earliestStart(at: number): number {
    if (this.bookings.length < this.limit) return at;
    const latest = this.bookings.map((b) => b.at).sort((x, y) => y - x)[this.limit - 1] as number;
    return Math.max(at, latest + this.windowMs);
  }

  /** A call in flight is kept whatever its age: its answer may still move it later. */
  book(booking: Booking): void {
    this.bookings = this.bookings.filter((b) => !b.settled || b.at + this.windowMs > booking.at);
    this.bookings.push(booking);
  }
}

/**
 * The calls of a connection's rate windows as processes hand them on. The windows lived in one process's memory, so
 * a phase the next process took up (an Inngest step on another replica, a restart) began with empty windows and
 * spent a whole window's budget again at once: 100 calls in a minute to agentOS, which allows 50 and may block a
 * key that goes on past its 429. Calls are kept as wall instants of the runner's clock (the database's, the same in
 * every process) and counted back in the monotonic clock of the windows.
 */
class HandedOnCalls {
  /**
   * The calls still in a window, this limiter's and other processes'. `offset` turns a booking's instant into the
   * wall clock's, read once a call: read again it may differ by a millisecond, and the same call handed on twice
   * would be two.
   */
  private calls: Array<{ id: string; kind: CallKind; booking: Booking; offset: number }> = [];
  private made = 0;

  constructor(
    private readonly windows: RollingWindows,
    private readonly origin: string,
    private readonly now: () => number,
    private readonly elapsed: () => number,
  ) {}

  own(kind: CallKind, booking: Booking): void {
    this.prune();
    this.made += 1;
    this.calls.push({
      id: `${this.origin}/${this.made}`,
      kind,
      booking,
      offset: this.now() - this.elapsed(),
    });
  }

  recent(): RecentCall[] {
    this.prune();
    return this.calls.map(({ id, kind, booking, offset }) => ({
      id,
      at: Math.round(booking.at + offset),
      kind,
    }));
  }

  countElsewhere(calls: readonly RecentCall[]): void {
    this.prune();
    const offset = this.now() - this.elapsed();
    const since = this.elapsed() - this.windows.longestMs;
    const counted = new Set(this.calls.map((c) => c.id));
    for (const call of calls) {
      const at = call.at - offset;
      if (call.id.startsWith(`${this.origin}/`) || counted.has(call.id) || at <= since) continue;
      counted.add(call.id);
      const booking = this.windows.record(call.kind, at);
      booking.settled = true;
      this.calls.push({ id: call.id, kind: call.kind, booking, offset });
    }
  }

  /** Drops the calls no window counts any more (one in flight stays: its answer may move it later). */
  private prune(): void {
    const since = this.elapsed() - this.windows.longestMs;
    this.calls = this.calls.filter(({ booking }) => !booking.settled || booking.at > since);
  }
}

/**
 * How long a connection's calls take at the quickest (the network and the provider's work when nothing
 * stalls), over its last `RECENT_CALLS` calls. What a call takes beyond that is time it may have spent
 * waiting on our side before it left (a busy event loop, a garbage collection) or on the provider's side
 * before it was counted; measured in one --quick push run beside other work: usually 2–6 ms, at worst 153 ms.
 */
class RecentLatency {
  private readonly recent: number[] = [];

  /** Records a call that took `ms` and returns how much longer it took than the quickest recent call. */
  excess(ms: number): number {
    this.recent.push(ms);
    if (this.recent.length > RECENT_CALLS) this.recent.shift();
    return ms - Math.min(...this.recent);
  }
}

const RECENT_CALLS = 20;

/**
 * Holds calls while the connection is paused. Calls that arrive during a pause leave one `spacing` apart
 * once it ends, so the calls that piled up do not go out as one burst into a fresh window; a call whose turn
 * comes during a pause begun while it waited (another call met a 429) waits that one out too.
 */
class PauseGate {
  private pausedUntil = 0;
  private releaseAt = 0;
  private pauses = 0;

  constructor(
    private readonly now: () => number,
    private readonly spacing: number,
  ) {}

  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
    this.releaseAt = Math.max(this.releaseAt, this.pausedUntil);
    this.pauses += 1;
  }

  heldForMs(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  async pass(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.releaseAt - this.now();
      if (wait <= 0) return;
      this.releaseAt += this.spacing;
      const pauses = this.pauses;
      await waitUnlessAborted(wait, signal);
      signal?.throwIfAborted();
      // Waits again only for a pause begun meanwhile: a timer may fire a little early by the clock's reckoning.
      if (this.pauses === pauses || this.now() >= this.pausedUntil) return;
    }
  }
}

/**
 * Counts calls per UTC day (ASSUMPTION: providers reset daily quotas at UTC midnight; none documents it): the
 * store's count of the day as last known, plus the calls counted here that it does not hold yet.
 */
class DailyQuota {
  private knownDay = '';
  private knownTotal = 0;
  private readonly unstoredByDay = new Map<string, number>();

  constructor(
    private readonly limits: ProviderLimits,
    private readonly now: () => number,
  ) {}

  take(): void {
    const day = utcDay(this.now());
    this.unstoredByDay.set(day, (this.unstoredByDay.get(day) ?? 0) + 1);
  }

  resetAt(): string | null {
    if (this.limits.requestsPerDay === undefined) return null;
    const now = this.now();
    const day = utcDay(now);
    const used = (day === this.knownDay ? this.knownTotal : 0) + (this.unstoredByDay.get(day) ?? 0);
    return used >= this.limits.requestsPerDay
      ? new Date((Math.floor(now / DAY_MS) + 1) * DAY_MS).toISOString()
      : null;
  }

  unstored(): DayUsage[] {
    return [...this.unstoredByDay]
      .map(([day, requests]) => ({ day, requests }))
      .sort((a, b) => a.day.localeCompare(b.day));
  }

  stored(day: string, total: number, added: number): void {
    const left = (this.unstoredByDay.get(day) ?? 0) - added;
    if (left > 0) this.unstoredByDay.set(day, left);
    else this.unstoredByDay.delete(day);
    // A count of an earlier day, saved late, says nothing of today's.
    if (day >= this.knownDay) {
      this.knownDay = day;
      this.knownTotal = total;
    }
  }
}

/** The UTC day of an instant in epoch ms, `YYYY-MM-DD`: how the store names a day's count. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
