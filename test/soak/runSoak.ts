import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openApp } from '../../src/main.ts';
import { formatLeaseOwner } from '../../src/persistence/leaseOwner.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import type { SimFaults } from '../../src/providers/simulator/gate.ts';
import { createRandom } from '../../src/providers/simulator/generator.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { type StartedSimulator, startSimulator } from '../support/simulators.ts';
import { type Comparison, compareWorlds, crmRecords } from './compareWorlds.ts';
import type { CrmContact } from './crmView.ts';
import { CycleLedger, ledgerKey } from './cycleLedger.ts';
import { FaultedWorld } from './faultedWorld.ts';
import { faultTally, resetFaultTally } from './faultTally.ts';
import { checkPlan, crmView, editsOf, type PlanCheck, type SimHistory } from './planChecks.ts';
import {
  expectedEngagement,
  type LocalInputs,
  SEEDED_CONTACTS,
  SOAK_PROVIDERS,
  SoakPlan,
  simulatorSeed,
  type TenantRound,
  tenantName,
} from './soakPlan.ts';
import {
  applyLocalInputs,
  ensureTenants,
  must,
  observeWorld,
  type RoundEvents,
  runTenantRound,
  SoakClock,
  type SoakTenant,
  simulatorLimits,
  soakSpec,
  type TenantSetup,
} from './soakWorld.ts';

export interface SoakOptions {
  /** Cycles per connection with inputs, the initial sync included; one settling cycle follows them. */
  rounds: number;
  tenants: number;
  seed: number;
  /** Share of rounds in which the faulted world's process is killed with SIGKILL mid-round. */
  crashRate: number;
  /** Transient faults every faulted simulator injects (429 bursts come from the plan, per round). */
  faults: Pick<SimFaults, 'errorRate' | 'timeoutRate' | 'dropRate' | 'lostAnswerRate'>;
  /** Told of each round (the CLI prints it to stderr). */
  progress?: (line: Record<string, unknown>) => void;
}

export const DEFAULT_FAULTS: SoakOptions['faults'] = {
  errorRate: 0.1,
  timeoutRate: 0.01,
  dropRate: 0.02,
  lostAnswerRate: 0.05,
};

export interface SoakSummary extends Comparison {
  soak: 'result';
  connections: number;
  rounds: number;
  /** Completed cycles audited in the faulted world, the settling round's included. */
  cycles: number;
  seconds: number;
  faultsInjected: {
    errors: number;
    timeouts: number;
    drops: number;
    lostAnswers: number;
    rateLimitBursts: number;
    rateLimited: number;
  };
  crashesSurvived: number;
  resumedMidCycle: number;
  retries: number;
  retriesFromError: number;
  /** How far the faulted world's clock was moved past backoffs in total. */
  clockSkewMs: number;
  /** Retries the fault-free replay needed (expected 0: nothing is injected there). */
  replayRetries: number;
  /** Why, for the first few: nothing is injected there, so each is worth a look. */
  replayRetryCauses: string[];
  /** Checks from the plan itself, in each world (`test/soak/planChecks.ts`): counts of what failed. */
  planChecks: {
    leadsChecked: number;
    editsChecked: number;
    leadProblems: { faulted: number; replay: number };
    editProblems: { faulted: number; replay: number };
    duplicateIdentities: { faulted: number; replay: number };
  };
  /** Cycle ids the runners were handed (random UUIDs); ids handed to a process killed before it used them. */
  cycleIds: { faulted: number; replay: number; lostBeforeSaved: number };
  passed: boolean;
}

type Sims = Map<string, StartedSimulator>;
const simKey = (tenant: number, provider: ProviderName) => `${tenant}/${provider}`;
const providerOfKey = (key: string) => key.split('/')[1] as ProviderName;

