/**
 * `npm run bench:pacing [-- --quick]`: pushes updates to every registered simulator, enforcing its documented
 * limits, once through the paced client (the connection limiter built from the spec) and once through an
 * unpaced client on a fresh instance of the same simulator. Prints one JSON line per provider and client.
 */
import { createLimiter } from '../src/providers/limiter.ts';
import type { CrmProvider, InboundRecord } from '../src/providers/provider.ts';
import { type ProviderEntry, registeredProviders } from '../src/providers/registry.ts';
import { simControlClient } from '../src/providers/simulator/server.ts';
import type { ProviderLimits } from '../src/providers/spec.ts';

const quick = process.argv.includes('--quick');
/** In-flight updates the unpaced client keeps going (the paced one queues everything in its limiter). */
const UNPACED_PARALLELISM = 10;

/** The tightest write rate the limits allow, per second, and whether it comes from a per-minute window. */
function writeLimit(limits: ProviderLimits): { perSec: number; perMinute: boolean } {
  const candidates = [
    { perSec: limits.requestsPerSecond, perMinute: false },
    { perSec: limits.requestsPerMinute && limits.requestsPerMinute / 60, perMinute: true },
    { perSec: limits.writesPerMinute && limits.writesPerMinute / 60, perMinute: true },
  ].filter((c): c is { perSec: number; perMinute: boolean } => typeof c.perSec === 'number');
  return candidates.reduce((a, b) => (b.perSec < a.perSec ? b : a), {
    perSec: Number.POSITIVE_INFINITY,
    perMinute: false,
  });
}

/** 2,000 updates where the limit is per second; several windows' worth where it is per minute. */
function updateCount(limit: { perSec: number; perMinute: boolean }): number {
  if (!Number.isFinite(limit.perSec)) return quick ? 500 : 2000;
  if (limit.perMinute) return Math.ceil(limit.perSec * 60 * (quick ? 1.5 : 3));
  return quick ? Math.min(2000, Math.ceil(limit.perSec * 15)) : 2000;
}

async function targets(provider: CrmProvider): Promise<InboundRecord[]> {
  const records: InboundRecord[] = [];
  const window = { from: null, to: new Date().toISOString() };
  let pageToken: string | null = null;
  do {
    const page = await provider.listChanges({ window, pageToken });
    if (!page.ok) throw new Error(`listing failed: ${page.error.kind} ${page.error.message}`);
    records.push(...page.value.records);
    pageToken = page.value.nextPageToken;
  } while (pageToken !== null);
  return records;
}

async function run(entry: ProviderEntry, client: 'paced' | 'unpaced', count: number, limitPerSec: number) {
  const sim = await entry.startSimulator({ port: 0, contacts: count, seed: 42 });
  try {
    const make = (limiter = createLimiter(entry.spec)) => {
      const created = entry.createProvider({ baseUrl: sim.baseUrl, credentials: sim.credentials, limiter });
      if (!created.ok) throw new Error(created.error.message);
      return created.value;
    };
    // One limiter per connection: the paced client lists and updates through the same one.
    const paced = make();
    const records = (await targets(paced)).slice(0, count);
    if (client === 'unpaced') {
      // Let the listing's requests leave the simulator's windows so only the updates are measured.
      await new Promise((r) => setTimeout(r, writeLimit(entry.spec.limits).perMinute ? 61_000 : 1_100));
    }
    const provider = client === 'paced' ? paced : make(createLimiter({ limits: { rolling: true } }));
    const control = simControlClient(sim.baseUrl);
    const before = await control.stats();
    const patch = (i: number) => ({
      emailOpens: i + 1,
      emailClicks: 1,
      lastOpenedAt: null,
      lastClickedAt: null,
      intentScore: 50,
      nurtureSequence: null,
    });
    const update = (r: InboundRecord, i: number) =>
      provider.update({ externalId: r.externalId, patch: patch(i), version: r.version });
    const started = performance.now();
    let results: Awaited<ReturnType<typeof update>>[];
    if (client === 'paced') {
      results = await Promise.all(records.map(update));
    } else {
      results = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: UNPACED_PARALLELISM }, async () => {
          while (next < records.length) {
            const i = next++;
            results.push(await update(records[i] as InboundRecord, i));
          }
        }),
      );
    }
    const seconds = (performance.now() - started) / 1000;
    const after = await control.stats();
    const succeeded = results.filter((r) => r.ok).length;
    const achievedPerSec = succeeded / seconds;
    return {
      bench: 'pacing',
      provider: entry.name,
      client,
      limitPerSec: Number(limitPerSec.toFixed(3)),
      achievedPerSec: Number(achievedPerSec.toFixed(3)),
      fraction: Number.isFinite(limitPerSec) ? Number((achievedPerSec / limitPerSec).toFixed(3)) : null,
      rateLimited: after.rateLimited - before.rateLimited,
      updates: records.length,
      failed: records.length - succeeded,
    };
  } finally {
    await sim.close();
  }
}

await Promise.all(
  registeredProviders().map(async (entry) => {
    const limit = writeLimit(entry.spec.limits);
    const count = updateCount(limit);
    for (const client of ['paced', 'unpaced'] as const) {
      process.stdout.write(`${JSON.stringify(await run(entry, client, count, limit.perSec))}\n`);
    }
  }),
);
