import { randomUUID } from 'node:crypto';
import type { PhaseDeps } from '../../src/actors/context.ts';
import { compareCursor } from '../../src/core/cursor.ts';
import { equivalent } from '../../src/core/equivalentValue.ts';
import { canonicalContactSchema, contactFields } from '../../src/core/schemas.ts';
import type { Phase, PhaseFailureKind } from '../../src/machines/phases.ts';
import { credentialsSchema } from '../../src/persistence/records.ts';
import type { Store, StoreError, StoreHandle } from '../../src/persistence/store.ts';
import { createLimiter } from '../../src/providers/limiter.ts';
import type { CrmProvider, CursorPosition } from '../../src/providers/provider.ts';
import { toInboundRecord } from '../../src/providers/reapit/mapping.ts';
import { reapitSpec } from '../../src/providers/reapit/spec.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { defineSpec, withSpec } from '../../src/providers/spec.ts';
import { type StartedSimulator, startSimulator } from '../support/simulators.ts';

/**
 * The real system, small, for the model-based suites: PGlite + the Reapit simulator over HTTP + the real
 * phase actors. One `World` is one tenant with one Reapit connection on a shared store.
 */

/** Two records a page, so a window of three changed records has more than one page. */
export const MODEL_PAGE_SIZE = 2;
/** The client's wait after a 429 without Retry-After: the `retryAfterMs` a real `rate_limited` carries. */
export const MODEL_WAIT_AFTER_429_MS = 5;
const DAY_MS = 86_400_000;

/** Reapit's spec with tiny pages, generous rates and millisecond retry waits: no test waits real seconds. */
export const modelSpec = defineSpec({
  ...reapitSpec,
  limits: { ...reapitSpec.limits, requestsPerSecond: 10_000, maxConcurrent: 16 },
  retry: {
    ...reapitSpec.retry,
    maxAttempts: 2,
    transientBaseMs: 1,
    transientMaxMs: 2,
    waitAfter429Ms: MODEL_WAIT_AFTER_429_MS,
    timeoutMs: 5_000,
  },
  pagination: { ...reapitSpec.pagination, maxPageSize: MODEL_PAGE_SIZE, defaultPageSize: MODEL_PAGE_SIZE },
  // The model's clock stands still, so a lost create's settle time (test/integration/lostCreate.test.ts) would never
  // pass: here a create the CRM does not show was not applied.
  capabilities: { ...reapitSpec.capabilities, maxPageSize: MODEL_PAGE_SIZE, createSettleMs: 0 },
});

/** Seeded CRM contacts per world: few, and no two alike (so dedup suppresses nothing). */
export const SIM_OPTIONS = {
  contacts: 4,
  seed: 11,
  limits: { requestsPerSecond: 10_000, maxConcurrent: 16 },
};

/** The next UTC midnight after `ms`: when a spent daily quota resets (the limiter's rule). */
export const quotaResetAfter = (ms: number) => new Date((Math.floor(ms / DAY_MS) + 1) * DAY_MS).toISOString();

/** One tenant × Reapit connection on the shared store, with its own simulator. */
export interface World {
  store: StoreHandle;
  sim: StartedSimulator;
  tenantId: string;
  connectionId: string;
  credentials: Record<string, unknown>;
  /** The engine's clock: frozen, so every failure is dated exactly `t0` and every backoff is predictable. */
  t0: number;
}

export async function openWorld(
  store: StoreHandle,
  t0: number,
  contacts = SIM_OPTIONS.contacts,
): Promise<World> {
  const sim = await startSimulator('reapit', { ...SIM_OPTIONS, contacts });
  const tenant = await store.createTenant({ name: `model-${randomUUID()}`, syncIntervalSeconds: 900 });
  if (!tenant.ok) throw new Error(tenant.error.message);
  const connection = await store.addConnection({
    tenantId: tenant.value.id,
    provider: 'reapit',
    baseUrl: sim.baseUrl,
    credentials: credentialsSchema.parse(sim.credentials),
    nextRunAt: new Date(t0),
  });
  if (!connection.ok) throw new Error(connection.error.message);
  return {
    store,
    sim,
    tenantId: tenant.value.id,
    connectionId: connection.value.id,
    credentials: sim.credentials,
    t0,
  };
}

