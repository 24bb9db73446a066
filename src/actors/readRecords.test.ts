import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../test/support/simulators.ts';
import { createLimiter } from '../providers/limiter.ts';
import { getProvider } from '../providers/registry.ts';
import { readRecords } from './readRecords.ts';

/**
 * A phase stopped (its lease lost, the process stopping) while a read by id waits behind the limiter's pause (a 429
 * another call met): the read went out after the stop, perhaps beside the process that took the lease over, and
 * shutdown waited for it.
 */
describe('readRecords', () => {
  it.each(['reapit', 'loop'] as const)(
    'sends no read a stopped phase was waiting to send (%s: reads by id in batches, or one at a time)',
    async (name) => {
      const sim = await startSimulator(name, { contacts: 3, seed: 1 });
      try {
        const entry = getProvider(name) ?? expect.unreachable();
        const limiter = createLimiter(entry.spec);
        const created = entry.createProvider({ baseUrl: sim.baseUrl, credentials: sim.credentials, limiter });
        if (!created.ok) throw new Error(created.error.message);
        const ids = ((await sim.control.records()) as Array<{ id: string }>).map((r) => r.id);
        const before = (await sim.control.stats()).requests;
        limiter.pause(10 * 60_000);
        const phase = new AbortController();
        const reading = readRecords(created.value, ids, phase.signal).next();
        phase.abort();
        const first = await reading.then(
          (step) => step.value?.[1],
          (error: unknown) => error,
        );
        expect(first).not.toMatchObject({ ok: true });
        expect((await sim.control.stats()).requests).toBe(before);
        await limiter.stop();
      } finally {
        await sim.close();
      }
    },
  );
});
