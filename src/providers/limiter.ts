import Bottleneck from 'bottleneck';
import type { ProviderLimits, ProviderSpec } from './spec.ts';

export type CallKind = 'read' | 'write';

/**
 * The pacing of one connection: every outbound call of that connection goes through it.
 * Built from the provider's documented limits so a cycle cannot exceed them by construction.
 */
export interface ConnectionLimiter {
  /** Runs `task` when the limits allow; counts it against the daily quota. */
  schedule<T>(kind: CallKind, task: () => Promise<T>): Promise<T>;
  /** Holds every call of this connection for `ms` (after a 429), then releases them spaced out. */
  pause(ms: number): void;
  /** When the daily quota is spent: the ISO instant it resets; otherwise `null`. */
  quotaResetAt(): string | null;
  /** Stops accepting work and waits for running calls. */
  stop(): Promise<void>;
}

export interface LimiterOptions {
  /** Clock in epoch ms; defaults to `Date.now`. */
  now?: () => number;
  /**
   * Arrival-time jitter (ms) the spacing must absorb. If the provider sees the first call of a window late
   * (a stalled event loop, a slow hop) and a later one on time, evenly spaced calls bunch into one window;
   * spacing each call `jitterMs / window` wider keeps `limit + 1` calls apart by more than the window.
   * Default 50 ms: 5% on a 1-second window, 2% (the floor) on a 1-minute one.
   */
  jitterMs?: number;
}

const DEFAULT_JITTER_MS = 50;
const MIN_HEADROOM = 0.02;
const DAY_MS = 86_400_000;

/**
 * Spacing (ms) between call starts so that no window of the given limits is exceeded, widened by
 * `jitterMs / window` (at least 2%) per window.
 */
export function spacingMs(
  limits: { perSecond?: number | undefined; perMinute?: number | undefined },
  jitterMs = DEFAULT_JITTER_MS,
): number {
  const widen = (windowMs: number) => 1 + Math.max(MIN_HEADROOM, jitterMs / windowMs);
  return Math.max(
    limits.perSecond === undefined ? 0 : (1000 / limits.perSecond) * widen(1000),
    limits.perMinute === undefined ? 0 : (60_000 / limits.perMinute) * widen(60_000),
  );
}

/**
 * One bottleneck per limited dimension: `all` (every call; rate and concurrency), and `reads`/`writes`
 * chained in front of it where the provider counts them apart. Calls are spaced evenly with `minTime`
 * rather than granted in reservoir bursts: a reservoir refills on fixed clock boundaries, so a burst at
 * the end of one interval plus one at the start of the next breaks a rolling window.
 */
export function createLimiter(
  spec: Pick<ProviderSpec, 'limits'>,
  options: LimiterOptions = {},
): ConnectionLimiter {
  const now = options.now ?? Date.now;
  const jitter = options.jitterMs ?? DEFAULT_JITTER_MS;
  const limits = spec.limits;
  const allSpacing = spacingMs(
    { perSecond: limits.requestsPerSecond, perMinute: limits.requestsPerMinute },
    jitter,
  );
  const all = new Bottleneck({ maxConcurrent: limits.maxConcurrent ?? null, minTime: Math.ceil(allSpacing) });
  const lane = (perMinute: number | undefined): Bottleneck =>
    perMinute === undefined
      ? all
      : new Bottleneck({ minTime: Math.ceil(spacingMs({ perMinute }, jitter)) }).chain(all);
  const lanes: Record<CallKind, Bottleneck> = {
    read: lane(limits.readsPerMinute),
    write: lane(limits.writesPerMinute),
  };
  const gate = new PauseGate(now, Math.max(allSpacing, 1));
  const quota = new DailyQuota(limits, now);

  return {
    schedule: (kind, task) =>
      lanes[kind].schedule(async () => {
        await gate.pass();
        quota.take();
        return task();
      }),
    pause: (ms) => gate.pause(ms),
    quotaResetAt: () => quota.resetAt(),
    stop: async () => {
      // Lanes feed `all` (chained): stop them first, so no lane job reaches a stopped `all`.
      const chained = new Set([lanes.read, lanes.write].filter((l) => l !== all));
      await Promise.all([...chained].map((l) => l.stop({ dropWaitingJobs: false })));
      await all.stop({ dropWaitingJobs: false });
    },
  };
}

/**
 * Holds calls while the connection is paused. Calls that arrive during a pause leave one `spacing` apart
 * once it ends, so the calls that piled up do not go out as one burst into a fresh window.
 */
class PauseGate {
  private releaseAt = 0;

  constructor(
    private readonly now: () => number,
    private readonly spacing: number,
  ) {}

  pause(ms: number): void {
    this.releaseAt = Math.max(this.releaseAt, this.now() + ms);
  }

  async pass(): Promise<void> {
    const wait = this.releaseAt - this.now();
    if (wait <= 0) return;
    this.releaseAt += this.spacing;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** Counts calls per UTC day (ASSUMPTION: providers reset daily quotas at UTC midnight; none documents it). */
class DailyQuota {
  private day = -1;
  private used = 0;

  constructor(
    private readonly limits: ProviderLimits,
    private readonly now: () => number,
  ) {}

  take(): void {
    this.roll();
    this.used += 1;
  }

  resetAt(): string | null {
    if (this.limits.requestsPerDay === undefined) return null;
    this.roll();
    return this.used >= this.limits.requestsPerDay ? new Date((this.day + 1) * DAY_MS).toISOString() : null;
  }

  private roll(): void {
    const day = Math.floor(this.now() / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.used = 0;
    }
  }
}