/** How a fault reaches the phase: at the provider's HTTP, its limiter, its credentials, or the store. */
export type Fault =
  | 'http5xx'
  | 'http429'
  | 'http400'
  | 'quotaSpent'
  | 'badCredentials'
  | 'storeUnavailable'
  | 'storeCorrupt'
  /** The phase cannot fail this way for real (the audit makes no provider call): reject without running it. */
  | 'synthetic';

/**
 * The fault that makes each phase fail with each kind. Fetch and push always call the provider; reconcile
 * calls it for the NurtureHub lead (an e-mail search before planning its create); the audit never does.
 */
export function faultFor(phase: Phase, kind: PhaseFailureKind): Fault {
  const viaStore = phase === 'auditing';
  switch (kind) {
    case 'transient':
      return viaStore ? 'storeUnavailable' : 'http5xx';
    case 'rate_limited':
      return viaStore ? 'synthetic' : 'http429';
    case 'quota_exhausted':
      return viaStore ? 'synthetic' : 'quotaSpent';
    case 'auth_failed':
      return viaStore ? 'synthetic' : 'badCredentials';
    case 'fatal':
      // A 400 on a push defers the record (not fatal); a store that returns a corrupt row is.
      return phase === 'pushing' || viaStore ? 'storeCorrupt' : 'http400';
  }
}

/** A crash after a point: once `dead`, every call from the dying process hangs, as if it never ran. */
export interface Death {
  dead: boolean;
  /** Resolves when the process dies. */
  died: Promise<void>;
  kill(): void;
}

export function createDeath(): Death {
  let resolve = () => {};
  const death: Death = {
    dead: false,
    died: new Promise<void>((r) => {
      resolve = r;
    }),
    kill: () => {
      death.dead = true;
      resolve();
    },
  };
  return death;
}

const hang = <T>() => new Promise<T>(() => {});

export interface PhaseRunOptions {
  fault?: Fault | null;
  /**
   * The dying process of a crash; with `killAfterWrite`, it dies once the CRM applied one write; with
   * `killAfterCommit`, once its first store transaction committed.
   */
  death?: Death;
  killAfterWrite?: boolean;
  killAfterCommit?: boolean;
}

/**
 * Records a phase takes per batch (reconcile's staged records, local changes): one, so that a reconcile of two
 * records is two batches, and a crash between them (`killAfterCommit`) arises in the model's small worlds.
 */
const MODEL_BATCH_SIZE = 1;

/** Fresh provider, limiter and store wrapper for one phase run (a crash drops them all). */
export async function phaseDeps(world: World, options: PhaseRunOptions = {}): Promise<PhaseDeps> {
  const { fault = null, death } = options;
  const clock = () => new Date(world.t0);
  const entry = getProvider('reapit');
  if (entry === undefined) throw new Error('reapit is not registered');
  const limiter =
    fault === 'quotaSpent'
      ? createLimiter(withSpec(modelSpec, { limits: { requestsPerDay: 1 } }), { now: () => world.t0 })
      : createLimiter(modelSpec);
  // Spend the one request of the day, so the limiter knows the quota is gone before the phase's first call.
  if (fault === 'quotaSpent') await limiter.schedule('read', async () => {});

  const realFetch = globalThis.fetch;
  const fetchImpl: typeof fetch = async (url, init) => {
    if (death?.dead) return hang();
    const target = String(url);
    const isApi = !target.endsWith('/token');
    if (fault === 'http400' && isApi) {
      return new Response(JSON.stringify({ statusCode: 400, description: 'schema mismatch (injected)' }), {
        status: 400,
        headers: { 'content-type': 'application/json' },
      });
    }
    const response = await realFetch(url, init);
    const isWrite = init?.method === 'POST' || init?.method === 'PATCH';
    if (death !== undefined && options.killAfterWrite && isApi && isWrite && response.status < 300) {
      // The CRM applied the write and answered; the process dies before the answer is read.
      death.kill();
      return hang();
    }
    return response;
  };
  const credentials =
    fault === 'badCredentials' ? { ...world.credentials, clientSecret: 'revoked-secret' } : world.credentials;
  const created = entry.createProvider({
    baseUrl: world.sim.baseUrl,
    credentials,
    spec: modelSpec,
    limiter,
    fetch: fetchImpl,
  });
  if (!created.ok) throw new Error(created.error.message);
  const provider: CrmProvider = created.value;
  const store = faultyStore(world.store, fault, death, options.killAfterCommit === true);
  return { store, provider, clock, batchSize: MODEL_BATCH_SIZE };
}

