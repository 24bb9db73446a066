/**
 * Scheduling benchmark: one tick of the scheduler (due selection + fan-out) over a file-backed PGlite holding
 * 10,000 tenants × 1 connection and 2,000 tenants × 5 connections (`--quick`: a tenth of each). For each
 * fleet, two ticks: every connection due (the worst minute) and one in fifteen due (a 15-minute interval
 * spread over the hour). The fan-out goes over HTTP to a stand-in Inngest event API on loopback, in chunks
 * of `FAN_OUT_CHUNK` exactly as `step.sendEvent` sends them. Prints one JSON line per figure.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { providerNames } from '../src/core/providerName.ts';
import { createInngestClient } from '../src/inngest/client.ts';
import { selectDue } from '../src/inngest/dueSelection.ts';
import { dueEvent, FAN_OUT_CHUNK } from '../src/inngest/functions/scheduleTick.ts';
import { openPgliteStore } from '../src/persistence/pglite.ts';
import { createSecretBox } from '../src/persistence/secrets.ts';
import type { StoreHandle } from '../src/persistence/store.ts';
import { quickFlag } from './benchArgs.ts';

const quick = quickFlag('bench:schedule');
const fleets = quick
  ? [
      { tenants: 1_000, perTenant: 1 },
      { tenants: 200, perTenant: 5 },
    ]
  : [
      { tenants: 10_000, perTenant: 1 },
      { tenants: 2_000, perTenant: 5 },
    ];
const REPEATS = 5;
const TARGET_MS = 1_000;
const silent = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

const emit = (fields: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ bench: 'schedule', ...fields })}\n`);

function must<T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

/** Stands in for the Inngest event API: parses each batch and acknowledges its ids, as Inngest does. */
async function standInEventApi() {
  let requests = 0;
  let events = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const batch = JSON.parse(body) as Array<{ id?: string }>;
      requests += 1;
      events += batch.length;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ids: batch.map((e) => e.id ?? ''), status: 200 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts: () => ({ requests, events }),
    reset: () => {
      requests = 0;
      events = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Tenants with their connections, in transactions of 500 tenants. Connection `k` of the fleet is next due
 * `k mod 15` minutes after `now`, so at `now` one in fifteen is due and fifteen minutes on, all of them.
 */
async function seed(store: StoreHandle, tenants: number, perTenant: number, now: Date) {
  let k = 0;
  for (let from = 0; from < tenants; from += 500) {
    must(
      await store.transaction(async (tx) => {
        for (let t = from; t < Math.min(tenants, from + 500); t++) {
          const tenant = must(
            await tx.createTenant({ name: `agency-${t}-${randomUUID()}`, syncIntervalSeconds: 900 }),
          );
          for (let c = 0; c < perTenant; c++) {
            const provider = providerNames[c % providerNames.length] ?? 'reapit';
            const nextRunAt = new Date(now.getTime() + (k % 15) * 60_000);
            k += 1;
            must(
              await tx.addConnection({
                tenantId: tenant.id,
                provider,
                baseUrl: `https://${provider}.example.test`,
                credentials: { token: `t-${k}` },
                nextRunAt,
              }),
            );
          }
        }
        return { ok: true as const, value: undefined };
      }),
    );
  }
}

async function tick(
  store: StoreHandle,
  send: (events: ReturnType<typeof dueEvent>[]) => Promise<unknown>,
  now: Date,
) {
  const started = performance.now();
  const due = must(await selectDue(store, { now }));
  const selected = performance.now();
  for (let i = 0; i < due.length; i += FAN_OUT_CHUNK) {
    await send(due.slice(i, i + FAN_OUT_CHUNK).map(dueEvent));
  }
  const finished = performance.now();
  return {
    due: due.length,
    selectMs: selected - started,
    fanOutMs: finished - selected,
    tickMs: finished - started,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const round = (x: number) => Number(x.toFixed(1));

const api = await standInEventApi();
const client = createInngestClient(
  { mode: 'dev', baseUrl: api.url, signingKey: undefined, eventKey: undefined },
  { logger: silent },
);
const send = (events: ReturnType<typeof dueEvent>[]) => client.send(events);

for (const { tenants, perTenant } of fleets) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'crm-sync-bench-schedule-'));
  const store = must(
    await openPgliteStore({
      dataDir,
      secrets: createSecretBox(randomBytes(32)),
      isOwnerGone: () => false,
      holder: {
        pid: process.pid,
        host: 'bench',
        command: 'bench:schedule',
        startedAt: new Date().toISOString(),
      },
      isPidAlive: () => false,
    }),
  );
  try {
    // Mid-minute: a tick counts as due whatever falls due before its slot ends (`isDueInSlot`), and a reading in a
    // minute's last seconds is the next slot's, which made the offsets of two minutes due (2 in 15).
    const now = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 30_000);
    const seeding = performance.now();
    await seed(store, tenants, perTenant, now);
    const connections = tenants * perTenant;
    emit({
      tenants,
      perTenant,
      connections,
      metric: 'seed',
      seconds: round((performance.now() - seeding) / 1000),
    });

    for (const [label, at] of [
      ['one_in_fifteen_due', now],
      ['all_due', new Date(now.getTime() + 15 * 60_000)],
    ] as const) {
      const runs = [];
      for (let r = 0; r < REPEATS; r++) {
        api.reset();
        runs.push({ ...(await tick(store, send, at)), ...api.counts() });
      }
      const last = runs.at(-1);
      const tickMs = median(runs.map((r) => r.tickMs));
      emit({
        tenants,
        perTenant,
        connections,
        metric: 'tick',
        case: label,
        due: last?.due,
        requests: last?.requests,
        eventsAccepted: last?.events,
        selectMs: round(median(runs.map((r) => r.selectMs))),
        fanOutMs: round(median(runs.map((r) => r.fanOutMs))),
        tickMs: round(tickMs),
        maxTickMs: round(Math.max(...runs.map((r) => r.tickMs))),
        targetMs: TARGET_MS,
        pass: tickMs < TARGET_MS,
      });
    }
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
await api.close();
