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
 * The diagnostic lines of a long-running process (`worker`, `serve`): `prefix: line` on stderr when the line's
 * severity is at `level` or above, so `LOG_LEVEL=warn` keeps the runs that failed and the process's own failures.
 */
export function diagnostics(level: Env['LOG_LEVEL'], prefix: string) {
  return (line: string, severity: Severity = 'info'): void => {
    if (rank[severity] >= rank[level]) process.stderr.write(`${prefix}: ${line}\n`);
  };
}
