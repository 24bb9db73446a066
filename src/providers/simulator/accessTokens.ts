import type { SimRequest, SimResponse } from './server.ts';

/**
 * What the token endpoints announce: `expires_in: 3600`, Reapit's documented lifetime [R1]; Alto's is an
 * ASSUMPTION, the same ([A2] documents its client-credentials grant, not the token's answer).
 */
const EXPIRES_IN_SECONDS = 3_600;

/**
 * OAuth2 client-credentials tokens for a simulator (Reapit, Alto). A token is refused once it is older than its
 * lifetime, as the real services refuse an expired one with 401. Tokens are `<prefix>.<issued ms>`, checked
 * without state (like a signed JWT), so a restarted simulator still accepts what it issued.
 */
export function simAccessTokens(params: {
  prefix: string;
  clientId: string;
  clientSecret: string;
  /**
   * How long a token is accepted; default the announced `expires_in`. Shorter: refused before its stated expiry,
   * as after a revocation or a client clock that jumped (a test knob, not a documented behaviour).
   */
  ttlMs?: number | undefined;
  now?: () => number;
}) {
  const now = params.now ?? Date.now;
  const ttlMs = params.ttlMs ?? EXPIRES_IN_SECONDS * 1_000;
  const basic = `Basic ${Buffer.from(`${params.clientId}:${params.clientSecret}`).toString('base64')}`;
  return {
    /** `POST /token` with HTTP Basic client credentials → `{access_token, token_type, expires_in}`. */
    grant(req: SimRequest): SimResponse {
      if (req.method !== 'POST' || req.headers.authorization !== basic)
        return { status: 401, body: { error: 'invalid_client' } };
      return {
        status: 200,
        body: {
          access_token: `${params.prefix}.${now()}`,
          token_type: 'Bearer',
          expires_in: EXPIRES_IN_SECONDS,
        },
      };
    },
    /** Whether an `Authorization` header carries a token this simulator issued that has not expired. */
    accepts(authorization: string | undefined): boolean {
      const match = /^Bearer (.+)\.(\d+)$/.exec(authorization ?? '');
      if (!match || match[1] !== params.prefix) return false;
      const age = now() - Number(match[2]);
      return age >= 0 && age < ttlMs;
    },
  };
}
