/** The delta figures: delta-scaling, and delta-vs-full with the initial-throughput lines. */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { yieldTurn } from '../../src/actors/yieldTurn.ts';
import { contentHash } from '../../src/core/canonicalJson.ts';
import { matchKeys } from '../../src/core/dedup/blocking.ts';
import { toMatchRecord } from '../../src/core/dedup/matchRecord.ts';
import type { Store } from '../../src/persistence/store.ts';
import { toInboundRecord } from '../../src/providers/reapit/mapping.ts';
import { reapitDialect } from '../../src/providers/reapit/simulator.ts';
import { generateContacts, type SeedContact } from '../../src/providers/simulator/generator.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { emit, log, median, must, round, scale } from './args.ts';
import {
  type Backend,
  type Connection,
  connect,
  getReapitSpec,
  openBackend,
  requestsDuring,
  type Sim,
  startSim,
  unlimited,
} from './harness.ts';

/**
 * Writes `count` contacts of this CRM straight into the store (contacts, match keys and links, 1,000 a batch),
 * as a past sync would have left them (each link synced at its contact's change number): Reapit-shaped people
 * from the simulators' generator (another seed, so names, dates of birth and addresses collide with the
 * simulator's as real data does), linked to ids the simulator does not hold, so no cycle ever fetches them.
 */
async function seedTenant(store: Store, ref: Connection['ref'], count: number): Promise<void> {
  // Small batches, and a turn of the event loop after each (see `yieldTurn`): seeding 99,000 in batches of 5,000
  // beside the pushes held this process's timers (the pushes' staggered starts) for 48 s.
  const BATCH = 1_000;
  const seeded = generateContacts({ count, seed: 99 });
  for (let from = 0; from < count; from += BATCH) {
    const rows = seeded.slice(from, from + BATCH).map((s, k) => {
      const externalId = `BULK${String(from + k).padStart(8, '0')}`;
      const record = toInboundRecord(
        reapitDialect.fromSeed(otherPerson(s.contact, from + k), externalId, s.createdMs, s.modifiedMs),
      );
      if (!record.ok) throw new Error(record.error.message);
      return { id: randomUUID(), record: record.value };
    });
    const now = new Date();
    const written = must(
      await store.upsertContacts({
        tenantId: ref.tenantId,
        contacts: rows.map((r) => ({ id: r.id, contact: r.record.contact })),
        now,
      }),
    );
    must(
      await store.replaceMatchKeys({
        tenantId: ref.tenantId,
        entries: rows.map((r) => ({
          contactId: r.id,
          keys: matchKeys(toMatchRecord(r.id, r.record.contact)),
        })),
        // New contacts: there are no keys of theirs to replace.
        created: rows.map((r) => r.id),
      }),
    );
    must(
      await store.upsertLinks({
        ...ref,
        links: rows.map((r) => ({
          externalId: r.record.externalId,
          contactId: r.id,
          base: r.record.contact,
          pushedHashes: {},
          remoteVersion: r.record.version,
          remoteHash: contentHash(r.record.contact),
          // Synced at the contact's current change: not a local change the next cycle would read back.
          syncedSeq: written.changeSeqs[r.id] ?? null,
        })),
        now,
      }),
    );
    await yieldTurn();
  }
}

/**
 * The generator's person made someone none of the simulator's records is: an e-mail address of their own and no
 * phone. The generator draws every mobile from Ofcom's 1,000-number drama range (and, until its surnames were
 * widened, most e-mails from a few thousand), so among 99,000 generated people half the simulator's 1,000 records
 * found a namesake with their phone or e-mail and were suppressed as duplicates of a seeded contact — and each of
 * their edits was deduplicated again, work the small tenant never did. A real tenant's people do not share numbers
 * so; the drama ranges hold too few to give each a number of its own, so the seeded ones have none.
 */
function otherPerson(contact: SeedContact, index: number): SeedContact {
  return {
    ...contact,
    email: contact.email?.replace('@', `.b${index}@`) ?? null,
    mobilePhone: null,
    homePhone: null,
    workPhone: null,
  };
}

