import pino from 'pino';
import type { Env } from '../config/env.ts';
import type { Severity } from '../worker/embeddedWorker.ts';

/** pino's level names in their order, as `LOG_LEVEL` takes them. */
const rank: Readonly<Record<Env['LOG_LEVEL'], number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

/**
 * A logger taking pino-style calls, `(message)` or `(fields, message)`, as the Inngest SDK makes them (its
 * client's `logger` option): `pino` itself under `LOG_FORMAT=json`, a `prefix: line` writer under `text`.
 */
export interface DiagnosticsLogger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/**
 * The diagnostic lines of a long-running process (`worker`, `serve`) on stderr, when the line's severity is at
 * `LOG_LEVEL` or above: `LOG_LEVEL=warn` keeps the runs that failed and the process's own failures. As
 * `prefix: line` (`LOG_FORMAT=text`, the default), or one pino JSON object a line (`json`) for a log collector:
 * `level`, `time`, `pid`, `hostname`, `name` (the prefix) and `msg`.
 */
export function diagnostics(env: Pick<Env, 'LOG_LEVEL' | 'LOG_FORMAT'>, prefix: string) {
  const logger = diagnosticsLogger(env, prefix);
  return (line: string, severity: Severity = 'info'): void => logger[severity](line);
}

/**
 * `diagnostics` as a logger, for code that logs pino-style (the Inngest SDK): the same `LOG_LEVEL` and
 * `LOG_FORMAT`. In text, `(fields, message)` is one line: the message, `: ` and the `err` field's message (and its
 * cause's), then the other fields as JSON.
 */
export function diagnosticsLogger(
  env: Pick<Env, 'LOG_LEVEL' | 'LOG_FORMAT'>,
  prefix: string,
): DiagnosticsLogger {
  if (env.LOG_FORMAT === 'json') {
    // Synchronous, as the text lines are: a line written just before the process exits is not lost.
    return pino({ name: prefix, level: env.LOG_LEVEL }, pino.destination({ fd: 2, sync: true }));
  }
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]): void => {
      if (rank[level] >= rank[env.LOG_LEVEL]) process.stderr.write(`${prefix}: ${textLine(args)}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function textLine(args: unknown[]): string {
  const [first, second, ...rest] = args;
  let parts: string[];
  if (isRecord(first) && typeof second === 'string') {
    const { err, ...fields } = first;
    parts = [err === undefined ? second : `${second}: ${errorText(err)}`];
    if (Object.keys(fields).length > 0) parts.push(json(fields));
    parts.push(...rest.map(text));
  } else parts = args.map(text);
  // One line a message, whatever the SDK's message holds.
  return parts.join(' ').replace(/\s*\n\s*/g, ' ');
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !(value instanceof Error) && !Array.isArray(value);

const text = (value: unknown): string =>
  typeof value === 'string' ? value : value instanceof Error ? errorText(value) : json(value);

/** `fetch failed (connect ECONNREFUSED 127.0.0.1:8288)`: the message, and its cause's when it has one. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return text(error);
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}

function json(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
