import { expect, it } from 'vitest';
import { createLimiter } from '../limiter.ts';
import { getProvider } from '../registry.ts';
import { simControlClient } from '../simulator/server.ts';
import { withSpec } from '../spec.ts';
import { startReapitSimulator } from './simulator.ts';
import { reapitSpec } from './spec.ts';

it('sends no more calls in a UTC day than the daily quota, however many are asked for at once', async () => {
  // Reapit [R1]: 250,000 requests/day, scaled down to 3 on both sides.
  const sim = await startReapitSimulator({ contacts: 5, limits: { requestsPerDay: 3 }, port: 0 });
  try {
    const spec = withSpec(reapitSpec, { limits: { requestsPerDay: 3 }, retry: { waitAfter429Ms: 20 } });
    const created = getProvider('reapit')?.createProvider({
      baseUrl: sim.baseUrl,
      credentials: sim.credentials,
      spec,
      limiter: createLimiter(spec),
    });
    if (!created?.ok) throw new Error('reapit provider');
    // Eight at once, as the push phase sends its writes (IN_FLIGHT = 8).
    await Promise.all(
      Array.from({ length: 8 }, () => created.value.findByEmail({ email: 'nobody@example.com' })),
    );
    const stats = await simControlClient(sim.baseUrl).stats();
    expect(stats.requests).toBe(3);
  } finally {
    await sim.close();
  }
});
