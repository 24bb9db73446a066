import { randomUUID } from 'node:crypto';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import type { ConnectionState } from '../../src/machines/connectionContext.ts';
import { parsePersistedConnection } from '../../src/machines/persistence.ts';
import { credentialsSchema } from '../../src/persistence/records.ts';
import type { ConnectionRef, Store } from '../../src/persistence/store.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { noRateLimits, type ProviderLimits, type ProviderSpec, withSpec } from '../../src/providers/spec.ts';
import { type RunnerDeps, runConnection } from '../../src/runner/connectionRunner.ts';
import { type AuditSeen, type CycleLedger, checkCycles, ledgerKey } from './cycleLedger.ts';
import { EVENT_TIME, type LocalInputs, leadContactId, SOAK_PROVIDERS, type Target } from './soakPlan.ts';

/**
 * One world of the soak over its store: tenants and connections, the NurtureHub-side inputs, a round of
 * cycles, and what the end state looks like. The faulted world runs it in a child process on file-backed
 * PGlite; the fault-free replay runs the same code in the parent.
 */

/** Rate limits off, in our specs and on the simulators: the soak measures faults, not pacing. */
export const unlimited = noRateLimits;

/**
 * agentOS blocks a key that keeps calling within one rate window after a 429 (its simulator's window is a
 * minute, or a second when a per-second limit is set). The soak scales that rule to one second: a per-second
 * limit no cycle reaches, and a one-second wait after a 429 instead of the documented minute.
 */
const AGENTOS_REST_MS = 1_000;

/** The limits a soak simulator enforces: none, except the window agentOS's 429 rule needs. */
export function simulatorLimits(provider: ProviderName): Partial<ProviderLimits> {
  return provider === 'agentos' ? { ...unlimited, requestsPerSecond: 100_000 } : unlimited;
}

/** A request the simulator never answers is given up after this long (the documented default is 30 s). */
export const SOAK_TIMEOUT_MS = 1_000;

/** The provider's spec without rate limits and with millisecond retry waits (a Retry-After header still counts). */
export function soakSpec(provider: ProviderName): ProviderSpec {
  const entry = getProvider(provider);
  if (entry === undefined) throw new Error(`${provider} is not registered`);
  return withSpec(entry.spec, {
    limits: unlimited,
    retry: {
      timeoutMs: SOAK_TIMEOUT_MS,
      transientBaseMs: 5,
      transientMaxMs: 40,
      waitAfter429Ms: provider === 'agentos' ? AGENTOS_REST_MS : 20,
    },
  });
}

export interface ConnectionSetup {
  provider: ProviderName;
  baseUrl: string;
  credentials: Record<string, unknown>;
}

export interface TenantSetup {
  name: string;
  connections: ConnectionSetup[];
}

export interface SoakTenant {
  name: string;
  tenantId: string;
  connections: Array<{ provider: ProviderName; ref: ConnectionRef }>;
}

export function must<T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

/** Creates the tenants and their connections, or finds them (a restarted child sets up again). */
export async function ensureTenants(store: Store, setups: TenantSetup[]): Promise<SoakTenant[]> {
  const tenants: SoakTenant[] = [];
  for (const setup of setups) {
    const found = await store.getTenantByName({ name: setup.name });
    const tenant = found.ok
      ? found.value
      : must(await store.createTenant({ name: setup.name, syncIntervalSeconds: 900 }));
    const existing = must(await store.listConnections({ tenantId: tenant.id }));
    const connections: SoakTenant['connections'] = [];
    for (const c of setup.connections) {
      const connection =
        existing.find((e) => e.provider === c.provider) ??
        must(
          await store.addConnection({
            tenantId: tenant.id,
            provider: c.provider,
            baseUrl: c.baseUrl,
            credentials: credentialsSchema.parse(c.credentials),
            nextRunAt: new Date(),
          }),
        );
      connections.push({ provider: c.provider, ref: { tenantId: tenant.id, connectionId: connection.id } });
    }
    tenants.push({ name: setup.name, tenantId: tenant.id, connections });
  }
  return tenants;
}

