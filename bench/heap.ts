/**
 * `npm run bench:heap [-- --contacts N] [-- --backend pglite|postgres]`: one initial sync from a Reapit simulator
 * (rate limit off) in this process, with the JavaScript heap sampled every 50 ms. Prints one JSON line: the heap
 * before, its peak per machine state, what stays live after the sync (both after full collections), and the
 * process's peak RSS. It tells a tenant held in memory (live heap growing with N) from garbage V8 has not yet
 * collected (peak heap growing, retained heap flat). Run with `NODE_OPTIONS=--max-old-space-size=…` to see
 * the effect of a heap cap. Postgres by default: with PGlite the database runs in this thread and the sampler
 * rarely gets a turn. See docs/BENCHMARKS.md, "Sync".
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isPidAlive, ownerGoneOnHost } from '../src/persistence/leaseOwner.ts';
import { openMemoryStore } from '../src/persistence/openStore.ts';
import { openPostgresStore } from '../src/persistence/postgres.ts';
import { createSecretBox } from '../src/persistence/secrets.ts';
import { getProvider } from '../src/providers/registry.ts';
import { noRateLimits, withSpec } from '../src/providers/spec.ts';
import { startPostgres } from '../test/support/postgresServer.ts';
import { createSyncHarness } from '../test/support/syncHarness.ts';
import { benchArgs } from './benchArgs.ts';
import { ownPeakRss } from './peakRss.ts';

const values = benchArgs('bench:heap', {
  contacts: { type: 'string', default: '20000' },
  backend: { type: 'string', default: 'postgres' },
});
const contacts = Number(values.contacts);
if (!Number.isInteger(contacts) || contacts < 1 || !['pglite', 'postgres'].includes(values.backend)) {
  process.stderr.write('usage: bench:heap [--contacts N] [--backend pglite|postgres]\n');
  process.exit(2);
}
const collect = (global as { gc?: () => void }).gc;
if (collect === undefined) {
  process.stderr.write('bench:heap needs node --expose-gc (the npm script passes it)\n');
  process.exit(2);
}
const liveHeapMb = () => {
  collect();
  collect();
  return process.memoryUsage().heapUsed / 1e6;
};

const reapit = getProvider('reapit');
if (reapit === undefined) throw new Error('reapit is not registered');
const postgres = values.backend === 'postgres' ? await startPostgres() : null;
const opened =
  postgres === null
    ? await openMemoryStore()
    : await openPostgresStore({
        url: postgres.url,
        secrets: createSecretBox(randomBytes(32)),
        isOwnerGone: ownerGoneOnHost(hostname(), isPidAlive),
      });
if (!opened.ok) throw new Error(opened.error.message);
let state = 'starting';
const spec = withSpec(reapit.spec, { limits: noRateLimits });
const h = await createSyncHarness('reapit', {
  store: opened.value,
  simulator: { contacts, seed: 13, limits: noRateLimits },
  runner: {
    limiters: new Map(),
    providerOptions: () => ({ spec }),
    onTransition: (update) => {
      state = update.state;
    },
  },
});
try {
  const before = liveHeapMb();
  const peakByState: Record<string, number> = {};
  const sample = setInterval(() => {
    const heap = Math.round(process.memoryUsage().heapUsed / 1e6);
    peakByState[state] = Math.max(peakByState[state] ?? 0, heap);
  }, 50);
  const run = await h.run();
  clearInterval(sample);
  if (!run.ok) throw new Error(run.error.message);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'heap',
      backend: values.backend,
      contacts,
      heapBeforeMb: Math.round(before),
      peakHeapMbByState: peakByState,
      retainedAfterMb: Math.round(liveHeapMb() - before),
      peakRssMb: ownPeakRss().mb,
    })}\n`,
  );
} finally {
  await h.close();
  await opened.value.close();
  await postgres?.stop();
}
