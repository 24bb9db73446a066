import type { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';
import type { ProviderError } from './provider.ts';

/** Page tokens are base64url JSON: opaque to callers, self-contained, safe to persist and resume from. */
export function encodePageToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodePageToken<T>(schema: z.ZodType<T>, token: string): Result<T, ProviderError> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return err({ kind: 'validation', status: null, message: 'page token is not base64url JSON' });
  }
  const parsed = schema.safeParse(json);
  return parsed.success
    ? ok(parsed.data)
    : err({ kind: 'validation', status: null, message: `page token: ${parsed.error.message}` });
}