/** The local contact `target` names, or `null` (a Reapit record never linked, e.g. a suppressed duplicate). */
export async function resolveTarget(
  store: Store,
  tenant: SoakTenant,
  target: Target,
): Promise<string | null> {
  if (target.kind === 'lead') return leadContactId(tenant.name, target.email);
  const reapit = tenant.connections.find((c) => c.provider === 'reapit');
  if (reapit === undefined) return null;
  const links = must(await store.getLinksByExternalIds({ ...reapit.ref, externalIds: [target.externalId] }));
  return links[0]?.contactId ?? null;
}

/** The NurtureHub side of a round: edits, engagement events (redeliveries included) and a new lead. */
export async function applyLocalInputs(
  store: Store,
  tenant: SoakTenant,
  local: LocalInputs,
  now: Date,
): Promise<void> {
  const { tenantId } = tenant;
  for (const edit of local.edits) {
    const id = await resolveTarget(store, tenant, edit.target);
    const stored = id === null ? undefined : must(await store.getContacts({ tenantId, ids: [id] }))[0];
    if (stored === undefined) continue;
    const contact = { ...stored.contact, firstName: edit.firstName, intentScore: edit.intentScore };
    must(await store.upsertContacts({ tenantId, contacts: [{ id: stored.id, contact }], now }));
  }
  const events = [];
  for (const e of local.events) {
    const contactId = await resolveTarget(store, tenant, e.target);
    if (contactId !== null)
      events.push({ eventId: e.eventId, contactId, kind: e.kind, occurredAt: EVENT_TIME });
  }
  if (events.length > 0) must(await store.ingestEngagementEvents({ tenantId, events, now }));
  if (local.lead !== null) {
    const contact = canonicalContactSchema.parse({
      firstName: 'Nia',
      lastName: `Lead ${local.lead.split('@')[0]}`,
      email: local.lead,
      marketingConsent: 'grant',
    });
    must(
      await store.upsertContacts({
        tenantId,
        contacts: [{ id: leadContactId(tenant.name, local.lead), contact }],
        now,
      }),
    );
  }
}

/**
 * The runner's clock, moved forward past a backoff's `resumeAt` instead of waiting for it (the machine's
 * backoff starts at 30 s; a scheduler would come back then). Only ever moves forward.
 */
export class SoakClock {
  constructor(public skewMs = 0) {}

  readonly now = () => new Date(Date.now() + this.skewMs);

  /** Returns whether the clock moved. */
  advanceTo(iso: string): boolean {
    const needed = Date.parse(iso) - Date.now();
    if (needed <= this.skewMs) return false;
    this.skewMs = needed;
    return true;
  }
}

async function machineOf(store: Store, ref: ConnectionRef) {
  const stored = must(await store.loadSnapshot(ref));
  if (stored === null) return null;
  const restored = parsePersistedConnection({
    machineVersion: Number(stored.machineVersion),
    snapshot: stored.snapshot,
  });
  if (!restored.ok) throw new Error(`snapshot unreadable: ${JSON.stringify(restored.error)}`);
  return { state: restored.value.state, context: restored.value.context };
}

export interface RoundEvents {
  /** A run ended in backoff or error and the cycle was resumed. */
  onRetry(detail: { provider: ProviderName; state: ConnectionState; lastError: string | null }): void;
  /** The round found a connection mid-cycle (a crashed process left it there). */
  onResume(detail: { provider: ProviderName; state: ConnectionState }): void;
  /** The clock jumped past a backoff. */
  onSkew(skewMs: number): void;
  /** The runner was handed a new cycle id (a random UUID, as in production) for this round's cycle. */
  onCycleId(detail: { provider: ProviderName; cycleId: string }): void;
  /** How the round first found a connection's persisted machine (the cycle ledger's evidence of a lost id). */
  onSeen(detail: { provider: ProviderName } & SeenMachine): void;
}

/** A persisted machine as a round first found it: its state, its cycle's id and its last completed cycle's. */
export interface SeenMachine {
  state: ConnectionState | 'none';
  cycleId: string | null;
  lastAuditCycleId: string | null;
}

