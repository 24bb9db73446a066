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
