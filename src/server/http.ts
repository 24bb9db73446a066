import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { repeatedJsonKey } from '../core/repeatedJsonKey.ts';
import { err, ok, type Result } from '../core/result.ts';
import { uuidSchema } from '../core/schemas.ts';
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

/** One part of a request that a route reads. */
export type RequestPart = 'path' | 'query' | 'body';

/**
 * Why one part of a request was refused, before it becomes a response: `readInput` gathers the problems of every
 * part into one answer.
 */
export interface InputProblem {
  status: 400 | 415;
  error: string;
  /** zod's issues; present on every 400 (empty when the part was not the kind of document expected). */
  issues?: z.core.$ZodIssue[];
}

/** Validates `value` as one part of the request; the problem names the part. */
export function validatePart<T>(
  schema: z.ZodType<T>,
  value: unknown,
  part: RequestPart,
): Result<T, InputProblem> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  return err({
    status: 400,
    error: `invalid ${part}: ${z.prettifyError(parsed.error)}`,
    issues: parsed.error.issues,
  });
}

/** Validates `value`; the error is the 400 response naming `part`. For input checked after the request's parts. */
export function validate<T>(
  c: Context,
  schema: z.ZodType<T>,
  value: unknown,
  part: RequestPart,
): Result<T, Response> {
  const checked = validatePart(schema, value, part);
  return checked.ok ? checked : err(fail(c, checked.error.status, checked.error.error, checked.error.issues));
}

type PartValues<TParts extends Record<string, Result<unknown, InputProblem>>> = {
  [K in keyof TParts]: Extract<TParts[K], { ok: true }>['value'];
};

/**
 * The request's parts (path, query, body: read them in that order), or one response for every problem they
 * have: a request bad in its path and its query hears of both at once. Any invalid part makes it a 400 listing
 * every part's issues (a body not declared JSON is named in its text); a body not declared JSON alone is a 415.
 */
export function readInput<TParts extends Record<string, Result<unknown, InputProblem>>>(
  c: Context,
  parts: TParts,
): Result<PartValues<TParts>, Response> {
  const problems = Object.values(parts).flatMap((part) => (part.ok ? [] : [part.error]));
  const [first] = problems;
  if (first === undefined) {
    const values = Object.entries(parts).map(([name, part]) => [name, part.ok ? part.value : undefined]);
    return ok(Object.fromEntries(values) as PartValues<TParts>);
  }
  if (problems.every((problem) => problem.status !== 400)) return err(fail(c, first.status, first.error));
  const error = problems.map((problem) => problem.error).join('\n');
  return err(
    fail(
      c,
      400,
      error,
      problems.flatMap((problem) => problem.issues ?? []),
    ),
  );
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `application/json` or a JSON-based type (`application/merge-patch+json`), parameters aside. */
const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/**
 * The request's JSON body, validated. A body declared as anything but JSON is a 415; a body that is not JSON
 * is a 400 like any other bad body.
 */
export async function readBody<T>(c: Context, schema: z.ZodType<T>): Promise<Result<T, InputProblem>> {
  const type = c.req.header('content-type');
  if (type === undefined || !JSON_MEDIA_TYPE.test(type))
    return err({
      status: 415,
      error: `expected Content-Type: application/json (or a JSON type, application/*+json), got ${type === undefined ? 'none' : type.slice(0, 100)}`,
    });
  let text: string;
  try {
    // Fatal: JSON is UTF-8 (RFC 8259), and a byte that is not would otherwise become U+FFFD, stored and pushed.
    text = utf8.decode(await c.req.arrayBuffer());
  } catch {
    return err({
      status: 400,
      error: 'invalid body: expected UTF-8 text; a byte in it is not UTF-8',
      issues: [],
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return err({ status: 400, error: 'invalid body: expected a JSON document', issues: [] });
  }
  // A field given twice is refused as a query parameter given twice is: JSON.parse kept the last without a word.
  const repeated = repeatedJsonKey(text);
  if (repeated !== null) {
    const issues: z.core.$ZodIssue[] = [
      { code: 'custom', path: repeated, message: 'given more than once', input: undefined },
    ];
    return err({ status: 400, error: `invalid body: ${z.prettifyError(new z.ZodError(issues))}`, issues });
  }
  return validatePart(schema, json, 'body');
}

/** For an action that takes no options: a body (say `{"full": true}`) would otherwise be ignored without a word. */
export async function readNoBody(c: Context): Promise<Result<undefined, InputProblem>> {
  if ((await c.req.text()).trim() === '') return ok(undefined);
  return err({ status: 400, error: 'invalid body: this action takes no body', issues: [] });
}

/**
 * The request's query parameters, validated. A parameter given twice (`limit=1&limit=300`) is a 400 naming it:
 * taking either value would answer a question the caller may not have asked. Its issues come with the others.
 */
export function readQuery<T>(c: Context, schema: z.ZodType<T>): Result<T, InputProblem> {
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
  // Hono leaves a parameter without a name out of `query()` (`?=1`): refused as one the route does not take.
  const unnamed: z.core.$ZodIssue[] = new URL(c.req.url).searchParams.has('')
    ? [{ code: 'custom', path: [''], message: 'a parameter without a name', input: undefined }]
    : [];
  const parsed = schema.safeParse(c.req.query());
  const issues = [...repeated, ...unnamed, ...(parsed.success ? [] : parsed.error.issues)];
  if (parsed.success && issues.length === 0) return ok(parsed.data);
  return err({ status: 400, error: `invalid query: ${z.prettifyError(new z.ZodError(issues))}`, issues });
}

/** For a route that takes no query parameters: any given is a 400, as an unknown one is on the routes that take some. */
export function readNoQuery(c: Context): Result<Record<string, never>, InputProblem> {
  return readQuery(c, z.strictObject({}));
}

/** The route's path parameters, validated (ids are uuids; anything else is a 400, not a database error). */
export function readParams<T>(c: Context, schema: z.ZodType<T>): Result<T, InputProblem> {
  return validatePart(schema, c.req.param(), 'path');
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

/**
 * Path parameters of the routes under a tenant, each id in lower case. PostgreSQL reads `0544D74D-…` as the same
 * uuid, but the store also uses ids as text: a connection's credentials are sealed under them (a Sync now naming
 * it in capitals could not open them: a 500) and its lease is locked under one (another key, another lock).
 */
export const tenantParamsSchema = z.strictObject({ tenantId: uuidSchema });
export const connectionParamsSchema = tenantParamsSchema.extend({ connectionId: uuidSchema });
export const contactParamsSchema = tenantParamsSchema.extend({ contactId: uuidSchema });

/**
 * A whole number from `min` to `max` as a query or path parameter, written in decimal digits: a coerced number
 * would read `0x10` as 16, `1e2` as 100 and an empty `limit=` as 0. Any number of digits: one past `max` is
 * refused by the range (a digit count would refuse `Number.MAX_SAFE_INTEGER`'s 16 as not a number at all).
 */
export const decimalParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number in decimal digits')
    .transform(Number)
    .pipe(z.number().min(min).max(max));
