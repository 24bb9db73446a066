import { describe, expect, it } from 'vitest';
import { err, ok } from '../core/result.ts';
import { nextAnchor, startDatabaseClock } from './databaseClock.ts';

const DB_EPOCH = Date.parse('2026-12-02T12:00:00.000Z');

/** A database whose time is `DB_EPOCH + offset` at monotonic `t`, reached in `roundTripMs`. */
function world(options: { roundTripMs?: number } = {}) {
  const state = { t: 1_000, dbOffsetMs: 0, failing: false, reads: 0 };
  const roundTrip = options.roundTripMs ?? 0;
  return {
    state,
    monotonic: () => state.t,
    read: async () => {
      state.reads += 1;
      if (state.failing) return err({ message: 'database unavailable' });
      // The server reads its clock halfway through the round trip.
      state.t += roundTrip / 2;
      const at = new Date(DB_EPOCH + state.t + state.dbOffsetMs);
      state.t += roundTrip / 2;
      return ok(at);
    },
  };
}

describe('startDatabaseClock', () => {
  it("tells the database's time, not the host's wall clock, and runs on the monotonic clock in between", async () => {
    const w = world({ roundTripMs: 40 });
    const clock = await startDatabaseClock({
      read: w.read,
      monotonic: w.monotonic,
      wallClock: () => DB_EPOCH + w.state.t + 120_000,
      readEveryMs: 3_600_000,
    });
    try {
      expect(clock.now().getTime()).toBe(DB_EPOCH + w.state.t);
      w.state.t += 5_000;
      expect(clock.now().getTime()).toBe(DB_EPOCH + w.state.t);
    } finally {
      clock.stop();
    }
  });

  it("starts on the host's wall clock when the database's time cannot be read, and follows the database once it can", async () => {
    const w = world();
    w.state.failing = true;
    w.state.dbOffsetMs = -90_000;
    const clock = await startDatabaseClock({
      read: w.read,
      monotonic: w.monotonic,
      wallClock: () => DB_EPOCH + w.state.t,
      readEveryMs: 5,
    });
    try {
      expect(clock.now().getTime()).toBe(DB_EPOCH + w.state.t);
      w.state.failing = false;
      const readsBefore = w.state.reads;
      await expect.poll(() => w.state.reads, { timeout: 2_000 }).toBeGreaterThan(readsBefore + 1);
      expect(clock.now().getTime()).toBe(DB_EPOCH + w.state.t - 90_000);
    } finally {
      clock.stop();
    }
  });
});

describe('nextAnchor', () => {
  const current = { epochMs: DB_EPOCH, monotonic: 0 };

  it("keeps the running clock when a reading differs by the round trip's jitter: time never steps back by milliseconds", () => {
    expect(nextAnchor(current, { epochMs: DB_EPOCH + 60_000 - 400, monotonic: 60_000 }, 1_000)).toBe(current);
    expect(nextAnchor(current, { epochMs: DB_EPOCH + 60_000 + 900, monotonic: 60_000 }, 1_000)).toBe(current);
  });

  it('follows a reading that differs by more: the database clock was stepped, or the monotonic one drifted', () => {
    const stepped = { epochMs: DB_EPOCH + 60_000 - 30_000, monotonic: 60_000 };
    expect(nextAnchor(current, stepped, 1_000)).toBe(stepped);
    const ahead = { epochMs: DB_EPOCH + 60_000 + 1_500, monotonic: 60_000 };
    expect(nextAnchor(current, ahead, 1_000)).toBe(ahead);
  });
});
