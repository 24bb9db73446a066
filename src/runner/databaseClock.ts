import type { Result } from '../core/result.ts';

/**
 * The time every process on one database goes by. Leases, due times and backoff instants are written by one
 * process and judged by another, perhaps on another host: on each host's own wall clock, a worker two minutes
 * ahead of the lease holder's saw a live lease as run out and ran the same cycle beside it (pushing twice), and
 * one behind saw due runs as not yet due. So the clock is the host's wall clock corrected by its offset from the
 * database server's, read when the process starts and every minute after. The wall clock, not the monotonic one,
 * carries time between readings: it counts a suspended machine's sleep, which a lease's holder must notice.
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
  const followBeyondMs = options.followBeyondMs ?? 1_000;

  const measure = async (): Promise<number | null> => {
    const sentAt = wallClock();
    const read = await options.read();
    return read.ok ? offsetOf(read.value, sentAt, wallClock()) : null;
  };

  // Until the database's time can be read, the host's is all there is.
  let offsetMs = (await measure()) ?? 0;
  let measuring = false;
  const timer = setInterval(async () => {
    if (measuring) return;
    measuring = true;
    try {
      // A failed reading (the database briefly away) keeps the offset in use.
      const measured = await measure().catch(() => null);
      if (measured !== null) offsetMs = nextOffset(offsetMs, measured, followBeyondMs);
    } finally {
      measuring = false;
    }
  }, options.readEveryMs ?? 60_000);
  timer.unref();

  return {
    now: () => new Date(wallClock() + offsetMs),
    stop: () => clearInterval(timer),
  };
}
