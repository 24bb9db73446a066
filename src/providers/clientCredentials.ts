import { createHash } from 'node:crypto';
import { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';
import { createHttpTransport, type HttpTransport } from './base.ts';
import { Deadline } from './deadline.ts';
import { headerValueSchema } from './headerValue.ts';
import { type ConnectionLimiter, createLimiter } from './limiter.ts';
import type { ProviderError } from './provider.ts';
import type { ProviderSpec } from './spec.ts';

const tokenResponseSchema = z.object({
  // Sent as `Authorization: Bearer …`: one fetch refuses would be quoted whole in the call's error.
  access_token: headerValueSchema,
  // RECOMMENDED, not required (RFC 6749 §5.1); some servers send it as a string of digits.
  expires_in: z.coerce.number().positive().finite().optional(),
});

/** Renew this long before the token's stated expiry, so a call never carries a token that lapses in flight. */
const RENEW_EARLY_MS = 60_000;
/**
 * How long a token whose answer states no lifetime is held (Alto's answer is undocumented [A2]): short, as its life
 * may be far shorter than Reapit's hour [R1]; a 401 before then renews it anyway.
 */
const UNSTATED_LIFETIME_MS = 5 * 60_000;
const TOKEN_TIMEOUT_MS = 30_000;

/**
 * How long to use a token stated to last `expiresInSeconds`: to a minute before its expiry, or half its life when
 * that is shorter (held to a minute before a 50 s token, it was fetched again on every call).
 */
function heldFor(expiresInSeconds: number | undefined): number {
  if (expiresInSeconds === undefined) return UNSTATED_LIFETIME_MS;
  const lifetime = expiresInSeconds * 1000;
  return lifetime - Math.min(RENEW_EARLY_MS, lifetime / 2);
}

/** A token and when to stop using it. */
interface HeldToken {
  token: string;
  expiresAt: number;
}

/** A token request in flight, shared by the calls waiting on it. */
interface SharedRequest {
  result: Promise<Result<HeldToken, ProviderError>>;
  /** Aborts the request: done when the last call waiting on it gives up. */
  controller: AbortController;
  waiting: number;
}

/**
 * Client-credentials tokens for the life of the process, shared by every provider it builds: the runner builds one
 * per phase, and each asking its token endpoint again was a round trip per phase that invites throttling. Tokens
 * sit in private fields, out of reach of a logger or `JSON.stringify`.
 */
export class ClientCredentialsTokenCache {
  readonly #held = new Map<string, HeldToken>();
  readonly #requests = new Map<string, SharedRequest>();

  /**
   * The token held for `key` while it is valid, else one from `request`, which concurrent callers share. A caller
   * whose `signal` aborts stops waiting (`abandoned` says why); the request goes on for the others, and is aborted
   * only once every caller waiting on it has given up. It followed the first caller's signal: one run stopping
   * (its lease lost, its phase over) failed the token of every other run that had joined its request.
   */
  async get(
    key: string,
    request: (signal: AbortSignal) => Promise<Result<HeldToken, ProviderError>>,
    signal: AbortSignal | undefined,
    abandoned: (reason: unknown) => ProviderError,
  ): Promise<Result<string, ProviderError>> {
    const held = this.#held.get(key);
    if (held && held.expiresAt > Date.now()) return ok(held.token);
    if (signal?.aborted) return err(abandoned(signal.reason));
    let shared = this.#requests.get(key);
    if (shared === undefined) {
      const controller = new AbortController();
      const result = request(controller.signal)
        .then((outcome) => {
          if (outcome.ok) this.#hold(key, outcome.value);
          return outcome;
        })
        .finally(() => this.#requests.delete(key));
      shared = { result, controller, waiting: 0 };
      this.#requests.set(key, shared);
    }
    const joined = shared;
    joined.waiting += 1;
    let onAbort: (() => void) | undefined;
    const gaveUp = new Promise<Result<HeldToken, ProviderError>>((resolve) => {
      onAbort = () => {
        joined.waiting -= 1;
        if (joined.waiting === 0) joined.controller.abort(signal?.reason);
        resolve(err(abandoned(signal?.reason)));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const outcome = await Promise.race([joined.result, gaveUp]);
      return outcome.ok ? ok(outcome.value.token) : outcome;
    } finally {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      if (!signal?.aborted) joined.waiting -= 1;
    }
  }

  /** Forgets `token` if it is still the one held for `key` (a newer one is kept). */
  drop(key: string, token: string): void {
    if (this.#held.get(key)?.token === token) this.#held.delete(key);
  }

  /** Holds `token`, dropping those expired so the cache keeps only tokens still in use. */
  #hold(key: string, token: HeldToken): void {
    const now = Date.now();
    for (const [heldKey, held] of this.#held) if (held.expiresAt <= now) this.#held.delete(heldKey);
    this.#held.set(key, token);
  }
}

/**
 * What identifies a token: a new secret (`set-credentials`) or another endpoint, client or form field never gets an
 * old one. The secret is hashed, so the key carries none of it.
 */
function tokenKey(params: {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  extraBody?: Record<string, string>;
}): string {
  const secretHash = createHash('sha256').update(params.clientSecret).digest('hex');
  const extra = Object.entries(params.extraBody ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([params.tokenUrl, params.clientId, secretHash, extra]);
}

/**
 * An OAuth2 client-credentials token (`POST tokenUrl`, HTTP Basic client id and secret, form body), fetched
 * once and reused until a minute before it expires (or until the API refuses it: `invalidate`); concurrent callers
 * share one request. Held in `cache` when given (the process's), else for this provider alone. A 4xx but 408 and
 * 429 is `auth_failed` (the credentials, token URL included, need fixing); anything else that fails is
 * `transient`. Headers carry it as `Authorization: Bearer <token>`.
 */
export function clientCredentialsTokens(params: {
  /** Named in error messages, e.g. `Reapit`. */
  label: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Form fields beyond `grant_type`, e.g. Reapit's `client_id`. */
  extraBody?: Record<string, string>;
  fetch: typeof fetch;
  cache?: ClientCredentialsTokenCache | undefined;
}) {
  const { label } = params;
  const cache = params.cache ?? new ClientCredentialsTokenCache();
  const key = tokenKey(params);

  async function fetchToken(signal: AbortSignal): Promise<Result<HeldToken, ProviderError>> {
    const basic = Buffer.from(`${params.clientId}:${params.clientSecret}`).toString('base64');
    const deadline = new Deadline(TOKEN_TIMEOUT_MS, signal);
    try {
      const response = await deadline.race(
        params.fetch(params.tokenUrl, {
          method: 'POST',
          headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', ...params.extraBody }),
          signal: deadline.signal,
        }),
      );
      // The token URL is one of the credentials: a 4xx (a 404 or 405 from a wrong path included) is mended only by
      // entering them again, never by waiting. No answer, a 408, a 429 or a 5xx may pass.
      const passing = response.status === 408 || response.status === 429 || response.status >= 500;
      if (response.status >= 400 && !passing) {
        return err({
          kind: 'auth_failed',
          status: response.status,
          message: `${label} token request refused (${response.status})`,
        });
      }
      if (!response.ok) {
        return err({ kind: 'transient', status: response.status, message: `${label} token endpoint failed` });
      }
      const body = tokenResponseSchema.safeParse(await deadline.race(response.json()));
      if (!body.success) {
        // Names the fields at fault, never their values: the answer carries a secret.
        const fields = [...new Set(body.error.issues.map((issue) => issue.path.join('.') || '(body)'))];
        return err({
          kind: 'validation',
          status: response.status,
          message: `${label} token response unreadable: ${fields.join(', ')}`,
        });
      }
      return ok({ token: body.data.access_token, expiresAt: Date.now() + heldFor(body.data.expires_in) });
    } catch (error) {
      return err({
        kind: 'transient',
        status: null,
        message: `${label} token request failed: ${String(error)}`,
      });
    } finally {
      deadline.clear();
    }
  }

  return {
    /** A valid token, from the cache or a new request. */
    get(signal?: AbortSignal): Promise<Result<string, ProviderError>> {
      return cache.get(key, fetchToken, signal, (reason) => ({
        kind: 'transient',
        status: null,
        message: `${label} token request failed: ${String(reason)}`,
      }));
    },
    /**
     * Forgets the token of `refused` (the headers of a call the API answered 401) before its stated expiry: it
     * was revoked, or outlived by a call that waited or retried. A newer token another call fetched is kept.
     */
    invalidate(refused: Readonly<Record<string, string>>): void {
      const bearer = /^Bearer (.+)$/.exec(refused.authorization ?? '');
      if (bearer?.[1] !== undefined) cache.drop(key, bearer[1]);
    },
  };
}

/**
 * A provider's paced HTTP client that authenticates with client-credentials tokens (`clientCredentialsTokens`): each
 * call carries `Authorization: Bearer <token>` and the provider's own `headers`, and a 401 renews the token once.
 */
export function clientCredentialsTransport(params: {
  /** Named in error messages, e.g. `Reapit`. */
  label: string;
  baseUrl: string;
  spec: ProviderSpec;
  credentials: { tokenUrl: string; clientId: string; clientSecret: string };
  /** Form fields of the token request beyond `grant_type`, e.g. Reapit's `client_id`. */
  extraBody?: Record<string, string>;
  /** Sent with the token on every call, e.g. the customer or agency a key serves. */
  headers: Record<string, string>;
  /** The connection's limiter; defaults to one built from `spec`. */
  limiter?: ConnectionLimiter | undefined;
  fetch?: typeof fetch | undefined;
  /** The process's tokens; without it the provider keeps its own. */
  tokenCache?: ClientCredentialsTokenCache | undefined;
}): HttpTransport {
  const fetchImpl = params.fetch ?? fetch;
  const { tokenUrl, clientId, clientSecret } = params.credentials;
  const tokens = clientCredentialsTokens({
    label: params.label,
    tokenUrl,
    clientId,
    clientSecret,
    ...(params.extraBody ? { extraBody: params.extraBody } : {}),
    fetch: fetchImpl,
    cache: params.tokenCache,
  });
  return createHttpTransport({
    baseUrl: params.baseUrl,
    spec: params.spec,
    limiter: params.limiter ?? createLimiter(params.spec),
    fetch: fetchImpl,
    renewAuth: tokens.invalidate,
    headers: async (signal) => {
      const token = await tokens.get(signal);
      if (!token.ok) return token;
      return ok({ authorization: `Bearer ${token.value}`, ...params.headers });
    },
  });
}
