import { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';
import { Deadline } from './deadline.ts';
import type { ProviderError } from './provider.ts';

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().positive(),
});

/** Renew this long before the token's stated expiry, so a call never carries a token that lapses in flight. */
const RENEW_EARLY_MS = 60_000;
const TOKEN_TIMEOUT_MS = 30_000;

/**
 * An OAuth2 client-credentials token (`POST tokenUrl`, HTTP Basic client id and secret, form body), fetched
 * once and reused until a minute before it expires (or until the API refuses it: `invalidate`); concurrent callers
 * share one request. A 400/401/403 is `auth_failed` (the credentials need fixing), anything else that fails is
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
}) {
  const { label } = params;
  let cached: { token: string; expiresAt: number } | null = null;
  let pending: Promise<Result<string, ProviderError>> | null = null;

  async function fetchToken(signal?: AbortSignal): Promise<Result<string, ProviderError>> {
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
      if (response.status === 400 || response.status === 401 || response.status === 403) {
        return err({
          kind: 'auth_failed',
          status: response.status,
          message: `${label} token request refused`,
        });
      }
      if (!response.ok) {
        return err({ kind: 'transient', status: response.status, message: `${label} token endpoint failed` });
      }
      const body = tokenResponseSchema.safeParse(await deadline.race(response.json()));
      if (!body.success) {
        return err({ kind: 'validation', status: response.status, message: `${label} token response` });
      }
      cached = {
        token: body.data.access_token,
        expiresAt: Date.now() + body.data.expires_in * 1000 - RENEW_EARLY_MS,
      };
      return ok(body.data.access_token);
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
    async get(signal?: AbortSignal): Promise<Result<string, ProviderError>> {
      if (cached && cached.expiresAt > Date.now()) return ok(cached.token);
      pending ??= fetchToken(signal).finally(() => {
        pending = null;
      });
      return pending;
    },
    /**
     * Forgets the token of `refused` (the headers of a call the API answered 401) before its stated expiry: it
     * was revoked, or outlived by a call that waited or retried. A newer token another call fetched is kept.
     */
    invalidate(refused: Readonly<Record<string, string>>): void {
      if (cached && refused.authorization === `Bearer ${cached.token}`) cached = null;
    },
  };
}
