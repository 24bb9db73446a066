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
 * The diagnostic lines of a long-running process (`worker`, `serve`) on stderr, when the line's severity is at
 * `LOG_LEVEL` or above: `LOG_LEVEL=warn` keeps the runs that failed and the process's own failures. As
 * `prefix: line` (`LOG_FORMAT=text`, the default), or one pino JSON object a line (`json`) for a log collector:
 * `level`, `time`, `pid`, `hostname`, `name` (the prefix) and `msg`.
 */
export function diagnostics(env: Pick<Env, 'LOG_LEVEL' | 'LOG_FORMAT'>, prefix: string) {
  if (env.LOG_FORMAT === 'json') {
    // Synchronous, as the text lines are: a line written just before the process exits is not lost.
    const logger = pino({ name: prefix, level: env.LOG_LEVEL }, pino.destination({ fd: 2, sync: true }));
    return (line: string, severity: Severity = 'info'): void => logger[severity](line);
  }
  return (line: string, severity: Severity = 'info'): void => {
    if (rank[severity] >= rank[env.LOG_LEVEL]) process.stderr.write(`${prefix}: ${line}\n`);
  };
}
