import { z } from 'zod';
import { contactFields } from '../core/schemas.ts';

/**
 * A provider's quirks as data: documented limits, retry behaviour, paging and capabilities.
 * Each provider's `spec.ts` declares one; it is validated once at boot with `defineSpec`.
 */

/** Limits count whole calls: the client and the simulator would round a fraction differently. */
const calls = z.number().int().positive();

export const providerLimitsSchema = z.strictObject({
  /** Every request, counted per second. */
  requestsPerSecond: calls.optional(),
  /** Every request, counted per minute. */
  requestsPerMinute: calls.optional(),
  /** Reads (GET) only, per second, where the provider counts them apart from writes. */
  readsPerSecond: calls.optional(),
  /** Reads (GET) only, per minute, where the provider counts them apart from writes. */
  readsPerMinute: calls.optional(),
  /** Writes (POST/PUT/PATCH/DELETE) only, per second. */
  writesPerSecond: calls.optional(),
  /** Writes (POST/PUT/PATCH/DELETE) only, per minute. */
  writesPerMinute: calls.optional(),
  /** Requests in flight at once. */
  maxConcurrent: z.number().int().positive().optional(),
  /** Daily quota; spent → `quota_exhausted` until the next UTC midnight. */
  requestsPerDay: z.number().int().positive().optional(),
  /** Rolling (sliding) windows rather than fixed clock windows; the simulator enforces whichever is declared. */
  rolling: z.boolean().default(true),
});
export type ProviderLimits = z.infer<typeof providerLimitsSchema>;

export const providerRetrySchema = z.strictObject({
  /** Header carrying the wait on a 429; default the standard `Retry-After`, read whenever a provider sends it. */
  retryAfterHeader: z.string().min(1).optional(),
  /** Wait after a 429 without a usable header. */
  waitAfter429Ms: z.number().int().nonnegative(),
  /**
   * `waitAfter429Ms` is also the least wait, whatever a header says: for a provider that documents its wait and
   * punishes calling sooner, against a `Retry-After: 0` or a clock that reads its HTTP-date as past.
   */
  waitAfter429IsLeast: z.boolean().optional(),
  /** Attempts in total per call, the first included. */
  maxAttempts: z.number().int().min(1),
  /** First wait after a transient failure; doubles per attempt. */
  transientBaseMs: z.number().int().nonnegative().default(250),
  transientMaxMs: z.number().int().nonnegative().default(5_000),
  /** Per-attempt timeout; a write's is never longer than `WRITE_TIME_LIMIT_MS`. */
  timeoutMs: z.number().int().positive().default(30_000),
});

/**
 * The longest a write's attempt waits for its answer: a third of a run's lease (`connectionRunner`). A run whose
 * renewals fail stops with that third of its lease left, and a write it had sent, never cut by the stop (its
 * answer tells whether the CRM made it), is answered or cut before another worker may take the lease over and
 * look for it; with 30 s, the holder could look first, find nothing yet and create the person again.
 */
export const WRITE_TIME_LIMIT_MS = 20_000;

export const providerPaginationSchema = z.strictObject({
  type: z.enum(['page', 'cursor', 'offset']),
  maxPageSize: z.number().int().positive(),
  defaultPageSize: z.number().int().positive(),
});

const contactFieldSchema = z
  .enum(contactFields as [string, ...string[]])
  .transform((f) => f as (typeof contactFields)[number]);

export const providerCapabilitiesSchema = z.strictObject({
  deltaMode: z.enum(['modifiedSince', 'cursorToken', 'snapshotDiff']),
  writeMode: z.enum(['patchIfMatch', 'jsonPatch', 'limitedFields', 'postOnly', 'put']),
  canCreate: z.boolean(),
  canUpdate: z.boolean(),
  canSearchByEmail: z.boolean(),
  createMergesByEmail: z.boolean(),
  /** `ProviderCapabilities.canGetRecord`; default false: `getRecord` answers `unsupported`. */
  canGetRecord: z.boolean().default(false),
  /**
   * `ProviderCapabilities.maxIdsPerRead`: ids `getRecords` reads in one request, where the CRM documents a read of
   * several records by id. Default null: one `getRecord` per record.
   */
  maxIdsPerRead: z.number().int().positive().nullable().default(null),
  /**
   * How long after a create is sent the CRM may not show it yet, in ms (`ProviderCapabilities.createSettleMs`).
   * Default 0: the create is applied before it is answered. Keep it well inside the connection's backoff (its
   * first four retries wait at least 3¾ minutes in all), or a lost create would stop the connection in error.
   */
  createSettleMs: z.number().int().nonnegative().default(0),
  maxPageSize: z.number().int().positive(),
  storedFields: z.array(contactFieldSchema).readonly(),
  writableFields: z.array(contactFieldSchema).readonly(),
});

/**
 * A place in a JSON error body: property names joined by `.`, `[]` after a name for each item of the array there,
 * and `{}` at the end for the keys of the object there (`errors[].code`, `errors[].source.pointer`, `ModelState{}`).
 */
const errorBodyPathSchema = z
  .string()
  .regex(
    /^[A-Za-z_$][\w$]*(\[\])?(\.[A-Za-z_$][\w$]*(\[\])?)*(\{\})?$/,
    'a path such as errors[].code or errors{}',
  );

