import { err, ok, type Result } from '../core/result.ts';
import { classifyFailure, type RetrySettings, waitsInCall } from '../core/retryPolicy.ts';
import { baseUrlProblem } from './credentialEndpoint.ts';
import { Deadline } from './deadline.ts';
import { describeErrorBody } from './errorBody.ts';
import { type CallKind, type ConnectionLimiter, QuotaSpentError, waitUnlessAborted } from './limiter.ts';
import type { ProviderError } from './provider.ts';
import { redactQuery } from './redactQuery.ts';
import { type ProviderSpec, WRITE_TIME_LIMIT_MS } from './spec.ts';
import { withWriteScope } from './writeScope.ts';

/** How one attempt ended, before classification. */
export type AttemptOutcome<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      status: number | null;
      retryAfter: string | null;
      message: string;
      /** The response's `Date`: the server's clock, which a Retry-After HTTP-date is read against. */
      serverDate?: string | null;
    }
  /** A failure the attempt has classified itself: returned as it is, never retried. */
  | { ok: false; final: ProviderError };

/**
 * The one request loop every adapter uses: runs `attempt` through the connection's limiter, classifies
 * failures with the pure retry policy, pauses the whole connection after a 429, backs off after transient
 * failures, and turns what is left into a typed `ProviderError`.
 */
export async function runPaced<T>(params: {
  limiter: ConnectionLimiter;
  retry: RetrySettings;
  kind: CallKind;
  attempt: () => Promise<AttemptOutcome<T>>;
  /**
   * `false` for a call that is not safe to repeat (a create): after a failure that may have been applied — no
   * response, or a 5xx — it is not retried here but returned as `transient`, so the push phase can look for
   * the record before sending it again. Default `true`.
   */
  repeatable?: boolean;
  /** The caller's: once it aborts, no attempt starts and no wait goes on (each would count against the limits). */
  signal?: AbortSignal | undefined;
  now?: () => number;
}): Promise<Result<T, ProviderError>> {
  const now = params.now ?? Date.now;
  const { signal } = params;
  // Whether an attempt went out that the provider may have applied: until one has, a stop leaves the call unsent.
  let mayHaveGone = false;
  const stopped = (): Result<T, ProviderError> =>
    err({
      kind: 'transient',
      status: null,
      message: `stopped: ${String(signal?.reason)}`,
      ...(mayHaveGone ? {} : { unsent: true as const }),
    });
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) return stopped();
    const spentUntil = params.limiter.quotaResetAt();
    if (spentUntil !== null) {
      return err({
        kind: 'quota_exhausted',
        status: 429,
        message: 'daily request quota spent',
        resumeAt: spentUntil,
      });
    }
    // A pause longer than a call waits out (a 429 asked for an hour) is the machine's backoff: a run retried before
    // it ended held its first call in the limiter for the rest of it, the lease kept, nothing shown.
    const heldMs = params.limiter.pausedForMs();
    if (!waitsInCall(heldMs, params.retry)) {
      return err({
        kind: 'rate_limited',
        status: 429,
        message: `the CRM asked for no calls for ${Math.ceil(heldMs / 1000)} s more (an earlier 429's Retry-After)`,
        retryAfterMs: heldMs,
      });
    }
    let outcome: AttemptOutcome<T>;
    try {
      outcome = await params.limiter.schedule(params.kind, params.attempt, signal);
    } catch (error) {
      if (signal?.aborted) return stopped();
      if (error instanceof QuotaSpentError) {
        const spent = 'daily request quota spent';
        return err({ kind: 'quota_exhausted', status: 429, message: spent, resumeAt: error.resetAt });
      }
      throw error;
    }
    if (outcome.ok) return ok(outcome.value);
    if ('final' in outcome) return err(outcome.final);
    const decision = classifyFailure(
      {
        status: outcome.status,
        retryAfter: outcome.retryAfter,
        attempt,
        // An HTTP-date is the server's instant: read against its own clock where it gave it (ours 40 s ahead read
        // "30 s from now" as past, and the call was retried at once into the next 429).
        nowMs: instantOf(outcome.serverDate) ?? now(),
        quotaResetAt: params.limiter.quotaResetAt(),
      },
      params.retry,
    );
    const mayHaveApplied = outcome.status === null || outcome.status >= 500;
    mayHaveGone ||= mayHaveApplied;
    if (decision.retry && decision.reason === 'transient' && params.repeatable === false && mayHaveApplied) {
      return err({ kind: 'transient', status: outcome.status, message: outcome.message });
    }
    if (decision.retry) {
      if (decision.reason === 'rate_limited') params.limiter.pause(decision.waitMs);
      else await waitUnlessAborted(decision.waitMs, signal);
      continue;
    }
    // The CRM's word on when to come back holds for every call of the connection, not only a retried one: the
    // others in flight went straight on into the 429 (agentOS blocks a key that keeps calling past one).
    if (decision.reason === 'rate_limited') params.limiter.pause(decision.waitMs);
    return err(toProviderError(decision, outcome.status, outcome.message));
  }
}

