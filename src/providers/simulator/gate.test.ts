import { describe, expect, it } from 'vitest';
import type { CallKind } from '../limiter.ts';
import { SimGate } from './gate.ts';

describe('SimGate', () => {
  it('answers a call past its own per-second lane 429, while the other lane still has room', () => {
    let now = 0;
    const gate = new SimGate(
      { readsPerSecond: 3, writesPerSecond: 2, rolling: true },
      { seed: 1, latencyMs: 0, now: () => now },
    );
    const admit = (kind: CallKind) => {
      const admission = gate.admit(kind);
      if (admission.kind === 'ok') admission.release();
      return admission.kind;
    };
    expect([admit('write'), admit('write'), admit('write')]).toEqual(['ok', 'ok', 'rate_limited']);
    expect([admit('read'), admit('read'), admit('read'), admit('read')]).toEqual([
      'ok',
      'ok',
      'ok',
      'rate_limited',
    ]);
    now = 1_001;
    expect([admit('write'), admit('read')]).toEqual(['ok', 'ok']);
    expect(gate.stats).toMatchObject({ requests: 9, rateLimited: 2, writeCalls: 3 });
  });
});

describe('SimGate, the wait a full window answers with', () => {
  const fullWindow = (rolling: boolean) => {
    let now = 10_000;
    const gate = new SimGate({ requestsPerMinute: 2, rolling }, { seed: 1, latencyMs: 0, now: () => now });
    gate.faults = { errorRate: 1 };
    const admit = () => gate.admit('read');
    // Both let through, then failed as injected 500s: they count against the window all the same.
    expect([admit().kind, admit().kind]).toEqual(['error', 'error']);
    now = 25_000;
    return admit();
  };

  it('rolling: until the oldest request counted leaves the window', () => {
    expect(fullWindow(true)).toEqual({ kind: 'rate_limited', reason: 'window', freeInMs: 45_000 });
  });

  it('clock-aligned: until the next window starts', () => {
    expect(fullWindow(false)).toEqual({ kind: 'rate_limited', reason: 'window', freeInMs: 35_000 });
  });
});

describe('SimGate, a write applied and its answer lost', () => {
  const admitted = (gate: SimGate, kind: CallKind) => {
    const admission = gate.admit(kind);
    if (admission.kind === 'ok') admission.release();
    return admission.kind === 'ok' ? { kind: admission.kind, loseAnswer: admission.loseAnswer } : admission;
  };

  it('lets the write through to be applied, marked to lose its answer; never a read', () => {
    const gate = new SimGate({ rolling: true }, { seed: 1, latencyMs: 0, now: () => 0 });
    gate.faults = { lostAnswerRate: 1 };
    expect(admitted(gate, 'write')).toEqual({ kind: 'ok', loseAnswer: true });
    expect(admitted(gate, 'read')).toEqual({ kind: 'ok', loseAnswer: false });
  });

  it('leaves the other faults of a seed where they fell before it existed, while it is not set', () => {
    const kinds = (faults: object) => {
      const gate = new SimGate({ rolling: true }, { seed: 7, latencyMs: 0, now: () => 0 });
      gate.faults = { errorRate: 0.3, dropRate: 0.1, ...faults };
      return Array.from({ length: 50 }, (_, i) => admitted(gate, i % 2 === 0 ? 'write' : 'read').kind);
    };
    expect(kinds({ lostAnswerRate: 0 })).toEqual(kinds({}));
  });
});
