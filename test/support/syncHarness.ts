import { randomUUID } from 'node:crypto';
import type { CanonicalContact } from '../../src/core/schemas.ts';
import { formatLeaseOwner } from '../../src/persistence/leaseOwner.ts';
import { credentialsSchema } from '../../src/persistence/records.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import type { SimulatorOptions } from '../../src/providers/simulator/server.ts';
import type { RunMode, RunnerDeps } from '../../src/runner/connectionRunner.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { openMemoryStore } from './memoryStore.ts';
import { type StartedSimulator, startSimulator } from './simulators.ts';

/** A tenant with one connection to a provider simulator, on an in-memory store: the real system, small. */
export interface SyncHarness {
  store: StoreHandle;
  sim: StartedSimulator;
  tenantId: string;
  connectionId: string;
  deps: RunnerDeps;
  run(mode?: RunMode): ReturnType<typeof runConnection>;
  close(): Promise<void>;
}

export async function createSyncHarness(
  provider: ProviderName,
  options: {
    simulator?: SimulatorOptions;
    runner?: Partial<RunnerDeps>;
    store?: StoreHandle;
    /** A tenant of `store` to add the connection to (another CRM of the same agency); default a new tenant. */
    tenantId?: string;
  } = {},
): Promise<SyncHarness> {
  const opened = options.store ? { ok: true as const, value: options.store } : await openMemoryStore();
  if (!opened.ok) throw new Error(opened.error.message);
  const store = opened.value;
  const sim = await startSimulator(provider, options.simulator);
  const tenantId =
    options.tenantId ??
    must(await store.createTenant({ name: `agency-${randomUUID()}`, syncIntervalSeconds: 900 })).id;
  const connection = await store.addConnection({
    tenantId,
    provider,
    baseUrl: sim.baseUrl,
    credentials: credentialsSchema.parse(sim.credentials),
    nextRunAt: new Date(),
  });
  if (!connection.ok) throw new Error(connection.error.message);
  const deps: RunnerDeps = {
    store,
    clock: () => new Date(),
    owner: formatLeaseOwner({ host: 'test', pid: process.pid, id: randomUUID() }),
    newCycleId: randomUUID,
    ...options.runner,
  };
  const ref = { tenantId, connectionId: connection.value.id };
  return {
    store,
    sim,
    tenantId: ref.tenantId,
    connectionId: ref.connectionId,
    deps,
    run: (mode = 'cycle') => runConnection(deps, ref, mode),
    close: async () => {
      await sim.close();
      if (!options.store) await store.close();
    },
  };
}

/** The value of a result, or a thrown error with its message: for steps of a test that must succeed. */
export const must = <T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T => {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
};

/** Runs one cycle, which must end idle, and returns the audit entry it wrote (the connection's newest). */
export async function auditedCycle(h: SyncHarness) {
  const outcome = must(await h.run());
  if (outcome.state !== 'idle') throw new Error(`the cycle ended ${outcome.state}, not idle`);
  const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
  return must(await h.store.listAudit({ ...ref, limit: 1 })).entries[0]?.body;
}

/** An edit of a stored contact in NurtureHub (an agent's, say): the fields given, the rest as stored. */
export async function editContact(h: SyncHarness, contactId: string, change: Partial<CanonicalContact>) {
  const [stored] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [contactId] }));
  if (stored === undefined) throw new Error(`no contact ${contactId}`);
  const contacts = [{ id: contactId, contact: { ...stored.contact, ...change } }];
  must(await h.store.upsertContacts({ tenantId: h.tenantId, contacts, now: new Date() }));
}