const instantOf = (text: string | null | undefined): number | null => {
  const at = text == null ? Number.NaN : Date.parse(text);
  return Number.isNaN(at) ? null : at;
};

const hasHeader = (headers: Record<string, string> | undefined, name: string) =>
  Object.keys(headers ?? {}).some((key) => key.toLowerCase() === name);

function toProviderError(
  decision: Exclude<ReturnType<typeof classifyFailure>, { retry: true }>,
  status: number | null,
  message: string,
): ProviderError {
  switch (decision.reason) {
    case 'rate_limited':
      return { kind: 'rate_limited', status: status ?? 429, message, retryAfterMs: decision.waitMs };
    case 'quota_exhausted':
      return { kind: 'quota_exhausted', status: status ?? 429, message, resumeAt: decision.resumeAt };
    case 'transient':
      return decision.retryAfterMs === undefined
        ? { kind: 'transient', status, message }
        : { kind: 'transient', status, message, retryAfterMs: decision.retryAfterMs };
    case 'validation':
      return { kind: decision.reason, status, message };
    default:
      return { kind: decision.reason, status: status ?? 0, message };
  }
}

/** A response read in full. `json` is `undefined` for an empty or non-JSON body. */
export interface HttpResponse {
  status: number;
  headers: Headers;
  json: unknown;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Path and query, appended to the base URL. */
  path: string;
  headers?: Record<string, string>;
  /** Serialised as JSON when present. */
  body?: unknown;
  /** Overrides `application/json` for bodies such as JSON Patch. */
  contentType?: string;
  /** Statuses the adapter handles itself (e.g. 404 on a look-up); others below 400 always count as success. */
  accept?: readonly number[];
  signal?: AbortSignal | undefined;
}

/** A paced HTTP client for one connection. */
export interface HttpTransport {
  send(request: HttpRequest): Promise<Result<HttpResponse, ProviderError>>;
}

