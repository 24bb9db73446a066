/**
 * `npm run bench:heap [-- --contacts N] [-- --backend pglite|postgres]`: one initial sync from a Reapit simulator
 * (rate limit off) in this process, with the JavaScript heap sampled every 50 ms. Prints one JSON line: the heap
 * before, its peak per machine state, what stays live after the sync (both after full collections), and the
 * process's peak RSS. It tells a tenant held in memory (live heap growing with N) from garbage V8 has not yet
 * collected (peak heap growing, retained heap flat). Run with `NODE_OPTIONS=--max-old-space-size=…` to see
 * the effect of a heap cap. See docs/BENCHMARKS.md, "Sync".
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { formatLeaseOwner, isPidAlive, ownerGoneOnHost } from '../src/persistence/leaseOwner.ts';
import { openMemoryStore } from '../src/persistence/openStore.ts';
import { openPostgresStore } from '../src/persistence/postgres.ts';
import { credentialsSchema } from '../src/persistence/records.ts';
import { createSecretBox } from '../src/persistence/secrets.ts';
import { getProvider } from '../src/providers/registry.ts';
import { noRateLimits, withSpec } from '../src/providers/spec.ts';
import { runConnection } from '../src/runner/connectionRunner.ts';
import { startPostgres } from '../test/support/postgresServer.ts';

const { values } = parseArgs({
  options: {
    contacts: { type: 'string', default: '20000' },
    backend: { type: 'string', default: 'postgres' },
  },
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
const sim = await reapit.startSimulator({ port: 0, contacts, seed: 13, limits: noRateLimits });
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
const store = opened.value;
try {
  const tenant = await store.createTenant({ name: 'heap', syncIntervalSeconds: 900 });
  if (!tenant.ok) throw new Error(tenant.error.message);
  const connection = await store.addConnection({
    tenantId: tenant.value.id,
    provider: 'reapit',
    baseUrl: sim.baseUrl,
    credentials: credentialsSchema.parse(sim.credentials),
    nextRunAt: new Date(),
  });
  if (!connection.ok) throw new Error(connection.error.message);

  const before = liveHeapMb();
  let state = 'starting';
  const peakByState: Record<string, number> = {};
  const sample = setInterval(() => {
    const heap = Math.round(process.memoryUsage().heapUsed / 1e6);
    peakByState[state] = Math.max(peakByState[state] ?? 0, heap);
  }, 50);
  const spec = withSpec(reapit.spec, { limits: noRateLimits });
  const run = await runConnection(
    {
      store,
      clock: () => new Date(),
      owner: formatLeaseOwner({ host: hostname(), pid: process.pid, id: randomUUID() }),
      newCycleId: randomUUID,
      limiters: new Map(),
      providerOptions: () => ({ spec }),
      onTransition: (update) => {
        state = update.state;
      },
    },
    { tenantId: tenant.value.id, connectionId: connection.value.id },
  );
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
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    })}\n`,
  );
} finally {
  await sim.close();
  await store.close();
  await postgres?.stop();
}
