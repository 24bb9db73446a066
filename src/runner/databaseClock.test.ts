import { describe, expect, it } from 'vitest';
import { err, ok } from '../core/result.ts';
import { nextOffset, startDatabaseClock } from './databaseClock.ts';

/**
 * A host whose wall and monotonic clocks the test moves (`pass` moves both; a step of the wall clock moves it
 * alone), and a database whose clock is `dbAheadMs` ahead of the wall clock.
 */
function world(options: { roundTripMs?: number } = {}) {
  const state = {
    wall: Date.parse('2026-12-02T12:00:00.000Z'),
    mono: 1_000,
    dbAheadMs: 0,
    failing: false,
    reads: 0,
  };
  const roundTrip = options.roundTripMs ?? 0;
  const pass = (ms: number) => {
    state.wall += ms;
    state.mono += ms;
  };
  return {
    state,
    pass,
    clocks: { wallClock: () => state.wall, monotonic: () => state.mono },
    read: async () => {
      state.reads += 1;
      if (state.failing) return err({ message: 'database unavailable' });
      // The server reads its clock halfway through the round trip.
      pass(roundTrip / 2);
      const at = new Date(state.wall + state.dbAheadMs);
      pass(roundTrip / 2);
      return ok(at);
    },
  };
}

describe('startDatabaseClock', () => {
  it("tells the database's time, however far the host's wall clock is from it, and goes on with the wall clock in between", async () => {
    const w = world({ roundTripMs: 40 });
    w.state.dbAheadMs = -120_000;
    const clock = await startDatabaseClock({ read: w.read, ...w.clocks, readEveryMs: 3_600_000 });
    try {
      expect(clock.now().getTime()).toBe(w.state.wall - 120_000);
      w.pass(5_000);
      expect(clock.now().getTime()).toBe(w.state.wall - 120_000);
      expect(w.state.reads).toBe(1);
    } finally {
      clock.stop();
    }
  });

  // Stepped back and left to the next reading, a lease holder wrote renewals already run out for up to a minute.
  it("goes on by the monotonic clock when the host's wall clock steps back, and reads the database's time at once", async () => {
    const w = world();
    const clock = await startDatabaseClock({ read: w.read, ...w.clocks, readEveryMs: 3_600_000 });
    try {
      w.pass(10_000);
      const before = clock.now().getTime();
      // NTP steps the host back 45 s; the database's clock goes on.
      w.state.wall -= 45_000;
      w.state.dbAheadMs = 45_000;
      const reads = w.state.reads;
      expect(clock.now().getTime()).toBe(before);
      await expect.poll(() => w.state.reads, { timeout: 2_000 }).toBe(reads + 1);
      w.pass(2_000);
      expect(clock.now().getTime()).toBe(before + 2_000);
    } finally {
      clock.stop();
    }
  });

  it("keeps the wall clock's time when it jumps ahead (a machine that slept: its lease must look run out), and reads again", async () => {
    const w = world();
    w.state.dbAheadMs = 5_000;
    const clock = await startDatabaseClock({ read: w.read, ...w.clocks, readEveryMs: 3_600_000 });
    try {
      // Suspended for two minutes: the wall clock counts the sleep, the monotonic one does not.
      w.state.wall += 120_000;
      const reads = w.state.reads;
      expect(clock.now().getTime()).toBe(w.state.wall + 5_000);
      await expect.poll(() => w.state.reads, { timeout: 2_000 }).toBe(reads + 1);
      expect(clock.now().getTime()).toBe(w.state.wall + 5_000);
    } finally {
      clock.stop();
    }
  });

  it('reads again at most once a second while the database cannot be read after a step', async () => {
    const w = world();
    const clock = await startDatabaseClock({ read: w.read, ...w.clocks, readEveryMs: 3_600_000 });
    try {
      w.state.failing = true;
      w.state.wall -= 30_000;
      const reads = w.state.reads;
      for (let i = 0; i < 5; i++) clock.now();
      await expect.poll(() => w.state.reads, { timeout: 2_000 }).toBe(reads + 1);
      for (let i = 0; i < 5; i++) clock.now();
      expect(w.state.reads).toBe(reads + 1);
      w.pass(1_000);
      clock.now();
      await expect.poll(() => w.state.reads, { timeout: 2_000 }).toBe(reads + 2);
    } finally {
      clock.stop();
    }
  });

  it("starts on the host's wall clock when the database's time cannot be read, and follows the database once it can", async () => {
    const w = world();
    w.state.failing = true;
    w.state.dbAheadMs = -90_000;
    const clock = await startDatabaseClock({ read: w.read, ...w.clocks, readEveryMs: 5 });
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