/**
 * The store as a phase sees it: the first call fails when a store fault is armed; once the process is
 * dead, calls never return. Calls made on a transaction handle go straight to the store: a transaction
 * that began before the crash commits, as it would in Postgres. With `killAfterCommit`, the process dies as its
 * first transaction commits.
 */
function faultyStore(
  store: Store,
  fault: Fault | null,
  death: Death | undefined,
  killAfterCommit: boolean,
): Store {
  let armed: StoreError | null =
    fault === 'storeUnavailable'
      ? { kind: 'unavailable', message: 'connection terminated (injected)' }
      : fault === 'storeCorrupt'
        ? { kind: 'corrupt', message: 'row does not match its schema (injected)' }
        : null;
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (death?.dead) return hang();
        if (armed !== null) {
          const error = armed;
          armed = null;
          return Promise.resolve({ ok: false, error });
        }
        const result = value.apply(target, args);
        if (property !== 'transaction' || !killAfterCommit || death === undefined) return result;
        return Promise.resolve(result).then(() => {
          death.kill();
          return hang();
        });
      };
    },
  });
}

/** Arms the simulator for `fault` (5xx, 429) until the returned function clears it. */
export async function armSimulator(world: World, fault: Fault | null): Promise<() => Promise<void>> {
  if (fault === 'http5xx') await world.sim.control.faults({ errorRate: 1 });
  else if (fault === 'http429') await world.sim.control.faults({ rateLimitBurst: 1_000 });
  else return async () => {};
  return () => world.sim.control.faults({});
}

// ---------------------------------------------------------------------------------------------------
// Observing a world: CRM records, local contacts and links, and the end state compared across runs.

interface SimRecord {
  id: string;
  modified: string;
  email?: string;
  metadata?: Record<string, unknown>;
  [key: string]: unknown;
}

export async function simRecords(world: World): Promise<SimRecord[]> {
  return (await world.sim.control.records()) as SimRecord[];
}

export async function localContacts(world: World) {
  const listed = await world.store.listContacts({ tenantId: world.tenantId, limit: 1000 });
  if (!listed.ok) throw new Error(listed.error.message);
  return listed.value.map((c) => ({
    ...c,
    links: c.links.filter((l) => l.connectionId === world.connectionId),
  }));
}

/** What must match a fault-free run: CRM records and local contacts, without ids, versions and times. */
export interface EndState {
  crm: Array<Record<string, unknown>>;
  local: Array<{ externalId: string | null; contact: unknown }>;
}

export async function endState(world: World): Promise<EndState> {
  const records = await simRecords(world);
  // Our creates run in parallel, so the CRM numbers them in any order: name them by e-mail instead.
  const keyOf = new Map(
    records.map((r) => [r.id, r.metadata?.nurturehubId === undefined ? r.id : `ours:${r.email}`]),
  );
  const crm = records
    .map(({ _eTag, modified, created, metadata, id, ...rest }) => {
      const { nurturehubId: _ours, ...meta } = (metadata ?? {}) as Record<string, unknown>;
      return { id: keyOf.get(id), ...rest, metadata: meta };
    })
    .sort((a, b) => String(a.id).localeCompare(String(b.id)));
  const local = (await localContacts(world))
    .map((c) => {
      const externalId = c.links[0]?.externalId;
      return {
        externalId: externalId === undefined ? null : (keyOf.get(externalId) ?? externalId),
        contact: c.contact,
      };
    })
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { crm, local };
}

