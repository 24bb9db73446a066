import { describe, expect, it } from 'vitest';
import { err, ok } from '../core/result.ts';
import { nextOffset, startDatabaseClock } from './databaseClock.ts';

/** A host whose wall clock the test moves, and a database whose clock is `dbAheadMs` ahead of it. */
function world(options: { roundTripMs?: number } = {}) {
  const state = { wall: Date.parse('2026-12-02T12:00:00.000Z'), dbAheadMs: 0, failing: false, reads: 0 };
  const roundTrip = options.roundTripMs ?? 0;
  return {
    state,
    wallClock: () => state.wall,
    read: async () => {
      state.reads += 1;
      if (state.failing) return err({ message: 'database unavailable' });
      // The server reads its clock halfway through the round trip.
      state.wall += roundTrip / 2;
      const at = new Date(state.wall + state.dbAheadMs);
      state.wall += roundTrip / 2;
      return ok(at);
    },
  };
}

describe('startDatabaseClock', () => {
  it("tells the database's time, however far the host's wall clock is from it, and goes on with the wall clock in between", async () => {
    const w = world({ roundTripMs: 40 });
    w.state.dbAheadMs = -120_000;
    const clock = await startDatabaseClock({ read: w.read, wallClock: w.wallClock, readEveryMs: 3_600_000 });
    try {
      expect(clock.now().getTime()).toBe(w.state.wall - 120_000);
      w.state.wall += 5_000;
      expect(clock.now().getTime()).toBe(w.state.wall - 120_000);
    } finally {
      clock.stop();
    }
  });

  it("follows a step of the host's wall clock at the next reading", async () => {
    const w = world();
    const clock = await startDatabaseClock({ read: w.read, wallClock: w.wallClock, readEveryMs: 5 });
    try {
      const before = clock.now().getTime();
      // NTP steps the host back 30 s; the database's clock goes on.
      w.state.wall -= 30_000;
      w.state.dbAheadMs = 30_000;
      const reads = w.state.reads;
      await expect.poll(() => w.state.reads, { timeout: 2_000 }).toBeGreaterThan(reads + 1);
      expect(clock.now().getTime()).toBe(before);
    } finally {
      clock.stop();
    }
  });

  it("starts on the host's wall clock when the database's time cannot be read, and follows the database once it can", async () => {
    const w = world();
    w.state.failing = true;
    w.state.dbAheadMs = -90_000;
    const clock = await startDatabaseClock({ read: w.read, wallClock: w.wallClock, readEveryMs: 5 });
    try {
      expect(clock.now().getTime()).toBe(w.state.wall);
      w.state.failing = false;
      const reads = w.state.reads;
      await expect.poll(() => w.state.reads, { timeout: 2_000 }).toBeGreaterThan(reads + 1);
      expect(clock.now().getTime()).toBe(w.state.wall - 90_000);
    } finally {
      clock.stop();
    }
  });
});

describe('nextOffset', () => {
  it("keeps the offset in use when a new one differs by the round trip's jitter: time never steps back by milliseconds", () => {
    expect(nextOffset(120_000, 120_000 - 400, 1_000)).toBe(120_000);
    expect(nextOffset(120_000, 120_000 + 900, 1_000)).toBe(120_000);
  });

  it('takes one that differs by more: a clock was stepped', () => {
    expect(nextOffset(120_000, 90_000, 1_000)).toBe(90_000);
    expect(nextOffset(0, 1_500, 1_000)).toBe(1_500);
  });
});
