/** The memory figure: peak RSS of an initial sync at two sizes, each in a child process of its own. */
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { simControlClient } from '../../src/providers/simulator/server.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { ownPeakRss, type PeakRss } from '../peakRss.ts';
import { emit, memoryBackend, memoryHeapMb, memorySizes, round } from './args.ts';
import {
  type Backend,
  BENCH_ENTRY,
  connect,
  getReapitSpec,
  openBackend,
  retryingControl,
  type Sim,
  startSimProcess,
  unlimited,
} from './harness.ts';

/** The Postgres sync's niceness beside PGlite's (`benchMemory`): `--quick --only memory` 170/159 s → 148/144 s. */
const BESIDE_PGLITE_NICENESS = 10;

export interface ChildJob {
  backend: Backend;
  postgresUrl: string | null;
  baseUrl: string;
  credentials: Record<string, unknown>;
}

/** In the child: one initial sync against the figure's simulator; prints this process's own peak RSS. */
export async function memoryChild(job: ChildJob) {
  const opened = await openBackend(job.backend, job.postgresUrl);
  const sim: Sim = {
    baseUrl: job.baseUrl,
    credentials: job.credentials,
    control: retryingControl(simControlClient(job.baseUrl)),
    close: async () => {},
  };
  const c = await connect(opened.store, 'reapit', sim, withSpec(getReapitSpec(), { limits: unlimited }));
  const seconds = await c.cycle();
  // Taken before anything else is read: the audit entry of a first sync lists every suppressed duplicate (tens of
  // thousands at 1,000,000 contacts of this generator), and reading it back is not part of the sync.
  const peak = ownPeakRss();
  const fetched = c.lastCounts()?.fetched ?? 0;
  await opened.close();
  process.stdout.write(
    `${JSON.stringify({ peakRssMb: peak.mb, peakRssFrom: peak.source, seconds: round(seconds, 1), fetched })}\n`,
  );
}

async function peakRss(backend: Backend, postgresUrl: string | null, contacts: number, niceness: number) {
  // In a process of its own: the other backend's large simulator, generated in this process, held its event loop
  // for over 30 s, and the child syncing beside it failed its first token request (no answer within 30 s).
  const sim = await startSimProcess('reapit', { contacts, seed: 13, limits: unlimited }, niceness);
  try {
    const job: ChildJob = { backend, postgresUrl, baseUrl: sim.baseUrl, credentials: sim.credentials };
    const child = spawn(
      process.execPath,
      [
        ...(memoryHeapMb > 0 ? [`--max-old-space-size=${memoryHeapMb}`] : []),
        '--import',
        'tsx',
        BENCH_ENTRY,
        '--memory-child',
        JSON.stringify(job),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    if (niceness !== 0 && child.pid !== undefined) setPriority(child.pid, niceness);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`memory child exited ${code}`);
    const parsed = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
      peakRssMb: number;
      peakRssFrom: PeakRss['source'];
      seconds: number;
      fetched: number;
    };
    return { contacts, heapLimitMb: memoryHeapMb > 0 ? memoryHeapMb : null, ...parsed };
  } finally {
    await sim.close();
  }
}

/**
 * The backends side by side: each sync is a child process of its own, and a peak RSS is per process. PGlite's
 * sync, SQL and all in one thread, is the longer; beside it the Postgres sync and its simulator run at a lower
 * priority, so that it keeps a core of the two (a peak RSS does not depend on how fast a sync runs).
 */
export async function benchMemory(postgresUrl: string | null) {
  const backends: Backend[] = postgresUrl === null ? ['pglite'] : ['pglite', 'postgres'];
  const measured = backends.filter((b) => memoryBackend === undefined || b === memoryBackend);
  await Promise.all(
    measured.map(async (backend) => {
      const niceness = backend === 'postgres' && measured.length > 1 ? BESIDE_PGLITE_NICENESS : 0;
      const small = await peakRss(backend, postgresUrl, memorySizes[0], niceness);
      const large = await peakRss(backend, postgresUrl, memorySizes[1], niceness);
      emit({
        bench: 'memory',
        backend,
        small,
        large,
        peakRssRatio: round(large.peakRssMb / small.peakRssMb),
      });
    }),
  );
}
