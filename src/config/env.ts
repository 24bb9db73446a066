import { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const postgresUrl = z
  .string()
  .refine((value) => URL.canParse(value) && /^postgres(ql)?:$/.test(new URL(value).protocol), {
    message: 'expected a postgres:// or postgresql:// URL',
  });

/**
 * An http(s) URL. `new URL` alone (and zod's `z.url()`) takes `localhost:8288` as a URL of scheme `localhost:`,
 * against which the Inngest SDK cannot resolve its paths: `serve` died with `TypeError: Invalid URL`.
 */
const isHttpUrl = (value: string): boolean =>
  URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);

/**
 * A TCP port, written in decimal digits (`Number` alone would take `0x50`, `1e3` and ` 80`). Not a secret, so the
 * refusal quotes what it got.
 */
const portNumber = z.string().transform((text, ctx) => {
  const port = Number(text);
  if (/^\d{1,5}$/.test(text) && port >= 1 && port <= 65_535) return port;
  ctx.addIssue({
    code: 'custom',
    message: `expected a port number from 1 to 65535, got ${JSON.stringify(text)}`,
  });
  return z.NEVER;
});

/**
 * Every environment variable crm-sync reads. Parsed once at the composition root; nothing else
 * touches `process.env`. Empty strings count as unset.
 */
export const envSchema = z.object({
  /** Root of local state: PGlite database in `<dir>/db`, generated key file, lock file. */
  CRM_SYNC_DATA_DIR: z.string().min(1).default('./.crm-sync'),
  /** When set, the store is this Postgres server instead of embedded PGlite. */
  DATABASE_URL: postgresUrl.optional(),
  /** 32-byte AES-256-GCM key for credentials at rest, as 64 hex digits or base64. */
  CRM_SYNC_SECRET_KEY: z
    .string()
    .refine((value) => decodeSecretKey(value) !== null, {
      message: 'expected 32 bytes as 64 hex digits or base64',
    })
    .optional(),
  /** Bearer token for the admin API. */
  CRM_SYNC_ADMIN_TOKEN: z
    .string()
    .min(16, 'expected at least 16 characters')
    // Sent as `Authorization: Bearer <token>`, one word of a header fetch writes as Latin-1: a space ends the word,
    // a character above U+00FF fails every request ("Cannot convert argument to a ByteString"), and curl refuses
    // even `ö`.
    .regex(
      /^[\x21-\x7e]+$/,
      'expected printable ASCII only (letters, digits and punctuation, ! to ~): no spaces, tabs or accented letters',
    )
    .optional(),
  /**
   * `1`/`true` to use a local Inngest dev server (at `http://localhost:8288`), or its http(s) URL; `0`/`false`, as
   * unset, is off. What `inngestSettings` (src/inngest/client.ts) reads; anything else is refused at start.
   */
  INNGEST_DEV: z
    .string()
    .refine((value) => ['1', 'true', '0', 'false'].includes(value) || isHttpUrl(value), {
      message: "expected 1, true, 0, false or the dev server's http(s) URL",
    })
    .optional(),
  /**
   * Inngest's signing key (`signkey-prod-` and hex digits). The SDK reads what follows the prefix as hex and stops
   * at the first other character, so a key pasted with a stray character would start and then refuse every request.
   */
  INNGEST_SIGNING_KEY: z
    .string()
    .regex(
      /^(signkey-\w+-)?(?:[0-9a-f]{2})+$/i,
      'expected signkey-<env>- and hex digits, as Inngest shows it',
    )
    .optional(),
  INNGEST_EVENT_KEY: z.string().min(1).optional(),
  /** A self-hosted Inngest server's http(s) URL. */
  INNGEST_BASE_URL: z.string().refine(isHttpUrl, { message: 'expected an http(s) URL' }).optional(),
  /** HTTP port of `serve`. */
  PORT: portNumber.default(3000),
  LOG_LEVEL: z.enum(logLevels).default('info'),
  /** `text` (`crm-sync worker: line`) or `json` (one pino object a line) for the diagnostic lines. */
  LOG_FORMAT: z.enum(['text', 'json']).default('text'),
});
export type Env = z.infer<typeof envSchema>;

/** One line per bad variable, e.g. `PORT: expected a port number from 1 to 65535, got "x"`. */
export interface EnvError {
  kind: 'invalid_env';
  message: string;
  problems: string[];
}

/** Parse an environment record (normally `process.env`), listing every bad variable at once. */
export function parseEnv(source: Record<string, string | undefined>): Result<Env, EnvError> {
  const known = Object.keys(envSchema.shape);
  const present = Object.fromEntries(
    Object.entries(source).filter(
      ([key, value]) => known.includes(key) && value !== undefined && value !== '',
    ),
  );
  const parsed = envSchema.safeParse(present);
  if (parsed.success) return ok(parsed.data);
  // Never echo values back (PORT's refusal aside): some of these variables are secrets.
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  return err({ kind: 'invalid_env', message: `invalid environment: ${problems.join('; ')}`, problems });
}

/** The 32 key bytes of a hex or base64 key, or `null` when it is not exactly 32 bytes. */
export function decodeSecretKey(value: string): Buffer | null {
  const trimmed = value.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)
      ? Buffer.from(trimmed, 'base64')
      : null;
  return bytes !== null && bytes.length === 32 ? bytes : null;
}
