import { describe, expect, it } from 'vitest';
import { type CallKind, createLimiter, RollingWindows, spacingMs } from './limiter.ts';
import type { ProviderLimits } from './spec.ts';

describe('spacingMs', () => {
  it.each([
    [{ perSecond: 20 }, 52.5],
    [{ perMinute: 50 }, 1224],
    [{ perSecond: 20, perMinute: 600 }, 102],
    [{}, 0],
  ])('%o → %d ms', (limits, expected) => {
    expect(spacingMs(limits)).toBeCloseTo(expected, 6);
  });
});

/**
 * How early, by the limiter's clock (performance.now), a pause gate may let a call through: Node's timers keep whole
 * milliseconds (the delay and the loop's time both cut), and the gate does not wait again for that (limiter.ts,
 * PauseGate).
 */
const GATE_TIMER_EARLY_MS = 2;

describe('createLimiter', () => {
  it('reports a spent daily quota with the next UTC midnight, and a new day resets it', async () => {
    let now = Date.parse('2025-06-01T23:59:00Z');
    const limiter = createLimiter({ limits: { requestsPerDay: 2, rolling: true } }, { now: () => now });
    await limiter.schedule('read', async () => 1);
    expect(limiter.quotaResetAt()).toBeNull();
    await limiter.schedule('write', async () => 2);
    expect(limiter.quotaResetAt()).toBe('2025-06-02T00:00:00.000Z');
    now = Date.parse('2025-06-02T00:00:01Z');
    expect(limiter.quotaResetAt()).toBeNull();
    await limiter.stop();
  });

  it("counts the day from the store's count of every process's calls, plus its own not yet stored", async () => {
    let now = Date.parse('2025-06-01T23:59:00Z');
    const limiter = createLimiter({ limits: { requestsPerDay: 5, rolling: true } }, { now: () => now });
    limiter.storedUsage('2025-06-01', 3);
    await limiter.schedule('read', async () => {});
    expect(limiter.quotaResetAt()).toBeNull();
    expect(limiter.unstoredUsage()).toEqual([{ day: '2025-06-01', requests: 1 }]);

    // Saving that call, the store answers 4 (3 + 1); a call made while the save went is still this limiter's own.
    await limiter.schedule('read', async () => {});
    limiter.storedUsage('2025-06-01', 4, 1);
    expect(limiter.unstoredUsage()).toEqual([{ day: '2025-06-01', requests: 1 }]);
    expect(limiter.quotaResetAt()).toBe('2025-06-02T00:00:00.000Z');

    // Past midnight the new day counts from 0; the old day's call is still to be stored, under its own day.
    now = Date.parse('2025-06-02T00:00:01Z');
    expect(limiter.quotaResetAt()).toBeNull();
    await limiter.schedule('read', async () => {});
    expect(limiter.unstoredUsage()).toEqual([
      { day: '2025-06-01', requests: 1 },
      { day: '2025-06-02', requests: 1 },
    ]);
    limiter.storedUsage('2025-06-02', 5, 1);
    // Stored late, the old day's count does not stand for today's.
    limiter.storedUsage('2025-06-01', 5, 1);
    expect(limiter.unstoredUsage()).toEqual([]);
    expect(limiter.quotaResetAt()).toBe('2025-06-03T00:00:00.000Z');
    await limiter.stop();
  });

  it.each([
    ['a full window', () => {}],
    ['a pause after a 429', (limiter: ReturnType<typeof createLimiter>) => limiter.pause(500)],
  ])('keeps pacing through %s when the wall clock steps an hour back (NTP)', async (_, hold) => {
    let stepBack = 0;
    const limiter = createLimiter(
      { limits: { requestsPerSecond: 2, rolling: true } },
      { now: () => Date.now() - stepBack },
    );
    const origin = performance.now();
    await limiter.schedule('read', async () => {});
    await limiter.schedule('read', async () => {});
    hold(limiter);
    stepBack = 3_600_000;
    // Measured on the wall clock, the window (or the pause) ended an hour and a second from now.
    const third = limiter.schedule('read', async () => performance.now() - origin);
    const late = new Promise<'stalled'>((resolve) => setTimeout(() => resolve('stalled'), 3_000).unref());
    const started = await Promise.race([third, late]);
    expect(started).not.toBe('stalled');
    expect(started).toBeLessThan(2_000);
    await limiter.stop();
  });

  it('is idle for a span only once no call waits or runs and none ended within it', async () => {
    let now = 0;
    const limiter = createLimiter({ limits: { maxConcurrent: 1, rolling: true } }, { now: () => now });
    expect(limiter.idleFor(1_000)).toBe(false);
    now = 1_000;
    expect(limiter.idleFor(1_000)).toBe(true);
    let answer = () => {};
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const running = limiter.schedule('read', () => answered);
    const waiting = limiter.schedule('read', async () => {});
    now = 5_000;
    expect(limiter.idleFor(1_000)).toBe(false);
    answer();
    await Promise.all([running, waiting]);
    expect(limiter.idleFor(1_000)).toBe(false);
    now = 6_000;
    expect(limiter.idleFor(1_000)).toBe(true);
    await limiter.stop();
  });

  it('counts the calls another process made in its windows, once each, and hands on its own with them', async () => {
    const limits = { limits: { requestsPerSecond: 2, perMinute: undefined, rolling: true } };
    const first = createLimiter(limits);
    const starts: number[] = [];
    await Promise.all([1, 2].map(() => first.schedule('write', async () => starts.push(Date.now()))));
    const handed = first.recentCalls();
    expect(handed).toHaveLength(2);
    await first.stop();

    // The next process: its window is full until a second after the first one's calls.
    const next = createLimiter(limits);
    next.countCallsElsewhere(handed);
    // Read again from the store (a later save holds them too): not counted twice.
    next.countCallsElsewhere(handed);
    // Older than any window: nothing to wait for.
    next.countCallsElsewhere([{ id: 'long-gone/1', at: Date.now() - 5_000, kind: 'write' }]);
    // Handed on as they came (the next save holds them for a third process), each once.
    expect(next.recentCalls()).toEqual(handed);
    await next.schedule('write', async () => starts.push(Date.now()));
    expect(starts[2]).toBeGreaterThanOrEqual(Math.max(starts[0] ?? 0, starts[1] ?? 0) + 1_000 - 1);
    // Two calls counted twice would have held a second call another second.
    await next.schedule('write', async () => starts.push(Date.now()));
    expect(starts[3]).toBeLessThan((starts[2] ?? 0) + 500);
    // Its own calls (the first process's have left every window by now), not counted again when read back.
    const onward = next.recentCalls();
    expect(onward).toHaveLength(2);
    expect(onward.some((c) => handed.some((h) => h.id === c.id))).toBe(false);
    next.countCallsElsewhere(onward);
    expect(next.recentCalls()).toEqual(onward);
    await next.stop();
  });

  it('counts a call its timer held back from when it started, so the next window keeps its distance', async () => {
    const limiter = createLimiter({ limits: { requestsPerSecond: 2, rolling: true } });
    const origin = Date.now();
    const starts: number[] = [];
    // The event loop is busy from 1,000 ms to 1,250 ms, past the second window's start (1,050 ms).
    const busy = setTimeout(() => {
      while (Date.now() - origin < 1_250) {}
    }, 1_000);
    const calls = Array.from({ length: 6 }, () =>
      limiter.schedule('write', async () => {
        starts.push(Date.now() - origin);
      }),
    );
    await Promise.all(calls);
    clearTimeout(busy);
    await limiter.stop();
    expect(starts[2]).toBeGreaterThanOrEqual(1_250);
    // As the provider sees them: never more than 2 in any second, the third window counted from the late calls.
    for (let i = 2; i < starts.length; i++) {
      expect(starts[i]).toBeGreaterThanOrEqual((starts[i - 2] ?? 0) + 1_000);
    }
  });

  it('counts a call that took longer than the others from as late as it may have reached the provider', async () => {
    const limiter = createLimiter({ limits: { requestsPerSecond: 2, rolling: true } });
    const origin = Date.now();
    const starts: number[] = [];
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // The second call is held 300 ms (a stall) where the first took 10: the provider may have counted it at 300.
    const calls = [10, 300, 0, 0].map((ms) =>
      limiter.schedule('write', async () => {
        starts.push(Date.now() - origin);
        await sleep(ms);
      }),
    );
    await Promise.all(calls);
    await limiter.stop();
    expect(starts[2]).toBeGreaterThanOrEqual(1_000);
    // A window after the late one's end, not after its start: never three calls in one second as it saw them. It
    // starts at about 1,340 ms (counted from about 290); a window from its start would be about 1,000. The margin
    // leaves room for the first call's 10 ms sleep running late on a busy machine, which books the second earlier.
    expect(starts[3]).toBeGreaterThanOrEqual(1_200);
  });

  it('holds a call that was waiting for window room when a pause began until the pause ends', async () => {
    const limiter = createLimiter({ limits: { requestsPerSecond: 2, rolling: true } });
    // The limiter's own clock (performance.now): the wall clock's whole milliseconds round the other way at times.
    const origin = performance.now();
    const starts: number[] = [];
    const calls = Array.from({ length: 4 }, () =>
      limiter.schedule('write', async () => {
        starts.push(performance.now() - origin);
      }),
    );
    // The first two start at once; the other two wait for the next window, and a 429 then pauses 2 s.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const pausedAt = performance.now() - origin;
    limiter.pause(2_000);
    await Promise.all(calls);
    await limiter.stop();
    expect(starts).toHaveLength(4);
    // Without the pause the two would start at about 1,000 ms.
    expect(starts[2]).toBeGreaterThanOrEqual(pausedAt + 2_000 - GATE_TIMER_EARLY_MS);
    expect(starts[3]).toBeGreaterThanOrEqual(pausedAt + 2_000 - GATE_TIMER_EARLY_MS);
  });

  it('holds the calls a pause released one by one when another pause begins before their turn', async () => {
    const limiter = createLimiter({ limits: { requestsPerSecond: 10, rolling: true } });
    // The limiter's own clock, as in the test above.
    const origin = performance.now();
    const starts: number[] = [];
    let pausedAt = Number.NaN;
    limiter.pause(300);
    // Released about 105 ms apart from 300 ms. A 429 answers the second call: it pauses the limiter for another
    // second from inside that call, so the other four are still waiting for their turn however late timers run.
    const calls = Array.from({ length: 6 }, () =>
      limiter.schedule('write', async () => {
        starts.push(performance.now() - origin);
        if (starts.length === 2) {
          pausedAt = performance.now() - origin;
          limiter.pause(1_000);
        }
      }),
    );
    await Promise.all(calls);
    await limiter.stop();
    expect(starts).toHaveLength(6);
    // The four still waiting when the pause began wait for its end: the pause counts from when it is called.
    expect(starts.slice(2).filter((t) => !(t >= pausedAt + 1_000 - GATE_TIMER_EARLY_MS))).toEqual([]);
  });
});