export const providerErrorBodySchema = z.strictObject({
  /** Where the body says what kind of error it is: a code, a problem type, a title that does not vary per call. */
  kind: z.array(errorBodyPathSchema).readonly(),
  /** Where it names the fields it refused (the names, never their messages, which may quote the value). */
  fields: z.array(errorBodyPathSchema).readonly(),
});
export type ProviderErrorBody = z.infer<typeof providerErrorBodySchema>;

/**
 * How the CRM refuses a write the credentials may not make while they still read (a write scope the agency did not
 * grant). Such a write is `write_forbidden` when `probe` is still served — the push holds its writes, the reads go on
 * — and `auth_failed` when the probe is refused too: credentials revoked outright.
 */
export const providerWriteScopeSchema = z.strictObject({
  /** What the CRM answers such a write with (statuses the retry policy reads as a refused credential). */
  statuses: z
    .array(z.union([z.literal(401), z.literal(403)]))
    .nonempty()
    .readonly(),
  /** One cheap read (`GET`, path and query) the same credentials must be served. */
  probe: z.string().startsWith('/'),
  /** What the operator must grant, as the held writes' note tells them. */
  grant: z.string().min(1),
});
export type ProviderWriteScope = z.infer<typeof providerWriteScopeSchema>;

export const providerSpecSchema = z
  .strictObject({
    limits: providerLimitsSchema,
    retry: providerRetrySchema,
    pagination: providerPaginationSchema,
    capabilities: providerCapabilitiesSchema,
    /**
     * Query parameters whose values are personal data (the e-mail a search looks for), as the API names them
     * (`filter[email_address]`, not `filter%5Bemail_address%5D`). A failed call's message (a connection's last
     * error, the audit, the worker's log line) shows the request's path and query with these values left out
     * (`query=…`). Required, so a new provider decides it; `[]` when no call puts personal data in its URL.
     */
    personalQueryParams: z.array(z.string().min(1)).readonly(),
    /**
     * What a failed call's message may show of a JSON error body: only values at these places, documented as
     * codes or field names, and only those that read as one (`errorBody.ts`). The rest of the body, free text
     * that may quote the e-mail or phone sent, and any body not JSON, is not shown; its size is. Required, so a new
     * provider decides it; `{ kind: [], fields: [] }` shows status and size alone.
     */
    errorBody: providerErrorBodySchema,
    /** Absent where the CRM documents no refusal of writes alone. */
    writeScope: providerWriteScopeSchema.optional(),
  })
  .refine(
    (s) => s.pagination.defaultPageSize <= s.pagination.maxPageSize,
    'defaultPageSize exceeds maxPageSize',
  )
  .refine(
    (s) => s.capabilities.maxPageSize === s.pagination.maxPageSize,
    'capabilities.maxPageSize ≠ pagination',
  )
  .refine(
    (s) => s.capabilities.maxIdsPerRead === null || s.capabilities.canGetRecord,
    'maxIdsPerRead needs canGetRecord (each id is answered as getRecord answers it)',
  )
  .refine(
    (s) => s.capabilities.writableFields.every((f) => s.capabilities.storedFields.includes(f)),
    'a writable field must also be stored',
  );
export type ProviderSpec = z.infer<typeof providerSpecSchema>;
export type ProviderSpecInput = z.input<typeof providerSpecSchema>;

/** Validates a spec at module load; a bad spec is a bug in our constants, so it throws. */
export function defineSpec(input: ProviderSpecInput): ProviderSpec {
  const parsed = providerSpecSchema.safeParse(input);
  if (!parsed.success) throw new Error(`invalid provider spec: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** A rate window a provider declares: at most `limit` calls of what it `counts` in any `windowMs`. */
export interface RateWindow {
  limit: number;
  windowMs: number;
  counts: 'all' | 'read' | 'write';
}

/**
 * The rate windows `limits` declares, all calls' first: the one list the client's limiter, the simulators' gate and
 * the bench's least time are built from.
 */
export function rateWindows(limits: ProviderLimits): RateWindow[] {
  const declared: Array<{ limit: number | undefined; windowMs: number; counts: RateWindow['counts'] }> = [
    { limit: limits.requestsPerSecond, windowMs: 1_000, counts: 'all' },
    { limit: limits.requestsPerMinute, windowMs: 60_000, counts: 'all' },
    { limit: limits.readsPerSecond, windowMs: 1_000, counts: 'read' },
    { limit: limits.readsPerMinute, windowMs: 60_000, counts: 'read' },
    { limit: limits.writesPerSecond, windowMs: 1_000, counts: 'write' },
    { limit: limits.writesPerMinute, windowMs: 60_000, counts: 'write' },
  ];
  return declared.flatMap(({ limit, windowMs, counts }) =>
    limit === undefined ? [] : [{ limit, windowMs, counts }],
  );
}

/** Every rate limit off, for `withSpec` and simulators: benchmarks of throughput and the soak, never production. */
export const noRateLimits: Partial<ProviderLimits> = {
  requestsPerSecond: undefined,
  requestsPerMinute: undefined,
  readsPerSecond: undefined,
  readsPerMinute: undefined,
  writesPerSecond: undefined,
  writesPerMinute: undefined,
  maxConcurrent: undefined,
  requestsPerDay: undefined,
};

/** A copy of `spec` with some parts replaced (tests scale windows and waits this way). */
export function withSpec(
  spec: ProviderSpec,
  changes: { limits?: Partial<ProviderLimits>; retry?: Partial<ProviderSpec['retry']> },
): ProviderSpec {
  return defineSpec({
    ...spec,
    limits: { ...spec.limits, ...changes.limits },
    retry: { ...spec.retry, ...changes.retry },
  });
}
