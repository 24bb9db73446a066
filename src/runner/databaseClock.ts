import type { Result } from '../core/result.ts';

/**
 * The time every process on one database goes by. Leases, due times and backoff instants are written by one
 * process and compared by another, perhaps on another host: on each host's own wall clock, a worker two minutes
 * ahead of the lease holder's saw a live lease as run out and ran the same cycle beside it (pushing twice), and
 * one behind saw runs as not yet due. So the clock is the database server's: read when the process starts and
 * now and then after, and run on the host's monotonic clock in between, which no wall-clock step moves.
 */
export interface DatabaseClock {
  now(): Date;
  /** Stops the readings; `now` goes on from the last one. */
  stop(): void;
}

export interface DatabaseClockOptions {
  /** The database's time now. */
  read: () => Promise<Result<Date, { message: string }>>;
  /** Used only when the first reading fails; `Date.now` by default. */
  wallClock?: () => number;
  /** Monotonic ms; `performance.now` by default. */
  monotonic?: () => number;
  /** How often to read the database's time again; a minute by default. */
  readEveryMs?: number;
  /**
   * How far a later reading must differ from the running clock to be followed, a second by default: the
   * round-trip's jitter is not a change of time, and following it would move time back by milliseconds.
   */
  followBeyondMs?: number;
}

export interface Anchor {
  /** The database's time, in epoch ms, at `monotonic`. */
  epochMs: number;
  monotonic: number;
}

/** A reading taken between two monotonic instants, placed at their midpoint (the round trip split evenly). */
export function anchorAt(readAt: Date, sentAt: number, answeredAt: number): Anchor {
  const monotonic = (sentAt + answeredAt) / 2;
  return { epochMs: readAt.getTime(), monotonic };
}

/** The anchor to keep after a new reading: the old one unless the reading disagrees by more than `followBeyondMs`. */
export function nextAnchor(current: Anchor, reading: Anchor, followBeyondMs: number): Anchor {
  const expected = current.epochMs + (reading.monotonic - current.monotonic);
  return Math.abs(reading.epochMs - expected) > followBeyondMs ? reading : current;
}

export async function startDatabaseClock(options: DatabaseClockOptions): Promise<DatabaseClock> {
  const monotonic = options.monotonic ?? (() => performance.now());
  const wallClock = options.wallClock ?? Date.now;
  const followBeyondMs = options.followBeyondMs ?? 1_000;

  const readAnchor = async (): Promise<Anchor | null> => {
    const sentAt = monotonic();
    const read = await options.read();
    return read.ok ? anchorAt(read.value, sentAt, monotonic()) : null;
  };

  let anchor = (await readAnchor()) ?? { epochMs: wallClock(), monotonic: monotonic() };
  let reading = false;
  const timer = setInterval(async () => {
    if (reading) return;
    reading = true;
    try {
      // A failed reading (the database briefly away) keeps the clock running on the last one.
      const next = await readAnchor().catch(() => null);
      if (next !== null) anchor = nextAnchor(anchor, next, followBeyondMs);
    } finally {
      reading = false;
    }
  }, options.readEveryMs ?? 60_000);
  timer.unref();

  return {
    now: () => new Date(anchor.epochMs + (monotonic() - anchor.monotonic)),
    stop: () => clearInterval(timer),
  };
}
