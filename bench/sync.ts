/**
 * `npm run bench:sync -- [--quick] [--only <bench>]`: the sync engine end to end, through the provider
 * simulators over HTTP and a real store (file-backed PGlite; a throwaway PostgreSQL 15 server). One JSON line
 * per figure: delta-scaling, delta-vs-full, initial-throughput, memory, push-vs-limit. `--quick` runs the stores'
 * sizes at a tenth and push-vs-limit at 200 of its 1,000 updates; delta-scaling's 100 edits a cycle stay 100. See docs/BENCHMARKS.md, "Sync". The figures live in ./sync/; this file is also
 * the entry of the child processes some of them start (`--sim-child`, `--memory-child`, `--push-child`).
 */
import { performance } from 'node:perf_hooks';
import type { ProviderName } from '../src/providers/provider.ts';
import { findPostgresBin, type PostgresServer, startPostgres } from '../test/support/postgresServer.ts';
import { argv, log, only, quick, round } from './sync/args.ts';
import {
  benchDeltaScaling,
  benchDeltaVsFullAndThroughput,
  type DeltaTenants,
  prepareDeltaTenants,
} from './sync/delta.ts';
import { pgliteTemplate, removePgliteTemplate, simChild } from './sync/harness.ts';
import { benchMemory, type ChildJob, memoryChild } from './sync/memory.ts';
import { benchPush, pushChild } from './sync/push.ts';

const wanted = (name: string) => only === undefined || only === name;

async function runFigure(name: string, fn: () => Promise<unknown>): Promise<void> {
  if (!wanted(name)) return;
  const t = performance.now();
  await fn();
  log(`${name} took ${round((performance.now() - t) / 1000, 1)} s`);
}

async function main() {
  if (argv[0] === '--memory-child') return memoryChild(JSON.parse(argv[1] ?? '{}') as ChildJob);
  if (argv[0] === '--push-child') return pushChild(argv[1] as ProviderName, Number(argv[2]));
  if (argv[0] === '--sim-child') return simChild(argv[1] as ProviderName, JSON.parse(argv[2] ?? '{}'));
  let postgres: PostgresServer | null = null;
  if (findPostgresBin() !== null) postgres = await startPostgres();
  else log('PostgreSQL binaries not found: Postgres figures skipped');
  const url = postgres?.url ?? null;
  const started = performance.now();
  try {
    // Made before any child starts, so that every child copies it too.
    await pgliteTemplate();
    // Only work that is not timed runs beside other work: the delta figure's tenants (seeding and first syncs) beside
    // the paced pushes (little CPU). Every other figure runs alone: beside the pushes, the delta cycles took up to
    // three times as long (0.44 s against 0.13–0.26) and the first sync's throughput fell by 7 %; beside the
    // memory syncs (even at nice 19) the pushes met 429s and the throughput fell by a third, and with the memory
    // syncs and their simulators at nice 19 from the start, beside the pushes (which held), they took 315 s
    // against 192 s after them. Memory first, with the seeding beside its tail once one backend had finished, was
    // no quicker in all (294.5–325.4 s against 288.6–317.6 s).
    let deltaTenants: Promise<DeltaTenants> | undefined;
    const prepareTenants = () => {
      if (deltaTenants === undefined) {
        deltaTenants = prepareDeltaTenants();
        // Awaited after the pushes; until then a failure must not go unhandled.
        deltaTenants.catch(() => {});
      }
      return deltaTenants;
    };
    await runFigure('push-vs-limit', () => benchPush(wanted('delta-scaling') ? prepareTenants : () => {}));
    await runFigure('delta-scaling', () => benchDeltaScaling(prepareTenants()));
    await runFigure('delta-vs-full', () => benchDeltaVsFullAndThroughput(url));
    await runFigure('memory', () => benchMemory(url));
  } finally {
    await postgres?.stop();
    await removePgliteTemplate();
    log(`total ${round((performance.now() - started) / 1000, 1)} s${quick ? ' (--quick)' : ''}`);
  }
}

await main();