export function createHttpTransport(params: {
  baseUrl: string;
  spec: ProviderSpec;
  limiter: ConnectionLimiter;
  /** Auth and fixed headers for every call; may fetch a token (that call is not paced). */
  headers: (signal?: AbortSignal) => Promise<Result<Record<string, string>, ProviderError>>;
  /**
   * For expiring tokens: forget the token of headers the API answered 401. The call is then sent once more with
   * fresh headers, and only a second 401 is `auth_failed`, which stops the connection until the credentials
   * are entered again.
   */
  renewAuth?: (refused: Readonly<Record<string, string>>) => void;
  fetch?: typeof fetch;
  now?: () => number;
}): HttpTransport {
  const fetchImpl = params.fetch ?? fetch;
  const base = params.baseUrl.replace(/\/+$/, '');
  // Checked here, where every call and token request starts: a base URL stored before plain http (or a query) was
  // refused would be sent the credentials in clear text (or every request to a wrong path).
  const endpointProblem = baseUrlProblem(params.baseUrl);
  const { timeoutMs, ...retry } = params.spec.retry;
  const writeTimeoutMs = Math.min(timeoutMs, WRITE_TIME_LIMIT_MS);
  // A provider that documents no wait header may still send the standard one (RFC 9110): the server's own word on
  // when to come back beats the documented fallback wait.
  const retryAfterHeader = params.spec.retry.retryAfterHeader ?? 'retry-after';
  async function sendWith(
    request: HttpRequest,
    auth: Readonly<Record<string, string>>,
  ): Promise<Result<HttpResponse, ProviderError>> {
    const kind: CallKind = request.method === 'GET' ? 'read' : 'write';
    return runPaced({
      limiter: params.limiter,
      retry,
      kind,
      // A POST creates: repeating it blind after a lost response could create the contact twice. A conditional
      // write (If-Match) applied before its answer was lost is refused as stale when repeated (412), and the push
      // would not know the CRM may hold its values: returned instead, the push re-sends it as a write sent before.
      repeatable: request.method !== 'POST' && !hasHeader(request.headers, 'if-match'),
      signal: request.signal,
      ...(params.now ? { now: params.now } : {}),
      attempt: async () => {
        // A write once sent is not abandoned when its caller stops, only at its time limit: its answer tells whether
        // the CRM made it. Abandoned, the next run had to look for it, and a CRM applying it after that look (a
        // server behind on its queue) held the person twice. A stopping run waits for its phase to settle.
        const deadline =
          kind === 'write'
            ? new Deadline(writeTimeoutMs, undefined)
            : new Deadline(timeoutMs, request.signal);
        // Messages reach the audit, the admin API and logs: personal values in the query and body stay out of them.
        const label = `${request.method} ${redactQuery(request.path, params.spec.personalQueryParams)}`;
        try {
          const response = await deadline.race(
            fetchImpl(`${base}${request.path}`, {
              method: request.method,
              headers: {
                accept: 'application/json',
                ...auth,
                ...request.headers,
                ...(request.body === undefined
                  ? {}
                  : { 'content-type': request.contentType ?? 'application/json' }),
              },
              ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
              signal: deadline.signal,
              // Followed, a redirect to another host would carry a key sent in a header of its own (agentOS's
              // `api_key`, Loop's `x-api-key`: fetch drops only `Authorization`), and a 301/302 turns a POST into a GET.
              redirect: 'manual',
            }),
          );
          const location = response.headers.get('location');
          if (
            isRedirect(response.status) &&
            location !== null &&
            !request.accept?.includes(response.status)
          ) {
            await response.body?.cancel();
            return { ok: false, final: redirectRefused(label, response.status, location, base) };
          }
          const text = await deadline.race(readBody(response));
          if (text === null) {
            return {
              ok: false,
              status: null,
              retryAfter: null,
              message: `${label} → ${response.status} with a body over ${MAX_BODY_BYTES / 2 ** 20} MB, not read`,
            };
          }
          const json = parseJson(text);
          const body = () =>
            describeErrorBody({
              shape: params.spec.errorBody,
              status: response.status,
              text,
              json,
              contentType: response.headers.get('content-type'),
            });
          // A proxy's or maintenance page, a page cut short, a listing with no body: not the CRM's answer to what
          // was sent, so not a refusal. As no answer, it is retried, and a create it answered may have been made.
          const unreadable = json === undefined && (text.length > 0 || request.method === 'GET');
          if (response.status < 300 && unreadable) {
            const what = text.length > 0 ? 'a body that is not JSON' : 'no body';
            return {
              ok: false,
              status: null,
              retryAfter: null,
              message: `${label} → ${response.status} with ${what}${body()}`,
            };
          }
          if (response.status < 400 || request.accept?.includes(response.status)) {
            return { ok: true, value: { status: response.status, headers: response.headers, json } };
          }
          return {
            ok: false,
            status: response.status,
            retryAfter: response.headers.get(retryAfterHeader),
            serverDate: response.headers.get('date'),
            message: `${label} → ${response.status}${body()}`,
          };
        } catch (error) {
          const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          return { ok: false, status: null, retryAfter: null, message: `${label} failed: ${reason}` };
        } finally {
          deadline.clear();
        }
      },
    });
  }

  const transport: HttpTransport = {
    async send(request) {
      if (endpointProblem !== null) {
        return err({
          kind: 'endpoint_refused',
          status: null,
          message:
            `the connection's base URL ${endpointProblem}; nothing was sent to it. Give it another with ` +
            'crm-sync connection set-base-url, then crm-sync retry',
        });
      }
      const auth = await params.headers(request.signal);
      if (!auth.ok) return auth;
      const sent = await sendWith(request, auth.value);
      const refused = !sent.ok && sent.error.kind === 'auth_failed' && sent.error.status === 401;
      if (!refused || params.renewAuth === undefined) return sent;
      // A token refused before its stated expiry (revoked, or lapsed while this call waited out a 429 or
      // retried): a 401 is never applied, so the call is safe to send again once, with a new token.
      params.renewAuth(auth.value);
      const renewed = await params.headers(request.signal);
      if (!renewed.ok) return renewed;
      return sendWith(request, renewed.value);
    },
  };
  // A write the credentials may not make while they still read is told apart for every adapter alike.
  return withWriteScope(transport, params.spec);
}

const isRedirect = (status: number) => status >= 300 && status < 400;

/**
 * The most of one answer read: many times the largest page any of the five APIs documents (agentOS's 1,000
 * contacts), so that a proxy or a fault sending without end cannot fill the process's memory before the timeout.
 */
const MAX_BODY_BYTES = 64 * 2 ** 20;

/** The answer's text, read until `MAX_BODY_BYTES`; `null` (and the rest left unread) when it is longer. */
async function readBody(response: Response): Promise<string | null> {
  const declared = Number(response.headers.get('content-length'));
  if (response.body === null) return '';
  if (declared > MAX_BODY_BYTES) {
    await response.body.cancel();
    return null;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let bytes = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    bytes += read.value.byteLength;
    if (bytes > MAX_BODY_BYTES) {
      await reader.cancel();
      return null;
    }
    parts.push(decoder.decode(read.value, { stream: true }));
  }
  parts.push(decoder.decode());
  return parts.join('');
}

/** A redirect not followed. Only the origin is named: the path and query may carry what a search looked for. */
function redirectRefused(label: string, status: number, location: string, base: string): ProviderError {
  let target = 'another address';
  try {
    target = new URL(location, `${base}/`).origin;
  } catch {}
  return {
    kind: 'endpoint_refused',
    status,
    message:
      `${label} → ${status} redirected to ${target}, not followed: the credentials are sent to the connection's ` +
      'base URL only. If the CRM has moved its API, give the connection the new base URL with crm-sync connection ' +
      'set-base-url, then crm-sync retry',
  };
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