/** The inputs a run applies besides its cycles; a fault-free replay applies the same ones. */
export interface WorldInputs {
  /** CRM edits, in order, each `/_sim/edits` with count 1. */
  crmEdits: number[];
  /** Local edits: the contact linked to `externalId` gets `firstName`. */
  localEdits: Array<{ externalId: string; firstName: string }>;
  /** Engagement events (ids may repeat: duplicates must count once), on the contact linked to `externalId`. */
  events: Array<{ eventId: string; externalId: string; kind: 'email_open' | 'email_click' }>;
  /** NurtureHub leads (never in the CRM yet), by e-mail. */
  leads: string[];
}

export const emptyInputs = (): WorldInputs => ({ crmEdits: [], localEdits: [], events: [], leads: [] });

/** When every engagement event happened: fixed, so runs on different days compare equal. */
const EVENT_TIME = '2026-01-05T10:00:00.000Z';

/** Applies inputs to a world. */
export async function applyInputs(world: World, inputs: WorldInputs): Promise<void> {
  for (const seed of inputs.crmEdits) {
    await world.sim.control.edits({ count: 1, seed });
    // Each edit its own millisecond: one `modified` per record keeps page boundaries simple.
    await new Promise((r) => setTimeout(r, 2));
  }
  const byExternal = new Map(
    (await localContacts(world)).flatMap((c) => c.links.map((l) => [l.externalId, c] as const)),
  );
  const now = new Date(world.t0);
  for (const edit of inputs.localEdits) {
    const target = byExternal.get(edit.externalId);
    if (target === undefined) continue;
    const contact = { ...target.contact, firstName: edit.firstName };
    const saved = await world.store.upsertContacts({
      tenantId: world.tenantId,
      contacts: [{ id: target.id, contact }],
      now,
    });
    if (!saved.ok) throw new Error(saved.error.message);
    target.contact = contact;
  }
  const events = inputs.events.flatMap((e) => {
    const target = byExternal.get(e.externalId);
    return target === undefined
      ? []
      : [{ eventId: e.eventId, contactId: target.id, kind: e.kind, occurredAt: EVENT_TIME }];
  });
  if (events.length > 0) {
    const ingested = await world.store.ingestEngagementEvents({ tenantId: world.tenantId, events, now });
    if (!ingested.ok) throw new Error(ingested.error.message);
  }
  for (const email of inputs.leads) {
    const contact = canonicalContactSchema.parse({
      firstName: 'Nia',
      lastName: `Lead ${email.split('@')[0]}`,
      email,
      marketingConsent: 'grant',
    });
    const saved = await world.store.upsertContacts({
      tenantId: world.tenantId,
      contacts: [{ id: randomUUID(), contact }],
      now,
    });
    if (!saved.ok) throw new Error(saved.error.message);
  }
}

// ---------------------------------------------------------------------------------------------------
// Invariants over the store and the CRM.

const positionOf = (r: SimRecord): CursorPosition => ({ modified: r.modified, externalId: r.id });

