import { expect, it } from 'vitest';
import { readStatus } from '../../src/cli/connectionStatus.ts';
import { retryRefusal, runAll } from '../../src/cli/sync.ts';
import { CONNECTION_MACHINE_VERSION } from '../../src/machines/connectionMachine.ts';
import { createApiFixture, useSharedStore } from '../server/apiFixture.ts';
import { must } from '../support/syncHarness.ts';

const store = useSharedStore();

/**
 * A stored machine that cannot be restored, saved in `error`: `sync` and `retry` took the saved state for the
 * machine's. An older version's (left by the crm-sync an upgrade replaced) the next run restarts at its committed
 * cursor, and the API's Sync now runs it; `crm-sync sync` refused it as in error and sent the operator to `retry`,
 * which ran, restarted it idle, and then refused as "idle, not in error" after writing. A newer version's needs a
 * reset, but `sync` named `retry`. (Found by a read-only audit of the inspection API and the command line.)
 */
async function storedInError(machineVersion: number) {
  const f = await createApiFixture({ store: store() });
  const ref = { tenantId: f.h.tenantId, connectionId: f.h.connectionId };
  expect((await f.call('POST', `${f.base}/connections/${f.h.connectionId}/sync`)).status).toBe(200);
  const stored = must(await f.h.store.loadSnapshot(ref)) ?? expect.unreachable();
  must(
    await f.h.store.saveSnapshot({
      ...ref,
      machineVersion: String(machineVersion),
      snapshot: stored.snapshot,
      stateValue: 'error',
      now: new Date(),
    }),
  );
  const tenant = must(await f.h.store.getTenant({ tenantId: f.h.tenantId }));
  const connection = must(await f.h.store.getConnection(ref));
  const app = { via: 'own' as const, store: f.h.store, clock: f.h.deps.clock, runner: f.h.deps };
  const status = () => readStatus(f.h.store, tenant, connection, new Date());
  return { f, tenant, connection, app, status };
}

it('crm-sync sync runs an older version’s machine stored in error, as the API does; retry sends to sync', async () => {
  const { f, tenant, connection, app, status } = await storedInError(CONNECTION_MACHINE_VERSION - 1);
  try {
    const view = (await f.call('GET', `${f.base}/connections/${f.h.connectionId}`)).json.connection;
    expect(view).toMatchObject({ state: null, snapshotRestartsOnItsOwn: true });
    const before = await status();
    expect(before).toMatchObject({ state: 'error', snapshotRestartsOnItsOwn: true });
    expect(retryRefusal(before)).toMatch(/crm-sync sync runs it now; nothing to retry$/);

    const [synced] = await runAll(app, tenant, [connection], 'cycle');
    expect({ runError: synced?.runError, state: synced?.state }).toEqual({
      runError: undefined,
      state: 'idle',
    });
  } finally {
    await f.close();
  }
}, 120_000);

it('crm-sync sync and retry of a newer version’s machine stored in error name reset, not retry', async () => {
  const { f, tenant, connection, app, status } = await storedInError(CONNECTION_MACHINE_VERSION + 1);
  try {
    const before = await status();
    expect(before.snapshotRestartsOnItsOwn).toBe(false);
    expect(retryRefusal(before)).toContain('crm-sync reset');
    const [synced] = await runAll(app, tenant, [connection], 'cycle');
    expect(synced?.runError).toContain('crm-sync reset');
    expect(synced?.runError).not.toContain('crm-sync retry');
  } finally {
    await f.close();
  }
}, 120_000);