async function startSims(options: SoakOptions): Promise<Sims> {
  const sims: Sims = new Map();
  for (let t = 0; t < options.tenants; t++) {
    for (const provider of SOAK_PROVIDERS) {
      const sim = await startSimulator(provider, {
        contacts: SEEDED_CONTACTS,
        seed: simulatorSeed(options.seed, t, provider),
        limits: simulatorLimits(provider),
      });
      sims.set(simKey(t, provider), sim);
    }
  }
  return sims;
}

/** What each simulator holds now, read with its provider's mapping, per `tenantIndex/provider`. */
async function crmViews(sims: Sims, problems: string[]): Promise<Map<string, CrmContact[]>> {
  const views = new Map<string, CrmContact[]>();
  for (const [key, sim] of sims)
    views.set(key, crmView(providerOfKey(key), await sim.control.records(), problems, `crm ${key}`));
  return views;
}

async function simHistoryOf(sims: Sims): Promise<SimHistory> {
  const views = await crmViews(sims, []);
  return {
    simMade: new Map([...views].map(([key, records]) => [key, new Set(records.map((r) => r.externalId))])),
    edits: [],
  };
}

/** `/_sim/edits` on one simulator, its changes recorded in `history`. */
async function editSim(
  sim: StartedSimulator,
  key: string,
  round: number,
  tenant: number,
  edits: { count: number; seed: number },
  history: SimHistory,
): Promise<void> {
  const provider = providerOfKey(key);
  const before = crmView(provider, await sim.control.records(), [], key);
  const { changed } = await sim.control.edits(edits);
  const after = crmView(provider, await sim.control.records(), [], key);
  const { edited, created } = editsOf(provider, before, after, changed);
  for (const e of edited) history.edits.push({ round, tenant, provider, ...e });
  for (const id of created) history.simMade.get(key)?.add(id);
}

const setupOf = (options: SoakOptions, sims: Sims): TenantSetup[] =>
  Array.from({ length: options.tenants }, (_, t) => ({
    name: tenantName(options.seed, t),
    connections: SOAK_PROVIDERS.map((provider) => {
      const sim = sims.get(simKey(t, provider)) as StartedSimulator;
      return { provider, baseUrl: sim.baseUrl, credentials: sim.credentials };
    }),
  }));

/**
 * The soak: the same plan run twice, once against faulted simulators by a child process that is killed
 * at random, once fault-free in this process; then the two end states compared and the invariants checked.
 */