/** Invariants that hold after every step; returns the violations. */
export async function worldViolations(
  world: World,
  expect: { distinctEvents: Map<string, { opens: number; clicks: number }> },
): Promise<string[]> {
  const problems: string[] = [];
  const contacts = await localContacts(world);
  const records = await simRecords(world);

  // No duplicate contacts locally: one link per contact, one contact per CRM record.
  const linked = contacts.flatMap((c) => c.links.map((l) => l.externalId));
  if (new Set(linked).size !== linked.length) problems.push(`a CRM record is linked twice: ${linked}`);
  for (const c of contacts)
    if (c.links.length > 1) problems.push(`contact ${c.id} has ${c.links.length} links`);

  // No duplicate contacts in the CRM: each of our creates exactly once, never two of one e-mail.
  const ours = records.filter((r) => r.metadata?.nurturehubId !== undefined);
  const refs = ours.map((r) => String(r.metadata?.nurturehubId));
  if (new Set(refs).size !== refs.length) problems.push(`a lead was created twice in the CRM: ${refs}`);
  const emails = ours.map((r) => (r.email ?? '').toLowerCase());
  if (new Set(emails).size !== emails.length) problems.push(`two CRM records of ours share an e-mail`);
  const stats = await world.sim.control.stats();
  if (stats.creates !== ours.length)
    problems.push(`the CRM accepted ${stats.creates} creates for ${ours.length} leads`);

  // No doubled engagement record: counters equal the distinct events ingested.
  const byExternal = new Map(contacts.flatMap((c) => c.links.map((l) => [l.externalId, c] as const)));
  for (const [externalId, counts] of expect.distinctEvents) {
    const c = byExternal.get(externalId);
    if (c === undefined) continue;
    if (c.contact.emailOpens !== counts.opens || c.contact.emailClicks !== counts.clicks)
      problems.push(
        `engagement of ${externalId}: ${c.contact.emailOpens}/${c.contact.emailClicks}, expected ${counts.opens}/${counts.clicks}`,
      );
  }

  // The cursor is never ahead of committed data: every CRM record at or before it is linked here.
  const connection = await world.store.getConnection({
    tenantId: world.tenantId,
    connectionId: world.connectionId,
  });
  if (!connection.ok) throw new Error(connection.error.message);
  const cursor = connection.value.cursor;
  if (cursor !== null) {
    const linkedSet = new Set(linked);
    const behind = records.filter((r) => compareCursor(positionOf(r), cursor) <= 0);
    const unlinked = behind.filter((r) => !linkedSet.has(r.id)).map((r) => r.id);
    if (unlinked.length > 0)
      problems.push(`cursor ${JSON.stringify(cursor)} passed uncommitted records ${unlinked}`);
    const highest = records.map(positionOf).sort(compareCursor).at(-1);
    if (highest === undefined || compareCursor(cursor, highest) > 0)
      problems.push(`cursor ${JSON.stringify(cursor)} beyond every CRM record`);
  }
  return problems;
}

/** Completed cycles have exactly one audit entry each; returns the completed cycle ids. */
export async function auditedCycles(world: World): Promise<{ completed: string[]; failed: string[] }> {
  const listed = await world.store.listAudit({
    tenantId: world.tenantId,
    connectionId: world.connectionId,
    limit: 1000,
  });
  if (!listed.ok) throw new Error(listed.error.message);
  const of = (outcome: string) =>
    listed.value.entries.filter((e) => e.body.outcome === outcome).map((e) => e.body.cycleId);
  return { completed: of('completed'), failed: of('failed') };
}

/** Both sides agree at rest: every linked contact equals its CRM record read back through the adapter. */
export async function sidesDisagree(world: World): Promise<string[]> {
  const records = new Map((await simRecords(world)).map((r) => [r.id, r]));
  const problems: string[] = [];
  for (const c of await localContacts(world)) {
    const link = c.links[0];
    if (link === undefined) {
      problems.push(`contact ${c.id} (${c.contact.email}) never reached the CRM`);
      continue;
    }
    const raw = records.get(link.externalId);
    const read = raw === undefined ? null : toInboundRecord(raw);
    if (read === null || !read.ok) {
      problems.push(`CRM record ${link.externalId} missing or unreadable`);
      continue;
    }
    // Compared as the merge compares them: a value written another way (a phone spaced or prefixed otherwise) is
    // one value, which each side keeps in its own form (src/core/equivalentValue.ts).
    const crm = read.value.contact;
    if (contactFields.some((field) => !equivalent(field, crm[field], c.contact[field])))
      problems.push(
        `${link.externalId}: CRM ${JSON.stringify(read.value.contact)} ≠ local ${JSON.stringify(c.contact)}`,
      );
  }
  return problems;
}
