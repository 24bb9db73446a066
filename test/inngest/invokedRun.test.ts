import { describe, expect, it } from 'vitest';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { dueData } from '../support/inngest.ts';
import {
  type ExecutedEvent,
  executeFunction,
  handlerFor,
  mount,
  type Served,
  standInInngest,
} from '../support/inngestEndpoint.ts';
import { createSyncHarness, type SyncHarness } from '../support/syncHarness.ts';

/**
 * sync-connection started by an invoke rather than the tick's event: the Inngest dashboard's Invoke, or a function's
 * `step.invoke`. Inngest delivers it as `inngest/function.invoked` with its own metadata in the data (`_inngest`:
 * the invoked function's id and the invoke's correlation id), and the SDK validates that data against the trigger's
 * schema, which was strict: every invoked run failed validation before its first step.
 */

const SYNC_FN = 'crm-sync-sync-connection';

async function withEndpoint(use: (h: SyncHarness, server: Served) => Promise<void>): Promise<void> {
  const h = await createSyncHarness('reapit', { simulator: { contacts: 6 } });
  const inngest = await standInInngest();
  const server = await mount(h, handlerFor(h, { INNGEST_DEV: '1', INNGEST_BASE_URL: inngest.url }));
  try {
    await use(h, server);
  } finally {
    await server.close();
    await inngest.close();
    await h.close();
  }
}

/** The event of an invoked run, as Inngest's executor hands it to the function. */
function invoked(data: Record<string, unknown>): ExecutedEvent {
  return {
    name: 'inngest/function.invoked',
    data: { ...data, _inngest: { fn_id: SYNC_FN, correlation_id: 'invoke-01' } },
    id: 'invoke-event-01',
    ts: Date.now(),
  };
}

async function auditBodies(h: SyncHarness) {
  const audit = await h.store.listAudit({ tenantId: h.tenantId });
  if (!audit.ok) throw new Error(audit.error.message);
  return audit.value.entries.map((e) => e.body);
}

describe('sync-connection invoked through Inngest, over HTTP', () => {
  it('runs the whole cycle of an invoked run, whose data carries _inngest (regression: failed validation)', async () => {
    await withEndpoint(async (h, server) => {
      const answer = await executeFunction(server.url, SYNC_FN, invoked(dueData(h)));

      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ state: 'idle', stopped: null, errorReason: null });
      expect(answer.stepIds).toEqual(['load', 'fetch-1', 'reconcile-2', 'push-3', 'audit-4']);
      const entries = await auditBodies(h);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ outcome: 'completed', fetched: 6 });
      const contacts = await h.store.listContacts({ tenantId: h.tenantId, limit: 100 });
      expect(contacts.ok && contacts.value).toHaveLength(6);
    });
  });

  it('still refuses a key of its own it does not know, before any step (a misspelt hand-sent event)', async () => {
    await withEndpoint(async (h, server) => {
      const { connectionId, ...rest } = dueData(h);
      const answer = await executeFunction(
        server.url,
        SYNC_FN,
        invoked({ ...rest, conectionId: connectionId }),
      );

      expect(answer.status).not.toBe(200);
      expect(answer.stepIds).toEqual([]);
      expect(JSON.stringify(answer.body)).toMatch(/conectionId/);
      expect(await auditBodies(h)).toEqual([]);
    });
  });

  it("stops an invoked run's machine left mid-cycle in error when the run fails for good", async () => {
    await withEndpoint(async (h, server) => {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const phase = await runConnection(h.deps, ref, 'phase');
      expect(phase.ok && phase.value.state).toBe('reconciling');
      const original = invoked(dueData(h));
      const failed: ExecutedEvent = {
        name: 'inngest/function.failed',
        data: {
          function_id: SYNC_FN,
          run_id: 'run-01',
          error: { name: 'Error', message: 'store unreachable' },
          event: original,
        },
        ts: Date.now(),
      };

      const answer = await executeFunction(server.url, `${SYNC_FN}-failure`, failed, {
        runId: 'failure-run',
      });

      // Before: the original data failed the strict schema and the handler left the machine in reconciling.
      expect(answer).toMatchObject({ status: 200, body: { state: 'error' } });
      const snapshot = await h.store.loadSnapshot(ref);
      expect(snapshot.ok && snapshot.value?.stateValue).toBe('error');
      const entries = await auditBodies(h);
      expect(entries).toHaveLength(1);
      expect(entries[0]?.errors.at(-1)?.message).toMatch(
        /during reconciling: run run-01 failed: store unreachable/,
      );
    });
  });
});
