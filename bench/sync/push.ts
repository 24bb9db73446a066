/** The push-vs-limit figure: each provider's outbound updates against its documented rate limit. */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { ProviderName } from '../../src/providers/provider.ts';
import { getProvider, registeredProviders } from '../../src/providers/registry.ts';
import { type ProviderLimits, rateWindows, withSpec } from '../../src/providers/spec.ts';
import { emit, log, must, pushProviders, quick, round, sleep } from './args.ts';
import { BENCH_ENTRY, connect, openBackend, startSimProcess, unlimited } from './harness.ts';

/**
 * The limits a push-vs-limit run enforces: the documented ones; with `--quick`, each per-minute limit L (of all
 * requests, of reads or of writes) becomes ⌊L/6⌋ per second in the same lane (about the same budget over a 6-second
 * window), so the run spans several windows in seconds. Whole calls: with agentOS's 50/min the client counted 8.33
 * as nine calls a second and the simulator as eight, and each 429 that followed cost the documented 60 s block.
 */
function benchLimits(limits: ProviderLimits): ProviderLimits {
  if (!quick) return limits;
  const { requestsPerMinute, readsPerMinute, writesPerMinute, ...scaled } = limits;
  if (requestsPerMinute === undefined && readsPerMinute === undefined && writesPerMinute === undefined)
    return limits;
  // The tighter of the scaled limit and a documented per-second one in the same lane.
  const perSecond = (perMinute: number, documented: number | undefined) =>
    Math.min(documented ?? Number.POSITIVE_INFINITY, Math.max(1, Math.floor(perMinute / 6)));
  if (requestsPerMinute !== undefined)
    scaled.requestsPerSecond = perSecond(requestsPerMinute, scaled.requestsPerSecond);
  if (readsPerMinute !== undefined) scaled.readsPerSecond = perSecond(readsPerMinute, scaled.readsPerSecond);
  if (writesPerMinute !== undefined)
    scaled.writesPerSecond = perSecond(writesPerMinute, scaled.writesPerSecond);
  return scaled;
}

/** The least time `reads` and `writes` can take under `limits` (rolling windows: the first window is free). */
function minimumSeconds(limits: ProviderLimits, reads: number, writes: number): number {
  const calls = { all: reads + writes, read: reads, write: writes };
  return Math.max(
    0,
    ...rateWindows(limits).map((w) => {
      const n = calls[w.counts];
      return n === 0 ? 0 : ((Math.ceil(n / w.limit) - 1) * w.windowMs) / 1000;
    }),
  );
}

/**
 * One provider's push figure, prepared: an initial sync and `updates` NurtureHub-side edits. `measure` runs the
 * cycle that pushes them and returns the figure.
 */
