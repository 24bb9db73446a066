/**
 * `npm run bench:pacing [-- --quick]`: pushes updates to every registered simulator, enforcing its documented
 * limits, once through the paced client (the connection limiter built from the spec) and once through an
 * unpaced client on a fresh instance of the same simulator. Prints one JSON line per provider and client.
 */

import type { ContactPatch } from '../src/core/schemas.ts';
import { createLimiter } from '../src/providers/limiter.ts';
import type { CrmProvider, InboundRecord } from '../src/providers/provider.ts';
import { type ProviderEntry, registeredProviders } from '../src/providers/registry.ts';
import { simControlClient } from '../src/providers/simulator/server.ts';
import type { ProviderLimits } from '../src/providers/spec.ts';
import { quickFlag } from './benchArgs.ts';

const quick = quickFlag('bench:pacing');
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

/**
 * The update pushed per record: NurtureHub's engagement where the provider stores it, otherwise one CRM field
 * it can write in a single call (Alto: `status` is one `PATCH /contacts/{id}`, while a name costs a GET for the
 * person id and a PATCH; Street: `title`).
 */
function benchPatch(entry: ProviderEntry): (i: number) => ContactPatch {
  const writable = entry.spec.capabilities.writableFields;
  if (writable.includes('emailOpens') || writable.length === 0) {
    return (i) => ({
      emailOpens: i + 1,
      emailClicks: 1,
      lastOpenedAt: null,
      lastClickedAt: null,
      intentScore: 50,
      nurtureSequence: null,
    });
  }
  if (writable.includes('status')) return () => ({ status: 'active' });
  return (i) => ({ title: i % 2 === 0 ? 'Dr' : 'Mr' });
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
  // Extra seeded contacts stand in for the removed (archived/trashed) ones, which go last.
  const sim = await entry.startSimulator({ port: 0, contacts: Math.ceil(count * 1.1), seed: 42 });
  try {
    const make = (limiter = createLimiter(entry.spec)) => {
      const created = entry.createProvider({ baseUrl: sim.baseUrl, credentials: sim.credentials, limiter });
      if (!created.ok) throw new Error(created.error.message);
      return created.value;
    };
    // One limiter per connection: the paced client lists and updates through the same one.
    const paced = make();
    // Records not removed first: Street cannot patch a trashed person (404), and the engine never pushes to one.
    const listed = await targets(paced);
    const records = [...listed.filter((r) => !r.removed), ...listed.filter((r) => r.removed)].slice(0, count);
    if (client === 'unpaced') {
      // Let the listing's requests leave the simulator's windows so only the updates are measured.
      await new Promise((r) => setTimeout(r, writeLimit(entry.spec.limits).perMinute ? 61_000 : 1_100));
    }
    const provider = client === 'paced' ? paced : make(createLimiter({ limits: { rolling: true } }));
    const control = simControlClient(sim.baseUrl);
    const before = await control.stats();
    const patch = benchPatch(entry);
    // A provider without updates (agentOS: POST-only) is measured on creates, one new e-mail each.
    const update = async (r: InboundRecord, i: number) =>
      entry.spec.capabilities.canUpdate
        ? provider.update({ externalId: r.externalId, patch: patch(i), version: r.version })
        : provider.create({
            contact: { ...r.contact, lastName: `Bench-${i}`, email: `bench.${i}@example.co.uk` },
            reference: `bench-${i}`,
          });
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
    // Per-minute limits: paced and unpaced run side by side on their own simulator instances, so the quick
    // bench stays under 3 minutes. Per-second ones stay in turn: their runs are short, and an unpaced burst
    // beside a paced run jitters the shared event loop enough to cost the paced run a 429.
    const clients = ['paced', 'unpaced'] as const;
    const lines = limit.perMinute
      ? await Promise.all(clients.map((client) => run(entry, client, count, limit.perSec)))
      : [await run(entry, 'paced', count, limit.perSec), await run(entry, 'unpaced', count, limit.perSec)];
    for (const line of lines) process.stdout.write(`${JSON.stringify(line)}\n`);
  }),
);