/**
 * One round of one tenant: each connection in turn runs the round's cycle until its machine is idle with
 * the cycle audited. Resumes a cycle a crash interrupted; resumes backoff (moving the clock) and error.
 * In turn, not at once: a contact one CRM changes is pushed to the tenant's other CRMs that link it, so
 * the order of cycles must be the same in both worlds.
 */
export async function runTenantRound(
  deps: RunnerDeps,
  clock: SoakClock,
  tenant: SoakTenant,
  round: number,
  events: RoundEvents,
  /** The cycle ids handed out in this round so far per provider, by earlier (killed) processes included. */
  handed: (provider: ProviderName) => readonly string[],
): Promise<void> {
  for (const provider of SOAK_PROVIDERS) {
    const connection = tenant.connections.find((c) => c.provider === provider);
    if (connection === undefined) continue;
    // A fresh UUID per cycle, as production's runner hands out: every id is recorded before the runner sees it.
    const mine: string[] = [];
    const newCycleId = () => {
      const cycleId = randomUUID();
      mine.push(cycleId);
      events.onCycleId({ provider, cycleId });
      return cycleId;
    };
    const runDeps: RunnerDeps = { ...deps, clock: clock.now, newCycleId };
    const roundIds = () => new Set([...handed(provider), ...mine]);
    let machine = await machineOf(deps.store, connection.ref);
    events.onSeen({
      provider,
      state: machine?.state ?? 'none',
      cycleId: machine?.context.cycle?.cycleId ?? null,
      lastAuditCycleId: machine?.context.lastAudit?.cycleId ?? null,
    });
    if (machine !== null && machine.state !== 'idle') events.onResume({ provider, state: machine.state });
    for (let runs = 0; ; runs++) {
      // Done once idle with this round's cycle audited (a killed process may have finished it already).
      const last = machine?.context.lastAudit?.cycleId;
      if (machine?.state === 'idle' && last !== undefined && roundIds().has(last)) break;
      if (runs >= 100)
        throw new Error(
          `${tenant.name}/${provider} round ${round}: not idle after 100 runs, ${machine?.state}: ${JSON.stringify(machine?.context.lastError)}`,
        );
      if (machine?.state === 'backoff' && machine.context.resumeAt !== null) {
        if (clock.advanceTo(machine.context.resumeAt)) events.onSkew(clock.skewMs);
      }
      const outcome = await runConnection(
        runDeps,
        connection.ref,
        machine?.state === 'error' ? 'retry' : 'cycle',
      );
      if (!outcome.ok) throw new Error(`${tenant.name}/${provider} round ${round}: ${outcome.error.message}`);
      machine = outcome.value;
      if (outcome.value.state !== 'idle') {
        const error = outcome.value.context.lastError;
        events.onRetry({
          provider,
          state: outcome.value.state,
          lastError: error === null ? null : `${error.phase} ${error.kind}: ${error.message}`,
        });
      }
    }
  }
}

/** Every contact of a tenant, a page of 500 at a time. */
export async function allContacts(store: Store, tenantId: string) {
  const contacts = [];
  for (let afterId: string | undefined; ; ) {
    const page = must(await store.listContacts({ tenantId, limit: 500, ...(afterId ? { afterId } : {}) }));
    contacts.push(...page);
    afterId = page.at(-1)?.id;
    if (page.length < 500) return contacts;
  }
}

/** What must match between the two worlds and what must hold in each, read from one world's store. */
export interface WorldObservation {
  /** Per tenant: every local contact as canonical JSON with the providers it is linked to, sorted. */
  local: Map<string, string[]>;
  /** Per tenant: local contacts per identity (e-mail, else name and mobile). */
  identities: Map<string, Map<string, number>>;
  /** Engagement counters above (doubled) and below (missing) the distinct events ingested. */
  engagement: { doubled: number; missing: number; details: string[] };
  /** Cycle ids the runners were handed without exactly one terminal audit entry, rounds without exactly one completed entry. */
  audits: { problems: string[]; completed: number; failed: number; lost: number; handed: number };
  /** Connections whose persisted machine is not idle. */
  notIdle: string[];
}

