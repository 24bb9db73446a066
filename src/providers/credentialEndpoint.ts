import { z } from 'zod';

/**
 * Why plain http is refused, after the field's name. The simulators and tests serve plain http on 127.0.0.1: traffic
 * to this machine never crosses a network.
 */
export const PLAIN_HTTP_REFUSED =
  'must be https: plain http would carry the credentials in clear text, so it is taken only for this machine ' +
  '(localhost, 127.0.0.0/8, ::1)';

/**
 * Why a URL holding a user name or password is refused: fetch refuses it with an error that quotes the URL whole,
 * which became a connection's last error, its audit and the worker's log.
 */
export const USERINFO_REFUSED =
  "must not hold a user name or password: messages and listings may quote the URL; they go in the connection's credentials";

/**
 * Why a base URL holding a query or a fragment is refused: every request's path is written after the base URL, so
 * `https://crm.example.com/api?office=1` sent `/api?office=1/contacts`, and `…/api#v2` sent every request to
 * `/api` itself, the rest being a fragment no request carries.
 */
export const BASE_URL_QUERY_REFUSED =
  "must not hold a query (?…) or fragment (#…): each request's path is added after it";

/** `localhost`, 127.0.0.0/8 or ::1, as `URL` writes a host (`127.1` and `0x7f000001` become `127.0.0.1`). */
export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Whether credentials may be sent to `url`: https anywhere, plain http only to this machine. */
export function isCredentialEndpoint(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname));
}

const hasUserinfo = (url: URL) => url.username !== '' || url.password !== '';

/** A URL credentials are sent to: a connection's base URL (API keys, tokens), an OAuth token URL (client secret). */
export const credentialEndpointSchema = z
  .url({ protocol: /^https?$/ })
  // Zod runs a refinement after a failed check too: a text that is no URL is reported by `url` alone.
  .refine((text) => !URL.canParse(text) || isCredentialEndpoint(new URL(text)), PLAIN_HTTP_REFUSED)
  .refine((text) => !URL.canParse(text) || !hasUserinfo(new URL(text)), USERINFO_REFUSED);

/** A connection's base URL: a URL credentials are sent to, that request paths are added after. */
export const baseUrlSchema = credentialEndpointSchema.refine(
  (text) => !URL.canParse(text) || !/[?#]/.test(text),
  BASE_URL_QUERY_REFUSED,
);

/**
 * Why credentials may not be sent to a stored URL, or `null` when they may. Earlier versions stored a base URL of
 * plain http to any host: such rows are read and listed as they are, and refused where the credentials would go.
 */
export function credentialEndpointProblem(url: string): string | null {
  return problemOf(credentialEndpointSchema, url);
}

/** Why a stored base URL cannot be called, or `null` when it can: `credentialEndpointProblem`, or a query or fragment. */
export function baseUrlProblem(url: string): string | null {
  return problemOf(baseUrlSchema, url);
}

function problemOf(schema: z.ZodType<string>, url: string): string | null {
  const checked = schema.safeParse(url);
  return checked.success ? null : (checked.error.issues[0]?.message ?? 'is not a URL');
}

/**
 * A stored URL as listings show it: a user name or password in it replaced by `***`, and what follows a `?` or `#`
 * by `…` (it may be an API key). Both are refused since dc45c6f and d1eac16, but a row stored before keeps them, and
 * `connection list`, `status` and the admin API printed it whole.
 */
export function shownUrl(url: string): string {
  return withUserinfoHidden(url).replace(/([?#])[\s\S]*$/, '$1…');
}

function withUserinfoHidden(url: string): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (!hasUserinfo(parsed)) return url;
  parsed.username = '***';
  parsed.password = '';
  return parsed.href;
}

/**
 * `text`, typed as a URL, as an error message may quote it: in quotes, a user name or password replaced as
 * `shownUrl` does, or words in its place when it holds an `@` and is no http(s) URL. No parser finds the password
 * of such a text: `https://admin:s3cret@host:99999/api` (a port out of range) does not parse, and
 * `admin:s3cret@host` parses as a URL of scheme `admin:`.
 */
export function quotedUrl(text: string): string {
  if (URL.canParse(text) && /^https?:$/.test(new URL(text).protocol)) return `"${shownUrl(text)}"`;
  return text.includes('@') ? 'a text holding "@" (not shown: it may hold a password)' : `"${text}"`;
}
