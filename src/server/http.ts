import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';
import type { StoreError } from '../persistence/store.ts';

/**
 * What every admin API route shares: JSON error bodies, zod-validated input (400 with the issues, never a
 * 500) and one mapping from store failures to HTTP statuses.
 */

/** The body of every error response. `issues` are zod's, present when input failed validation. */
export interface ApiErrorBody {
  error: string;
  issues?: z.core.$ZodIssue[];
}

/** A JSON error response. */
export function fail(c: Context, status: ContentfulStatusCode, error: string, issues?: z.core.$ZodIssue[]) {
  const body: ApiErrorBody = issues === undefined ? { error } : { error, issues };
  return c.json(body, status);
}

/** Validates `value`; the error is the 400 response naming `what` was invalid. */
export function validate<T>(
  c: Context,
  schema: z.ZodType<T>,
  value: unknown,
  what: 'body' | 'path' | 'query',
): Result<T, Response> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  return err(fail(c, 400, `invalid ${what}: ${z.prettifyError(parsed.error)}`, parsed.error.issues));
}

/** `application/json` or a JSON-based type (`application/merge-patch+json`), parameters aside. */
const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/**
 * The request's JSON body, validated. A body declared as anything but JSON is a 415; a body that is not JSON
 * is a 400 like any other bad body.
 */
export async function readBody<T>(c: Context, schema: z.ZodType<T>): Promise<Result<T, Response>> {
  const type = c.req.header('content-type');
  if (type === undefined || !JSON_MEDIA_TYPE.test(type))
    return err(
      fail(
        c,
        415,
        `expected Content-Type: application/json, got ${type === undefined ? 'none' : type.slice(0, 100)}`,
      ),
    );
  let json: unknown;
  try {
    json = await c.req.json();
  } catch {
    return err(fail(c, 400, 'invalid body: expected a JSON document', []));
  }
  return validate(c, schema, json, 'body');
}

/**
 * The request's query parameters, validated. A parameter given twice (`limit=1&limit=300`) is a 400 naming it:
 * taking either value would answer a question the caller may not have asked.
 */
export function readQuery<T>(c: Context, schema: z.ZodType<T>): Result<T, Response> {
  const repeated = Object.entries(c.req.queries())
    .filter(([, values]) => values.length > 1)
    .map(
      ([name]): z.core.$ZodIssue => ({
        code: 'custom',
        path: [name],
        message: 'given more than once',
        input: undefined,
      }),
    );
  if (repeated.length > 0) {
    const names = repeated.map((issue) => issue.path.join('.')).join(', ');
    return err(fail(c, 400, `invalid query: ${names} given more than once`, repeated));
  }
  return validate(c, schema, c.req.query(), 'query');
}

/** For a route that takes no query parameters: any given is a 400, as an unknown one is on the routes that take some. */
export function readNoQuery(c: Context): Result<Record<string, never>, Response> {
  return readQuery(c, z.strictObject({}));
}

/** The route's path parameters, validated (ids are uuids; anything else is a 400, not a database error). */
export function readParams<T>(c: Context, schema: z.ZodType<T>): Result<T, Response> {
  return validate(c, schema, c.req.param(), 'path');
}

const storeStatus: Record<StoreError['kind'], ContentfulStatusCode> = {
  not_found: 404,
  conflict: 409,
  invalid_input: 400,
  lease_held: 409,
  lease_lost: 409,
  decrypt_failed: 500,
  corrupt: 500,
  unavailable: 503,
};

/** The response for a store failure. */
export function storeFailure(c: Context, error: StoreError) {
  return fail(c, storeStatus[error.kind], error.message);
}

/** Path parameters of the routes under a tenant. */
export const tenantParamsSchema = z.strictObject({ tenantId: z.uuid() });
export const connectionParamsSchema = tenantParamsSchema.extend({ connectionId: z.uuid() });
export const contactParamsSchema = tenantParamsSchema.extend({ contactId: z.uuid() });

/**
 * A whole number from `min` to `max` as a query or path parameter, written in decimal digits: a coerced number
 * would read `0x10` as 16, `1e2` as 100 and an empty `limit=` as 0.
 */
export const decimalParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,15}$/, 'expected a whole number in decimal digits')
    .transform(Number)
    .pipe(z.number().min(min).max(max));
