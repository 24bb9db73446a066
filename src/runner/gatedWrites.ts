import type { ConnectionLimiter } from '../providers/limiter.ts';
import type { WriteGate } from './keepLease.ts';

/**
 * The connection's limiter as one run's provider sees it: a write, once the limiter lets it start, waits at `gate`
 * too, so the last wait before it goes out is the lease's (`keepLease`). The limiter itself is the process's, shared
 * with the connection's other runs; only this run's calls pass the gate.
 */
export function gatedWrites(limiter: ConnectionLimiter, gate: WriteGate): ConnectionLimiter {
  return {
    schedule: (kind, task, signal) =>
      limiter.schedule(kind, kind === 'write' ? () => gate.open(signal).then(task) : task, signal),
    pause: (ms) => limiter.pause(ms),
    pausedForMs: () => limiter.pausedForMs(),
    quotaResetAt: () => limiter.quotaResetAt(),
    unstoredUsage: () => limiter.unstoredUsage(),
    storedUsage: (day, total, added) => limiter.storedUsage(day, total, added),
    recentCalls: () => limiter.recentCalls(),
    countCallsElsewhere: (calls) => limiter.countCallsElsewhere(calls),
    stop: () => limiter.stop(),
    idleFor: (ms) => limiter.idleFor(ms),
  };
}