export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const started = Date.now();
  resetFaultTally();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'crm-sync-soak-'));
  const faultedSims = await startSims(options);
  const replaySims = await startSims(options);
  const replayStore = must(await openMemoryStore());
  const faulted = new FaultedWorld(dataDir, setupOf(options, faultedSims));
  const faultedHistory = await simHistoryOf(faultedSims);
  const replayHistory = await simHistoryOf(replaySims);
  const replayLedger = new CycleLedger();
  let replayRound = 0;
  try {
    const replayTenants = await ensureTenants(replayStore, setupOf(options, replaySims));
    const replayClock = new SoakClock();
    let replayRetries = 0;
    const replayRetryCauses: string[] = [];
    const replayDeps = {
      store: replayStore,
      clock: replayClock.now,
      owner: formatLeaseOwner({ host: 'soak', pid: process.pid, id: randomUUID() }),
      newCycleId: randomUUID,
      limiters: new Map(),
      providerOptions: (c: { provider: ProviderName }) => ({ spec: soakSpec(c.provider) }),
    };
    const replayEvents = {
      onRetry: ({
        provider,
        state,
        lastError,
      }: {
        provider: ProviderName;
        state: string;
        lastError: string | null;
      }) => {
        replayRetries++;
        if (replayRetryCauses.length < 5) replayRetryCauses.push(`${provider} ${state}: ${lastError}`);
      },
      onResume: () => {},
      onSkew: () => {},
    };
    const replayEventsOf = (tenant: string): RoundEvents => ({
      ...replayEvents,
      onCycleId: ({ provider, cycleId }) =>
        replayLedger.hand(ledgerKey(tenant, provider), { round: replayRound, cycleId, generation: 0 }),
      onSeen: ({ provider, ...seen }) =>
        replayLedger.see(ledgerKey(tenant, provider), { ...seen, round: replayRound, generation: 0 }),
    });
    const runReplayRound = (tenant: SoakTenant, round: number) =>
      runTenantRound(replayDeps, replayClock, tenant, round, replayEventsOf(tenant.name), (provider) =>
        replayLedger.roundIds(ledgerKey(tenant.name, provider), round),
      );

    const plan = new SoakPlan(options.seed, options.tenants);
    const history: TenantRound[][] = [];
    const random = crashRandom(options.seed);
    let crashDue = false;
    let roundMs = 1_000;
    for (let round = 0; round < options.rounds; round++) {
      const tenants = plan.round(round);
      history.push(tenants);
      await Promise.all(
        tenants.flatMap((t, i) =>
          SOAK_PROVIDERS.map(async (provider) => {
            const edits = t.crmEdits[provider];
            const faultedSim = faultedSims.get(simKey(i, provider)) as StartedSimulator;
            const replaySim = replaySims.get(simKey(i, provider)) as StartedSimulator;
            const key = simKey(i, provider);
            if (edits.count > 0)
              await Promise.all([
                editSim(faultedSim, key, round, i, edits, faultedHistory),
                editSim(replaySim, key, round, i, edits, replayHistory),
              ]);
            const burst = t.rateLimitBursts[provider];
            if (burst > 0) faultTally.rateLimitBursts += 1;
            await faultedSim.control.faults({ ...options.faults, rateLimitBurst: burst });
          }),
        ),
      );
      crashDue ||= random() < options.crashRate;
      const roundStarted = Date.now();
      // Settle both before going on: a failure in one must not close the store under the other.
      const [faultedRun, replayRun] = await Promise.allSettled([
        faulted.runRound(
          round,
          tenants.map((t) => ({ name: t.tenant, local: t.local })),
          crashDue ? Math.round(roundMs * (0.1 + 0.8 * random())) : null,
        ),
        (async () => {
          replayRound = round;
          for (const [i, t] of tenants.entries())
            await applyLocalInputs(replayStore, replayTenants[i] ?? never(), t.local, replayClock.now());
          await Promise.all(replayTenants.map((tenant) => runReplayRound(tenant, round)));
        })(),
      ]);
      if (faultedRun.status === 'rejected') throw faultedRun.reason;
      if (replayRun.status === 'rejected') throw replayRun.reason;
      const crashed = faultedRun.value;
      // A kill that came after the round finished missed it: the crash stays due for the next round.
      if (crashed) crashDue = false;
      else roundMs = 0.7 * roundMs + 0.3 * (Date.now() - roundStarted);
      options.progress?.({
        soak: 'round',
        round,
        seconds: Math.round((Date.now() - started) / 100) / 10,
        crashed,
        ...faulted.counts,
        faults: { ...faultTally },
      });
    }
    // The settling round: no inputs, no crash, a whole second after the last. Street stamps whole seconds and a
    // window's upper bound is cut to the second it starts in, so edits of the second a world's last cycle started
    // in are left for its next window; without one more cycle the end states would differ by when each world
    // happened to run, not by what it lost. (The faulted world's clock, moved past backoffs, rarely meets this.)
    await new Promise((resolve) => setTimeout(resolve, 1_000 - (Date.now() % 1_000)));
    const settle = options.rounds;
    for (const sim of faultedSims.values())
      await sim.control.faults({ ...options.faults, rateLimitBurst: 0 });
    const noInputs: LocalInputs = { edits: [], events: [], lead: null };
    await faulted.runRound(
      settle,
      replayTenants.map((t) => ({ name: t.name, local: noInputs })),
      null,
    );
    replayRound = settle;
    await Promise.all(replayTenants.map((tenant) => runReplayRound(tenant, settle)));
    await faulted.stop();

    const expected = new Map(
      Array.from({ length: options.tenants }, (_, t) => [
        tenantName(options.seed, t),
        expectedEngagement(history.map((round) => round[t] as TenantRound)),
      ]),
    );
    const replay = await observeWorld(replayStore, replayTenants, settle + 1, expected, replayLedger);
    const viewProblems: string[] = [];
    const replayPlan = await checkPlan({
      world: 'replay',
      store: replayStore,
      tenants: replayTenants,
      history,
      sims: replayHistory,
      records: await crmViews(replaySims, viewProblems),
    });
    let faultedPlan: PlanCheck;
    const app = must(
      await openApp({ command: 'soak observe', notice: () => {}, source: { CRM_SYNC_DATA_DIR: dataDir } }),
    );
    let comparison: Comparison;
    let cycles: number;
    let lostBeforeSaved: number;
    try {
      const faultedTenants = await ensureTenants(app.store, setupOf(options, faultedSims));
      const observed = await observeWorld(app.store, faultedTenants, settle + 1, expected, faulted.ledger);
      cycles = observed.audits.completed;
      lostBeforeSaved = observed.audits.lost;
      faultedPlan = await checkPlan({
        world: 'faulted',
        store: app.store,
        tenants: faultedTenants,
        history,
        sims: faultedHistory,
        records: await crmViews(faultedSims, viewProblems),
      });
      comparison = compareWorlds(
        { observation: observed, crm: await crmRecords(faultedSims) },
        { observation: replay, crm: await crmRecords(replaySims) },
      );
    } finally {
      await app.close();
    }
    const counts = faulted.counts;
    const planProblems = [
      ...viewProblems,
      ...[faultedPlan, replayPlan].flatMap((p) => [
        ...p.leadProblems,
        ...p.editProblems,
        ...p.duplicateIdentities,
      ]),
    ];
    const problems = [...comparison.problems, ...planProblems].slice(0, 50);
    const passed = comparison.passed && planProblems.length === 0;
    return {
      soak: 'result',
      connections: options.tenants * SOAK_PROVIDERS.length,
      rounds: options.rounds,
      cycles,
      seconds: Math.round((Date.now() - started) / 1000),
      faultsInjected: { ...faultTally },
      crashesSurvived: counts.crashesSurvived,
      resumedMidCycle: counts.resumedMidCycle,
      retries: counts.retries,
      retriesFromError: counts.retriesFromError,
      clockSkewMs: counts.skewMs,
      replayRetries,
      replayRetryCauses,
      ...comparison,
      planChecks: {
        leadsChecked: faultedPlan.leadsChecked,
        editsChecked: faultedPlan.editsChecked,
        leadProblems: { faulted: faultedPlan.leadProblems.length, replay: replayPlan.leadProblems.length },
        editProblems: { faulted: faultedPlan.editProblems.length, replay: replayPlan.editProblems.length },
        duplicateIdentities: {
          faulted: faultedPlan.duplicateIdentities.length,
          replay: replayPlan.duplicateIdentities.length,
        },
      },
      cycleIds: { faulted: faulted.ledger.count, replay: replayLedger.count, lostBeforeSaved },
      problems,
      passed,
    };
  } finally {
    await faulted.stop();
    await replayStore.close();
    for (const sim of [...faultedSims.values(), ...replaySims.values()]) await sim.close();
    // SOAK_KEEP_DATA_DIR=1 keeps the faulted world's data directory for a post-mortem.
    if (process.env.SOAK_KEEP_DATA_DIR === '1') process.stderr.write(`soak: data kept in ${dataDir}\n`);
    else await rm(dataDir, { recursive: true, force: true });
  }
}

/** The crash schedule's own random stream, so changing it does not change the plan. */
const crashRandom = (seed: number) => createRandom(seed ^ 0xc4a5).next;

function never(): never {
  throw new Error('tenant missing from the replay');
}
