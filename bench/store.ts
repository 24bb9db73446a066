/**
 * Store benchmark: bulk contact upsert throughput and lookup latency on PGlite and Postgres, at
 * 10,000 and 1,000,000 stored contacts (`--quick`: 10,000 only). Prints one JSON line per figure.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { canonicalContactSchema } from '../src/core/schemas.ts';
import { openPgliteStore } from '../src/persistence/pglite.ts';
import { openPostgresStore } from '../src/persistence/postgres.ts';
import { createSecretBox } from '../src/persistence/secrets.ts';
import type { StoreHandle } from '../src/persistence/store.ts';
import { findPostgresBin, startPostgres } from '../test/support/postgresServer.ts';
import { quickFlag } from './benchArgs.ts';

const quick = quickFlag('bench:store');
const sizes = quick ? [10_000] : [10_000, 1_000_000];
const LOOKUPS = 300;
const secrets = createSecretBox(randomBytes(32));
const isOwnerGone = () => false;

const emit = (fields: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ bench: 'store', ...fields })}\n`);

function must<T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

const externalId = (i: number) => `EXT-${i}`;
const emailKey = (i: number) => `email:person${i}@example.test`;

function batchOf(from: number, count: number) {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return {
      id: randomUUID(),
      contact: canonicalContactSchema.parse({
        firstName: `First${i}`,
        lastName: `Last${i}`,
        email: `person${i}@example.test`,
      }),
      i,
    };
  });
}

/** Upsert contacts with their links and match keys; returns the seconds spent in the contact upsert. */
async function load(
  store: StoreHandle,
  ref: { tenantId: string; connectionId: string },
  from: number,
  count: number,
) {
  const rows = batchOf(from, count);
  const started = performance.now();
  must(
    await store.upsertContacts({
      tenantId: ref.tenantId,
      contacts: rows.map(({ id, contact }) => ({ id, contact })),
      now: new Date(),
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  must(
    await store.upsertLinks({
      ...ref,
      links: rows.map((r) => ({
        externalId: externalId(r.i),
        contactId: r.id,
        base: r.contact,
        pushedHashes: {},
        remoteVersion: null,
        remoteHash: null,
      })),
      now: new Date(),
    }),
  );
  must(
    await store.replaceMatchKeys({
      tenantId: ref.tenantId,
      entries: rows.map((r) => ({ contactId: r.id, keys: [emailKey(r.i)] })),
    }),
  );
  return seconds;
}

async function latency(run: (i: number) => Promise<unknown>) {
  const times: number[] = [];
  for (let n = 0; n < LOOKUPS; n++) {
    const started = performance.now();
    await run(n);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const pick = (q: number) =>
    Number((times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0).toFixed(3));
  return { p50Ms: pick(0.5), p95Ms: pick(0.95) };
}

async function measure(backend: string, store: StoreHandle, stored: number) {
  const tenant = must(await store.createTenant({ name: `bench-${randomUUID()}`, syncIntervalSeconds: 300 }));
  const connection = must(
    await store.addConnection({
      tenantId: tenant.id,
      provider: 'reapit',
      baseUrl: 'https://bench.test',
      credentials: {},
      nextRunAt: new Date(),
    }),
  );
  const ref = { tenantId: tenant.id, connectionId: connection.id };
  const started = performance.now();
  for (let from = 0; from < stored; from += 5000) {
    await load(store, ref, from, Math.min(5000, stored - from));
  }
  emit({
    backend,
    stored,
    metric: 'fill',
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  });

  for (const batch of [500, 5000]) {
    let seconds = 0;
    const total = 10_000;
    for (let from = 0; from < total; from += batch)
      seconds += await load(store, ref, stored + 10_000_000 + batch * 10 + from, batch);
    emit({ backend, stored, metric: 'contact_upsert', batch, rowsPerSecond: Math.round(total / seconds) });
  }
  const pickIndex = (n: number) => (n * 7919) % stored;
  emit({
    backend,
    stored,
    metric: 'link_lookup_by_external_id',
    ...(await latency((n) =>
      store.getLinksByExternalIds({ ...ref, externalIds: [externalId(pickIndex(n))] }),
    )),
  });
  emit({
    backend,
    stored,
    metric: 'link_lookup_500_external_ids',
    ...(await latency((n) =>
      store.getLinksByExternalIds({
        ...ref,
        externalIds: Array.from({ length: 500 }, (_, k) => externalId(pickIndex(n * 500 + k))),
      }),
    )),
  });
  emit({
    backend,
    stored,
    metric: 'match_key_lookup',
    ...(await latency((n) =>
      store.findCandidates({ tenantId: tenant.id, keys: [emailKey(pickIndex(n)), 'phone:+447700900000'] }),
    )),
  });
}

/** `listDueConnections` with 10,000 connections (one tenant each), 1% of them due. */
async function measureDueSelection(backend: string, store: StoreHandle) {
  const now = new Date();
  const later = new Date(now.getTime() + 3_600_000);
  for (let n = 0; n < 10_000; n++) {
    const tenant = must(await store.createTenant({ name: `due-${randomUUID()}`, syncIntervalSeconds: 300 }));
    must(
      await store.addConnection({
        tenantId: tenant.id,
        provider: 'alto',
        baseUrl: 'https://bench.test',
        credentials: {},
        nextRunAt: n % 100 === 0 ? now : later,
      }),
    );
  }
  emit({
    backend,
    connections: 10_000,
    metric: 'list_due_connections_limit_100',
    ...(await latency(() => store.listDueConnections({ now, limit: 100 }))),
  });
}

for (const stored of sizes) {
  const dir = mkdtempSync(path.join(tmpdir(), 'crm-sync-bench-'));
  const pglite = must(
    await openPgliteStore({
      dataDir: dir,
      secrets,
      isOwnerGone,
      holder: { pid: process.pid, host: 'bench', command: 'bench', startedAt: new Date().toISOString() },
      isPidAlive: () => false,
    }),
  );
  await measure('pglite', pglite, stored);
  if (stored === sizes[0]) await measureDueSelection('pglite', pglite);
  await pglite.close();
  rmSync(dir, { recursive: true, force: true });

  if (findPostgresBin() === null) {
    emit({ backend: 'postgres', stored, skipped: 'PostgreSQL server binaries not found' });
    continue;
  }
  const server = await startPostgres();
  try {
    const postgres = must(await openPostgresStore({ url: server.url, secrets, isOwnerGone }));
    await measure('postgres', postgres, stored);
    if (stored === sizes[0]) await measureDueSelection('postgres', postgres);
    await postgres.close();
  } finally {
    await server.stop();
  }
}
