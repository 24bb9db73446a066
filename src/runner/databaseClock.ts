import type { Result } from '../core/result.ts';

/**
 * The time every process on one database goes by. Leases, due times and backoff instants are written by one
 * process and judged by another, perhaps on another host: on each host's own wall clock, a worker two minutes
 * ahead of the lease holder's saw a live lease as run out and ran the same cycle beside it (pushing twice), and
 * one behind saw due runs as not yet due. So the clock is the host's wall clock corrected by its offset from the
 * database server's, read when the process starts and every minute after. The wall clock, not the monotonic one,
 * carries time between readings: it counts a suspended machine's sleep, which a lease's holder must notice. A step
 * of the wall clock between readings (NTP, an operator) is told from the monotonic clock, which no step moves: the
 * database's time is read again at once, and until it is the clock goes by whichever of the two is later. Stepped
 * back 45 s mid-push, a holder wrote lease renewals already run out until the next reading, up to a minute on,
 * and another worker took the connection over beside it.
 */
export interface DatabaseClock {
  now(): Date;
  /** Stops the readings; `now` keeps the last offset. */
  stop(): void;
}

export interface DatabaseClockOptions {
  /** The database's time now. */
  read: () => Promise<Result<Date, { message: string }>>;
  /** The host's wall clock in epoch ms; `Date.now` by default. */
  wallClock?: () => number;
  /** A clock no step of the wall clock moves, in ms; `performance.now` by default. */
  monotonic?: () => number;
  /** How often to read the database's time again; a minute by default. */
  readEveryMs?: number;
  /**
   * How far a new offset must differ from the one in use to be taken, a second by default: the round trip's
   * jitter is not a change of time, and following it would move time back by milliseconds.
   */
  followBeyondMs?: number;
}

/** The database's time minus the host's, the reading placed halfway through its round trip. */
export function offsetOf(readAt: Date, sentAtWall: number, answeredAtWall: number): number {
  return readAt.getTime() - (sentAtWall + answeredAtWall) / 2;
}

/** The offset to go by after a new one is measured: the one in use unless they differ by more than `followBeyondMs`. */
export function nextOffset(current: number, measured: number, followBeyondMs: number): number {
  return Math.abs(measured - current) > followBeyondMs ? measured : current;
}

export async function startDatabaseClock(options: DatabaseClockOptions): Promise<DatabaseClock> {
  const wallClock = options.wallClock ?? Date.now;
  const monotonic = options.monotonic ?? (() => performance.now());
  const followBeyondMs = options.followBeyondMs ?? 1_000;

  const measure = async (): Promise<{ offsetMs: number; wallAt: number; monoAt: number } | null> => {
    const sentAt = wallClock();
    const read = await options.read();
    const wallAt = wallClock();
    return read.ok ? { offsetMs: offsetOf(read.value, sentAt, wallAt), wallAt, monoAt: monotonic() } : null;
  };

  // Until the database's time can be read, the host's is all there is.
  let reading = (await measure()) ?? { offsetMs: 0, wallAt: wallClock(), monoAt: monotonic() };
  let measuring = false;
  let lastTriedAt = Number.NEGATIVE_INFINITY;
  const readAgain = async () => {
    if (measuring) return;
    measuring = true;
    lastTriedAt = monotonic();
    try {
      // A failed reading (the database briefly away) keeps the offset in use.
      const measured = await measure().catch(() => null);
      if (measured !== null)
        reading = { ...measured, offsetMs: nextOffset(reading.offsetMs, measured.offsetMs, followBeyondMs) };
    } finally {
      measuring = false;
    }
  };
  const timer = setInterval(readAgain, options.readEveryMs ?? 60_000);
  timer.unref();

  return {
    now: () => {
      const byWall = wallClock() + reading.offsetMs;
      const byMonotonic = reading.wallAt + reading.offsetMs + (monotonic() - reading.monoAt);
      if (Math.abs(byWall - byMonotonic) <= followBeyondMs) return new Date(byWall);
      // Stepped (or the machine slept) since the last reading: read again, at most once a second while it fails.
      if (monotonic() - lastTriedAt >= 1_000) void readAgain();
      return new Date(Math.max(byWall, byMonotonic));
    },
    stop: () => clearInterval(timer),
  };
}
