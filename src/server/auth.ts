import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { fail } from './http.ts';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Requires `Authorization: Bearer <token>`. The comparison is constant-time over SHA-256 digests, so
 * neither the token's content nor its length leaks through timing.
 */
export function bearerAuth(token: string): MiddlewareHandler {
  const expected = digest(token);
  return async (c, next) => {
    const presented = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      c.header('WWW-Authenticate', 'Bearer realm="crm-sync admin"');
      return fail(c, 401, 'missing or invalid bearer token');
    }
    await next();
  };
}