async function preparePush(provider: ProviderName, updates: number) {
  const entry = getProvider(provider);
  if (entry === undefined) throw new Error(`${provider} is not registered`);
  const limits = benchLimits(entry.spec.limits);
  const spec = withSpec(entry.spec, { limits: { ...unlimited, ...limits } });
  const opened = await openBackend('pglite', null);
  const canUpdate = entry.spec.capabilities.canUpdate;
  const sim = await startSimProcess(provider, {
    contacts: canUpdate ? updates : 10,
    seed: 17,
    limits: { ...unlimited, ...limits },
  });
  const close = async () => {
    await sim.close();
    await opened.close();
  };
  try {
    const c = await connect(opened.store, provider, sim, spec);
    await c.cycle();
    const store = opened.store;
    const contacts = must(await store.listContacts({ tenantId: c.ref.tenantId, limit: updates * 2 }));
    const now = new Date();
    if (canUpdate) {
      // A NurtureHub-side edit of a field every updating provider can write: one update per linked contact.
      const linked = contacts.filter((x) => x.links.length > 0).slice(0, updates);
      must(
        await store.upsertContacts({
          tenantId: c.ref.tenantId,
          contacts: linked.map((x) => ({
            id: x.id,
            contact: { ...x.contact, title: x.contact.title === 'Dr' ? 'Mx' : 'Dr' },
          })),
          now,
        }),
      );
    } else {
      // agentOS cannot update (postOnly): its outbound writes are creates of contacts begun in NurtureHub.
      must(
        await store.upsertContacts({
          tenantId: c.ref.tenantId,
          contacts: Array.from({ length: updates }, (_, i) => ({
            id: randomUUID(),
            contact: {
              firstName: `Bench${i}`,
              lastName: `Push${i}`,
              email: `bench.push${i}@example.test`,
              marketingConsent: 'grant' as const,
            },
          })),
          now,
        }),
      );
    }
    const measure = async () => {
      const before = await sim.control.stats();
      await c.cycle();
      const after = await sim.control.stats();
      const writes = after.writes - before.writes;
      // The cycle's other requests (its fetch, and the push's reads) count against the same budget, and a write
      // the CRM refused (Street: a person in the trash) against the writes' budget.
      const requests = after.requests - before.requests - (after.rateLimited - before.rateLimited);
      const writeCalls = after.writeCalls - before.writeCalls;
      const pushSeconds = c.phases.ms('pushing') / 1000;
      const minimum = minimumSeconds(limits, requests - writeCalls, writeCalls);
      // The same, for the writes alone: how near the push comes to the most writes the limits allow. Below
      // `efficiency` where the push reads as well as writes (Alto reads each contact's person before its update,
      // two requests a write), which the request budget pays for.
      const writeMinimum = minimumSeconds(limits, 0, writeCalls);
      return {
        bench: 'push-vs-limit',
        provider,
        limits: limits === entry.spec.limits ? limits : { ...limits, scaledFrom: entry.spec.limits },
        writes,
        writeCalls,
        requests,
        rateLimited: after.rateLimited - before.rateLimited,
        pushSeconds: round(pushSeconds, 1),
        minimumSeconds: round(minimum, 1),
        efficiency: round(pushSeconds === 0 ? 0 : minimum / pushSeconds),
        writeMinimumSeconds: round(writeMinimum, 1),
        writeEfficiency: round(pushSeconds === 0 ? 0 : writeMinimum / pushSeconds),
      };
    };
    return { measure, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * In the child: prepares one provider's push (simulator in this process too), says `ready`, waits for a line on
 * stdin, then measures and prints the figure.
 */
export async function pushChild(provider: ProviderName, updates: number) {
  const prepared = await preparePush(provider, updates);
  try {
    process.stdout.write('ready\n');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdout.write(`${JSON.stringify(await prepared.measure())}\n`);
  } finally {
    await prepared.close();
    process.stdin.destroy();
  }
}

/**
 * Between the starts of two providers' measured cycles: each cycle's fetch and reconcile (a second or so of CPU)
 * then runs beside the others' paced pushes, not beside their own fetch and reconcile. Started together, four of
 * five providers met one 429 each as their pushes began (agentOS's costs a minute: 0.29); 3 s apart, none did.
 */
const PUSH_STAGGER_MS = 3_000;

/**
 * Every provider's push at once, each in a process of its own with its simulator in another, prepared (a fresh
 * PGlite and a first sync each) before any is measured: a paced push leaves the cores mostly idle, so five side by
 * side take about as long as the slowest alone (at full size Street's 100 writes a minute, 10 minutes for 1,000).
 * `whenPrepared` is called as the measured cycles begin, to start untimed work that fits beside them.
 */
export async function benchPush(whenPrepared: () => void) {
  // Quick: 200 updates, so that every provider's scaled limits span several windows (Reapit's 20/s: ten).
  const updates = quick ? 200 : 1_000;
  const providers = registeredProviders()
    .map((entry) => entry.name)
    .filter((name) => pushProviders === undefined || pushProviders.includes(name));
  const children = providers.map((provider) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        BENCH_ENTRY,
        '--push-child',
        provider,
        String(updates),
        ...(quick ? ['--quick'] : []),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const nextLine = async () => {
      const line = await lines.next();
      if (line.done === true) throw new Error(`push child ${provider} exited ${await exited}`);
      return line.value;
    };
    return { child, nextLine, exited };
  });
  let finished = false;
  try {
    for (const c of children) if ((await c.nextLine()) !== 'ready') throw new Error('push child not ready');
    const started = performance.now();
    const measured = Promise.all(
      children.map(async (c, i) => {
        if (i > 0) await sleep(i * PUSH_STAGGER_MS);
        c.child.stdin.write('go\n');
        return JSON.parse(await c.nextLine()) as Record<string, unknown>;
      }),
    );
    // After the first child's go, which needs no timer.
    whenPrepared();
    const figures = await measured;
    log(
      `push-vs-limit: ${providers.length} pushes at once in ${round((performance.now() - started) / 1000, 1)} s`,
    );
    for (const figure of figures) emit(figure);
    finished = true;
  } finally {
    // A child that measured removes its database before exiting; the others are stopped.
    if (!finished) for (const c of children) if (c.child.exitCode === null) c.child.kill();
    await Promise.all(children.map((c) => c.exited));
  }
}