/**
 * `count` records changed in the CRM as its users change them: one save each, each on its own millisecond. The
 * simulator's default, one bulk save stamping every edit with one instant, made each delta cycle list the previous
 * round's edits a second time: a window re-reads its cursor's whole instant (docs/sync-semantics.md, "Window and
 * cursor"), and that instant held the whole bulk (full size: 10 of the delta cycle's 25 requests).
 */
async function userEdits(sim: Sim, count: number, seed: number): Promise<void> {
  await sim.control.edits({ count, seed, apart: true });
}

/** One timed delta cycle: seconds and provider requests. */
interface Cycle {
  value: number;
  requests: number;
}

export interface DeltaTenant {
  contacts: number;
  /** One delta cycle of 100 CRM edits (edit seed `seed`): its seconds and provider requests. */
  cycle(seed: number): Promise<Cycle>;
  close(): Promise<void>;
}

/** A tenant of `tenantSize` contacts for the delta figure, seeded and synced once, then one delta cycle untimed. */
async function prepareDeltaTenant(tenantSize: number): Promise<DeltaTenant> {
  const SIM_RECORDS = 1_000;
  const opened = await openBackend('pglite', null);
  const sim = await startSim('reapit', { contacts: SIM_RECORDS, seed: 3, limits: unlimited });
  const close = async () => {
    await sim.close();
    await opened.close();
  };
  try {
    const c = await connect(opened.store, 'reapit', sim, withSpec(getReapitSpec(), { limits: unlimited }));
    const seedStarted = performance.now();
    await seedTenant(opened.store, c.ref, tenantSize - SIM_RECORDS);
    log(
      `delta-scaling: seeded ${tenantSize - SIM_RECORDS} in ${round((performance.now() - seedStarted) / 1000, 1)} s`,
    );
    await c.cycle();
    const cycle = async (seed: number) => {
      await userEdits(sim, 100, seed);
      return requestsDuring(sim, () => c.cycle());
    };
    await cycle(39);
    return { contacts: tenantSize, cycle, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The delta figure's two tenants, prepared. */
export interface DeltaTenants {
  small: DeltaTenant;
  large: DeltaTenant;
}

/**
 * Both tenants, the large first (its seeding is most of the figure's time), then the small: all of it untimed, so
 * it can run beside the paced pushes. A failure closes whichever is open.
 */
export async function prepareDeltaTenants(): Promise<DeltaTenants> {
  const large = await prepareDeltaTenant(scale(1_000_000));
  const small = await prepareDeltaTenant(scale(10_000)).catch(async (error: unknown) => {
    await large.close();
    throw error;
  });
  return { small, large };
}

/**
 * Cycles of each tenant measured, the figure their median. A single delta cycle moves by a third of its length on
 * this machine (±0.05 s): of three, the median still moved so (full size: 1.41 and 1.79 in two runs).
 */
const DELTA_ROUNDS = 7;

/**
 * `tenants`: prepared beforehand. The two tenants' cycles take turns, so neither is measured in a warmer or
 * quieter process than the other: measured one tenant after the other, whichever went first took 0.1–0.2 s longer
 * (0.26–0.44 s against 0.13–0.24).
 */
export async function benchDeltaScaling(tenants: Promise<DeltaTenants>) {
  const { small, large } = await tenants;
  try {
    const measured: Record<'small' | 'large', Cycle[]> = { small: [], large: [] };
    for (let round = 0; round < DELTA_ROUNDS; round++) {
      measured.small.push(await small.cycle(40 + round));
      measured.large.push(await large.cycle(40 + round));
    }
    const figure = (tenant: DeltaTenant, cycles: Cycle[]) => ({
      contacts: tenant.contacts,
      seconds: round(median(cycles.map((c) => c.value)), 3),
      requests: median(cycles.map((c) => c.requests)),
    });
    const smallFigure = figure(small, measured.small);
    const largeFigure = figure(large, measured.large);
    emit({
      bench: 'delta-scaling',
      small: smallFigure,
      large: largeFigure,
      timeRatio: round(largeFigure.seconds / smallFigure.seconds),
      requestsSmall: smallFigure.requests,
      requestsLarge: largeFigure.requests,
      cycles: {
        small: measured.small.map((c) => round(c.value, 3)),
        large: measured.large.map((c) => round(c.value, 3)),
      },
    });
  } finally {
    await Promise.all([small.close(), large.close()]);
  }
}

/** Initial sync of `contacts` from Reapit (rate limit off); returns the connection for further cycles. */
async function initialSync(backend: Backend, postgresUrl: string | null, contacts: number) {
  const opened = await openBackend(backend, postgresUrl);
  const sim = await startSim('reapit', { contacts, seed: 11, limits: unlimited });
  const c = await connect(opened.store, 'reapit', sim, withSpec(getReapitSpec(), { limits: unlimited }));
  const seconds = await c.cycle();
  const fetched = c.lastCounts()?.fetched ?? 0;
  const busy = ['fetching', 'reconciling', 'pushing', 'auditing'];
  const phaseNames = ['fetch', 'reconcile', 'push', 'audit'];
  const total = busy.reduce((sum, s) => sum + c.phases.ms(s), 0);
  const store = c.storeTime.summary(6);
  emit({
    bench: 'initial-throughput',
    backend,
    contacts: fetched,
    seconds: round(seconds, 1),
    contactsPerSec: Math.round(fetched / seconds),
    phases: Object.fromEntries(busy.map((s, i) => [phaseNames[i], round(c.phases.ms(s) / total)])),
    // The database's share of the cycle, and where in it: PGlite runs on this thread, so nothing else moves then.
    store: {
      share: round(store.ms / 1000 / seconds),
      seconds: Object.fromEntries(store.methods.map(([method, ms]) => [method, round(ms / 1000, 1)])),
    },
  });
  return {
    c,
    sim,
    close: async () => {
      await sim.close();
      await opened.close();
    },
  };
}

export async function benchDeltaVsFullAndThroughput(postgresUrl: string | null) {
  const contacts = scale(100_000);
  const { c, sim, close } = await initialSync('pglite', null, contacts);
  try {
    // One untimed cycle first, as in delta-scaling: the cycle after a first sync, whichever its mode, reads that
    // sync's own writes back among the local changes and skips them (0.8 s at 100,000), which is the first sync's
    // cost, not a mode's.
    await userEdits(sim, contacts / 100, 4);
    await c.cycle('delta');
    // Median of three rounds, each on fresh edits: one sub-second delta cycle on this machine spreads by 2×.
    const rounds: Array<{
      delta: { value: number; requests: number };
      full: { value: number; requests: number };
    }> = [];
    for (let i = 0; i < 3; i++) {
      await userEdits(sim, contacts / 100, 5 + 2 * i);
      const delta = await requestsDuring(sim, () => c.cycle('delta'));
      await userEdits(sim, contacts / 100, 6 + 2 * i);
      const full = await requestsDuring(sim, () => c.cycle('full'));
      rounds.push({ delta, full });
    }
    const delta = {
      value: median(rounds.map((r) => r.delta.value)),
      requests: median(rounds.map((r) => r.delta.requests)),
    };
    const full = {
      value: median(rounds.map((r) => r.full.value)),
      requests: median(rounds.map((r) => r.full.requests)),
    };
    emit({
      bench: 'delta-vs-full',
      contacts,
      changed: contacts / 100,
      delta: { seconds: round(delta.value, 3), requests: delta.requests },
      full: { seconds: round(full.value, 3), requests: full.requests },
      requestRatio: round(full.requests / delta.requests, 1),
      timeRatio: round(full.value / delta.value, 1),
      rounds: rounds.map((r) => ({ delta: round(r.delta.value, 3), full: round(r.full.value, 3) })),
    });
  } finally {
    await close();
  }
  if (postgresUrl !== null) {
    const pg = await initialSync('postgres', postgresUrl, contacts);
    await pg.close();
  }
}