const identityOf = (c: {
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  mobilePhone: string | null;
}) => c.email?.toLowerCase() ?? `${c.firstName}|${c.lastName}|${c.mobilePhone}`;

export async function observeWorld(
  store: Store,
  tenants: SoakTenant[],
  rounds: number,
  expected: Map<string, Array<{ target: Target; opens: number; clicks: number }>>,
  ledger: CycleLedger,
): Promise<WorldObservation> {
  const observation: WorldObservation = {
    local: new Map(),
    identities: new Map(),
    engagement: { doubled: 0, missing: 0, details: [] },
    audits: { problems: [], completed: 0, failed: 0, lost: 0, handed: ledger.count },
    notIdle: [],
  };
  for (const tenant of tenants) {
    const providerOf = new Map(tenant.connections.map((c) => [c.ref.connectionId, c.provider]));
    const contacts = await allContacts(store, tenant.tenantId);
    observation.local.set(
      tenant.name,
      contacts
        .map((c) =>
          JSON.stringify({
            contact: c.contact,
            linked: c.links.map((l) => providerOf.get(l.connectionId)).sort(),
          }),
        )
        .sort(),
    );
    const identities = new Map<string, number>();
    for (const c of contacts)
      identities.set(identityOf(c.contact), (identities.get(identityOf(c.contact)) ?? 0) + 1);
    observation.identities.set(tenant.name, identities);

    // Targets that name the same contact add up; a target never linked (a suppressed duplicate) got nothing.
    const want = new Map<string, { opens: number; clicks: number }>();
    for (const { target, opens, clicks } of expected.get(tenant.name) ?? []) {
      const id = await resolveTarget(store, tenant, target);
      if (id === null) continue;
      const sum = want.get(id) ?? { opens: 0, clicks: 0 };
      want.set(id, { opens: sum.opens + opens, clicks: sum.clicks + clicks });
    }
    for (const c of contacts) {
      const w = want.get(c.id) ?? { opens: 0, clicks: 0 };
      const over =
        Math.max(0, c.contact.emailOpens - w.opens) + Math.max(0, c.contact.emailClicks - w.clicks);
      const under =
        Math.max(0, w.opens - c.contact.emailOpens) + Math.max(0, w.clicks - c.contact.emailClicks);
      observation.engagement.doubled += over;
      observation.engagement.missing += under;
      if (over + under > 0)
        observation.engagement.details.push(
          `${tenant.name} ${c.contact.email}: ${c.contact.emailOpens}/${c.contact.emailClicks} opens/clicks, expected ${w.opens}/${w.clicks}`,
        );
    }

    for (const { provider, ref } of tenant.connections) {
      await observeConnection(store, tenant.name, provider, ref, rounds, ledger, observation);
    }
  }
  return observation;
}

async function observeConnection(
  store: Store,
  tenant: string,
  provider: ProviderName,
  ref: ConnectionRef,
  rounds: number,
  ledger: CycleLedger,
  observation: WorldObservation,
): Promise<void> {
  const label = `${tenant}/${provider}`;
  const machine = await machineOf(store, ref);
  if (machine?.state !== 'idle') observation.notIdle.push(`${label}: ${machine?.state ?? 'never ran'}`);
  const audits: AuditSeen[] = [];
  for (let beforeId: number | undefined; ; ) {
    const page = must(await store.listAudit({ ...ref, limit: 1000, ...(beforeId ? { beforeId } : {}) }));
    for (const entry of page.entries)
      audits.push({ cycleId: entry.body.cycleId, outcome: entry.body.outcome });
    if (page.nextBeforeId === null) break;
    beforeId = page.nextBeforeId;
  }
  const checked = checkCycles(label, ledger, ledgerKey(tenant, provider), audits, rounds);
  observation.audits.completed += checked.completed;
  observation.audits.failed += checked.failed;
  observation.audits.lost += checked.lost;
  observation.audits.problems.push(...checked.problems);
}
