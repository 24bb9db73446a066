/**
 * The pure retry classifier: given how one HTTP attempt ended, decide whether to retry, how long to
 * wait, or which failure to report. One loop (src/providers/base.ts) executes the decision.
 */

/** How a provider wants failures retried; built from the provider spec. All durations in ms. */
export interface RetrySettings {
  /** Attempts in total, the first included. */
  maxAttempts: number;
  /** Wait after a 429 that carries no usable Retry-After. */
  waitAfter429Ms: number;
  /** `waitAfter429Ms` is also the least wait, whatever a Retry-After says (a provider documents that wait). */
  waitAfter429IsLeast?: boolean | undefined;
  /** First wait after a transient failure; doubles per attempt up to `transientMaxMs`. */
  transientBaseMs: number;
  transientMaxMs: number;
}

/** How one attempt ended when it did not succeed. */
export interface FailedAttempt {
  /** HTTP status, or `null` when no response arrived (network error, timeout, dropped socket). */
  status: number | null;
  /** The raw Retry-After value, when the provider sent one. */
  retryAfter: string | null;
  /** 1 for the first attempt. */
  attempt: number;
  nowMs: number;
  /** Set when the connection's daily quota is known to be spent: the instant it resets. */
  quotaResetAt: string | null;
}

export type FailureReason =
  | 'rate_limited'
  | 'quota_exhausted'
  | 'auth_failed'
  | 'precondition_failed'
  | 'conflict'
  | 'validation'
  | 'not_found'
  | 'transient';

export type RetryDecision =
  | { retry: true; reason: 'rate_limited' | 'transient'; waitMs: number }
  /** `retryAfterMs`: the server's own word on when to come back (a 503's Retry-After), when it gave one. */
  | { retry: false; reason: 'transient'; retryAfterMs?: number }
  | { retry: false; reason: Exclude<FailureReason, 'rate_limited' | 'quota_exhausted' | 'transient'> }
  | { retry: false; reason: 'rate_limited'; waitMs: number }
  | { retry: false; reason: 'quota_exhausted'; resumeAt: string };

export function classifyFailure(attempt: FailedAttempt, settings: RetrySettings): RetryDecision {
  const { status } = attempt;
  const canRetry = attempt.attempt < settings.maxAttempts;
  if (status === 429) {
    if (attempt.quotaResetAt !== null)
      return { retry: false, reason: 'quota_exhausted', resumeAt: attempt.quotaResetAt };
    const waitMs = Math.max(
      parseRetryAfter(attempt.retryAfter, attempt.nowMs) ?? settings.waitAfter429Ms,
      settings.waitAfter429IsLeast === true ? settings.waitAfter429Ms : 0,
    );
    return canRetry && waitsInCall(waitMs, settings)
      ? { retry: true, reason: 'rate_limited', waitMs }
      : { retry: false, reason: 'rate_limited', waitMs };
  }
  if (status === null || status === 408 || status >= 500) {
    const backoffMs = Math.min(
      settings.transientMaxMs,
      settings.transientBaseMs * 2 ** (attempt.attempt - 1),
    );
    // A 503 in a maintenance window says how long it lasts (RFC 9110 §10.2.3): retrying sooner spends the attempts.
    const hintMs = parseRetryAfter(attempt.retryAfter, attempt.nowMs);
    if (hintMs === null)
      return canRetry
        ? { retry: true, reason: 'transient', waitMs: backoffMs }
        : { retry: false, reason: 'transient' };
    return canRetry && hintMs <= MAX_IN_CALL_WAIT_MS
      ? { retry: true, reason: 'transient', waitMs: Math.max(backoffMs, hintMs) }
      : { retry: false, reason: 'transient', retryAfterMs: hintMs };
  }
  return { retry: false, reason: clientErrorReason(status) };
}

function clientErrorReason(
  status: number,
): Exclude<FailureReason, 'rate_limited' | 'quota_exhausted' | 'transient'> {
  switch (status) {
    case 401:
    case 403:
      return 'auth_failed';
    case 404:
    case 410:
      return 'not_found';
    case 409:
      return 'conflict';
    case 412:
      return 'precondition_failed';
    default:
      // 400, 405, 406, 415, 422…: our request was wrong; retrying the same bytes cannot help.
      return 'validation';
  }
}

/**
 * The longest wait a Retry-After gets inside a call (a 429's: unless the spec's own wait is longer); a longer one
 * ends the call, for the machine's backoff.
 */
const MAX_IN_CALL_WAIT_MS = 60_000;

/**
 * Whether a call waits out a 429's `waitMs` itself. A longer wait is the machine's backoff: persisted, shown, the
 * worker and the lease free meanwhile.
 */
export const waitsInCall = (waitMs: number, settings: Pick<RetrySettings, 'waitAfter429Ms'>): boolean =>
  waitMs <= Math.max(MAX_IN_CALL_WAIT_MS, settings.waitAfter429Ms);
/** The longest wait a Retry-After is taken to ask for: years would hold a connection for good. */
const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * Retry-After as delay-seconds or an HTTP-date, at most `MAX_RETRY_AFTER_MS`; `null` when absent or neither (a
 * negative number, text): `Date.parse` alone reads `-5` as a date in 2001, a wait of nothing. Never negative.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.min(MAX_RETRY_AFTER_MS, Math.round(Number(trimmed) * 1000));
  // Every HTTP-date form starts with the day's name (RFC 9110 §5.6.7).
  const at = /^[A-Za-z]{3,9},? /.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  return Number.isNaN(at) ? null : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - nowMs));
}
