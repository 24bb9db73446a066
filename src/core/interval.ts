import { err, ok, type Result } from './result.ts';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
const INTERVAL_PATTERN = /^(\d+)(s|m|h|d)$/;

/** Shortest and longest sync interval a tenant may choose. */
export const MIN_INTERVAL_SECONDS = 60;
export const MAX_INTERVAL_SECONDS = 86_400;

/**
 * Parses a sync interval such as `15m`, `1h` or `120s` into seconds.
 * The scheduler ticks once a minute, so an interval below a minute, or not a whole number of minutes, is refused
 * rather than silently rounded (`90s` ran a cycle every minute).
 */
export function parseInterval(text: string): Result<number, string> {
  const match = INTERVAL_PATTERN.exec(text.trim());
  if (!match) return err(`malformed interval "${text}": use a number and a unit s, m, h or d, e.g. 15m`);
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  if (seconds < MIN_INTERVAL_SECONDS) return err(`interval "${text}" is below the 1m minimum`);
  if (seconds > MAX_INTERVAL_SECONDS) return err(`interval "${text}" is above the 1d maximum`);
  if (seconds % UNIT_SECONDS.m !== 0)
    return err(`interval "${text}" is not a whole number of minutes: the scheduler ticks once a minute`);
  return ok(seconds);
}

/** Formats seconds back into the largest whole unit, e.g. 900 → `15m`. */
export function formatInterval(seconds: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    if (seconds % UNIT_SECONDS[unit] === 0) return `${seconds / UNIT_SECONDS[unit]}${unit}`;
  }
  return `${seconds}s`;
}