describe('RollingWindows', () => {
  /** Start times of `kinds.length` calls that could all start at 0. */
  const startTimes = (limits: ProviderLimits, kinds: CallKind[]) => {
    const windows = new RollingWindows(limits);
    return kinds.map((kind) => {
      const start = windows.earliestStart(kind, 0);
      windows.record(kind, start);
      return start;
    });
  };
  const writes = (n: number): CallKind[] => Array(n).fill('write');
  const mostInAnyWindow = (starts: number[], windowMs: number) =>
    Math.max(...starts.map((s) => starts.filter((t) => t >= s && t < s + windowMs).length));

  it("spends a window's whole budget at once, then waits one widened window for the next", () => {
    const starts = startTimes({ requestsPerSecond: 10, rolling: true }, writes(25));
    expect(starts).toEqual([...Array(10).fill(0), ...Array(10).fill(1_050), ...Array(5).fill(2_100)]);
  });

  it('never lets more than the limit start in any interval of the window, whatever the mix of windows', () => {
    const starts = startTimes({ requestsPerSecond: 4, requestsPerMinute: 30, rolling: true }, writes(70));
    expect(mostInAnyWindow(starts, 1_000)).toBeLessThanOrEqual(4);
    expect(mostInAnyWindow(starts, 60_000)).toBeLessThanOrEqual(30);
    // The minute's budget binds: the 61st call waits two widened minutes, the rest follow four a second.
    expect(starts[60]).toBe(2 * 61_200);
    expect(starts.at(-1)).toBe(2 * 61_200 + 2 * 1_050);
  });

  it('counts reads and writes in their own windows where the provider does', () => {
    const kinds: CallKind[] = ['read', 'write', 'read', 'write', 'read', 'write', 'read', 'write'];
    const starts = startTimes({ readsPerMinute: 6, writesPerMinute: 2, rolling: true }, kinds);
    // Four reads and two writes go at once; the third and fourth writes wait for the writes' window.
    expect(starts).toEqual([0, 0, 0, 0, 0, 61_200, 0, 61_200]);
  });

  it('counts reads and writes in one window where the provider counts all calls together', () => {
    const starts = startTimes({ requestsPerSecond: 2, rolling: true }, ['read', 'write', 'write', 'read']);
    expect(starts).toEqual([0, 0, 1_050, 1_050]);
  });

  it('keeps per-second read and write lanes apart too', () => {
    const kinds: CallKind[] = ['write', 'read', 'write', 'read', 'write', 'read', 'write', 'read'];
    const starts = startTimes({ readsPerSecond: 3, writesPerSecond: 2, rolling: true }, kinds);
    // Two writes and three reads go at once; the later writes and the fourth read wait a widened second.
    expect(starts).toEqual([0, 0, 0, 0, 1_050, 0, 1_050, 1_050]);
  });
});
