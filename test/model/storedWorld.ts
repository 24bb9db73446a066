import { randomUUID } from 'node:crypto';
import type { RunnerDeps } from '../../src/runner/connectionRunner.ts';
import { modelSpec, type World } from './realSystem.ts';

/** What the real-system tests of stored machines read and write beside the runner. */

export const refOf = (world: World) => ({ tenantId: world.tenantId, connectionId: world.connectionId });

/** A runner as a fresh process builds it: its own owner, limiters and cycle ids; its clock at `at`. */
export function processDeps(world: World, name: string, at = world.t0): RunnerDeps {
  return {
    store: world.store,
    clock: () => new Date(at),
    owner: `${name}:${randomUUID()}`,
    newCycleId: () => `${name}-cycle`,
    limiters: new Map(),
    providerOptions: () => ({ spec: modelSpec }),
  };
}

export async function storedMachine(world: World) {
  const loaded = await world.store.loadSnapshot(refOf(world));
  if (!loaded.ok || loaded.value === null) throw new Error('no snapshot');
  return loaded.value;
}

/** Re-stamps the stored snapshot as written by `machineVersion`, content and state unchanged. */
export async function restamp(world: World, machineVersion: string): Promise<void> {
  const stored = await storedMachine(world);
  const saved = await world.store.saveSnapshot({
    ...refOf(world),
    machineVersion,
    snapshot: stored.snapshot,
    stateValue: stored.stateValue,
    now: stored.updatedAt,
  });
  if (!saved.ok) throw new Error(saved.error.message);
}

export async function auditEntries(world: World) {
  const listed = await world.store.listAudit({ ...refOf(world), limit: 1000 });
  if (!listed.ok) throw new Error(listed.error.message);
  return listed.value.entries.map((e) => e.body);
}
