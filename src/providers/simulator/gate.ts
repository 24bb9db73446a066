import { z } from 'zod';
import type { CallKind } from '../limiter.ts';
import { type ProviderLimits, rateWindows } from '../spec.ts';
import { createRandom } from './generator.ts';

/** Fault injection set through `POST /_sim/faults`; `{}` clears every fault. */
export const simFaultsSchema = z.strictObject({
  /** Share of requests answered 500. */
  errorRate: z.number().min(0).max(1).optional(),
  /** Extra delay before every response. */
  latencyMs: z.number().int().min(0).optional(),
  /** Share of requests never answered (the client's timeout fires). */
  timeoutRate: z.number().min(0).max(1).optional(),
  /** Share of requests whose connection is cut without a response. */
  dropRate: z.number().min(0).max(1).optional(),
  /** The next N requests are answered 429, as if another app had spent the customer's budget. */
  rateLimitBurst: z.number().int().min(0).optional(),
  /**
   * Share of writes the CRM applies whose answer is then lost (the connection cut after the write): the case where
   * sending again would create a person twice or apply a stale update.
   */
  lostAnswerRate: z.number().min(0).max(1).optional(),
});
export type SimFaults = z.infer<typeof simFaultsSchema>;

export const simStatsSchema = z.strictObject({
  /** API requests received (control and token calls excluded), 429s included. */
  requests: z.number(),
  rateLimited: z.number(),
  /** Requests of the write kind let through the limits, whatever their answer (a refused write counts too). */
  writeCalls: z.number(),
  /** Accepted writes (creates included). */
  writes: z.number(),
  creates: z.number(),
});
export type SimStats = z.infer<typeof simStatsSchema>;

export type Admission =
  /** `loseAnswer`: apply the request, then cut the connection instead of answering (`lostAnswerRate`). */
  | { kind: 'ok'; latencyMs: number; release: () => void; loseAnswer: boolean }
  | {
      kind: 'rate_limited';
      reason: 'window' | 'concurrency' | 'quota' | 'burst';
      /** For a full window: when the fullest one frees a slot, by the requests the gate let through. */
      freeInMs?: number;
    }
  | { kind: 'error' | 'drop' | 'timeout' };

const DAY_MS = 86_400_000;

/**
 * What stands between a request and a simulator's API: the documented limits, enforced exactly, and
 * the injected faults. Shared by every HTTP simulator and the in-memory fake.
 * ASSUMPTION (all providers): a request answered 429 does not count against the window.
 */
export class SimGate {
  faults: SimFaults = {};
  readonly stats: SimStats = { requests: 0, rateLimited: 0, writeCalls: 0, writes: 0, creates: 0 };
  private inFlight = 0;
  private readonly windows: SlidingWindow[];
  private day = { index: -1, used: 0 };
  private readonly random: ReturnType<typeof createRandom>;

  constructor(
    private readonly limits: ProviderLimits,
    private readonly options: { seed: number; latencyMs: number; now: () => number },
  ) {
    this.random = createRandom(options.seed ^ 0x5eed);
    this.windows = rateWindows(limits).map(
      (w) => new SlidingWindow(w.limit, w.windowMs, w.counts, limits.rolling),
    );
  }

  admit(kind: CallKind): Admission {
    this.stats.requests += 1;
    const limited = this.limitReason(kind);
    if (limited !== null) {
      this.stats.rateLimited += 1;
      if (limited !== 'window') return { kind: 'rate_limited', reason: limited };
      const now = this.options.now();
      const freeInMs = Math.max(...this.applicable(kind).map((w) => w.freeInMs(now)));
      return { kind: 'rate_limited', reason: limited, freeInMs };
    }
    if (kind === 'write') this.stats.writeCalls += 1;
    if (this.random.chance(this.faults.dropRate ?? 0)) return { kind: 'drop' };
    if (this.random.chance(this.faults.timeoutRate ?? 0)) return { kind: 'timeout' };
    if (this.random.chance(this.faults.errorRate ?? 0)) return { kind: 'error' };
    // Drawn only when set, so the other faults of a seed fall where they did before it existed.
    const lostAnswerRate = kind === 'write' ? (this.faults.lostAnswerRate ?? 0) : 0;
    const loseAnswer = lostAnswerRate > 0 && this.random.chance(lostAnswerRate);
    this.inFlight += 1;
    let released = false;
    return {
      kind: 'ok',
      loseAnswer,
      latencyMs: this.options.latencyMs + (this.faults.latencyMs ?? 0),
      release: () => {
        if (!released) this.inFlight -= 1;
        released = true;
      },
    };
  }

  /** Counts an accepted write. */
  wrote(effect: 'create' | 'update'): void {
    this.stats.writes += 1;
    if (effect === 'create') this.stats.creates += 1;
  }

  private limitReason(kind: CallKind): 'window' | 'concurrency' | 'quota' | 'burst' | null {
    if ((this.faults.rateLimitBurst ?? 0) > 0) {
      this.faults = { ...this.faults, rateLimitBurst: (this.faults.rateLimitBurst ?? 1) - 1 };
      return 'burst';
    }
    if (this.limits.maxConcurrent !== undefined && this.inFlight >= this.limits.maxConcurrent)
      return 'concurrency';
    const now = this.options.now();
    const dayIndex = Math.floor(now / DAY_MS);
    if (dayIndex !== this.day.index) this.day = { index: dayIndex, used: 0 };
    if (this.limits.requestsPerDay !== undefined && this.day.used >= this.limits.requestsPerDay)
      return 'quota';
    const applicable = this.applicable(kind);
    if (applicable.some((w) => w.full(now))) return 'window';
    for (const w of applicable) w.record(now);
    this.day.used += 1;
    return null;
  }

  private applicable(kind: CallKind): SlidingWindow[] {
    return this.windows.filter((w) => w.kind === 'all' || w.kind === kind);
  }
}

/** At most `limit` requests in any `windowMs` (rolling), or per clock-aligned window when not rolling. */
class SlidingWindow {
  private times: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    readonly kind: CallKind | 'all',
    private readonly rolling: boolean,
  ) {}

  full(now: number): boolean {
    const start = this.rolling ? now - this.windowMs : Math.floor(now / this.windowMs) * this.windowMs - 1;
    let drop = 0;
    while (drop < this.times.length && (this.times[drop] as number) <= start) drop++;
    if (drop > 0) this.times = this.times.slice(drop);
    return this.times.length >= this.limit;
  }

  /** How long until a full window has room again (0 when it has room now). */
  freeInMs(now: number): number {
    if (!this.full(now)) return 0;
    if (!this.rolling) return (Math.floor(now / this.windowMs) + 1) * this.windowMs - now;
    return (this.times[this.times.length - this.limit] as number) + this.windowMs - now;
  }

  record(now: number): void {
    this.times.push(now);
  }
}
