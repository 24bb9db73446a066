/** How a connection backs off after retryable failures. All durations in milliseconds. */
export interface BackoffPolicy {
  /** Delay before the first retry, before jitter. */
  baseMs: number;
  /** Ceiling on the exponential delay. A longer wait asked for by the provider is still honoured. */
  capMs: number;
  /** Consecutive retryable failures of one phase after which the connection stops in `error`. */
  maxAttempts: number;
}

/**
 * Cycles are driven by a scheduler tick, so waits shorter than tens of seconds buy nothing;
 * 30 s doubling to a 15 min cap keeps five attempts inside about half an hour.
 */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 30_000, capMs: 15 * 60_000, maxAttempts: 5 };

/**
 * A fraction in [0, 1) derived from `seed` (FNV-1a, 32 bit), so jitter is reproducible from data:
 * the same cycle and attempt always wait the same time, on any worker, after any restore.
 */
export function jitterFraction(seed: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    hash ^= seed.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 2 ** 32;
}

/**
 * The wait before retry number `attempt` (1 = first retry): exponential from `baseMs`, capped at `capMs`,
 * with "equal jitter" (half fixed, half jittered, so never below half the exponential step), and never
 * shorter than the provider's own `retryAfterMs`.
 */
export function backoffDelayMs(params: {
  attempt: number;
  seed: string;
  retryAfterMs?: number | undefined;
  policy?: BackoffPolicy;
}): number {
  const { baseMs, capMs } = params.policy ?? DEFAULT_BACKOFF;
  const exponential = Math.min(capMs, baseMs * 2 ** Math.max(0, params.attempt - 1));
  const jittered = Math.round(exponential / 2 + (jitterFraction(params.seed) * exponential) / 2);
  return Math.max(jittered, Math.ceil(params.retryAfterMs ?? 0));
}

/** `iso` shifted by `ms`, as an ISO string. Pure: the instant is data, not the clock. */
export function addMs(iso: string, ms: number): string {
  return new Date(Date.parse(iso) + ms).toISOString();
}

/** The later of two ISO instants. */
export function laterOf(a: string, b: string): string {
  return Date.parse(a) >= Date.parse(b) ? a : b;
}
