import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { ok } from '../../core/result.ts';
import { type RunError, type RunMode, runConnection } from '../../runner/connectionRunner.ts';
import { pullInNextRun } from '../../runner/nextRun.ts';
import { resetConnection } from '../../runner/resetConnection.ts';
import { unrestorableWords } from '../../runner/restartMachine.ts';
import {
  DISABLED_REFUSAL,
  retryRefusal,
  retryRefusalUnderLease,
  syncRefusal,
  syncRefusalUnderLease,
} from '../../runner/syncRefusal.ts';
import type { AdminApiDeps } from '../adminApi.ts';
import { listConnectionViews, loadConnectionView, resetHow } from '../connectionView.ts';
import {
  connectionParamsSchema,
  fail,
  readBody,
  readInput,
  readNoBody,
  readNoQuery,
  readParams,
  storeFailure,
  tenantParamsSchema,
} from '../http.ts';
import { intervalSchema } from '../intervals.ts';

export const updateConnectionBodySchema = z
  .strictObject({
    /** `null` returns the connection to the tenant's interval. */
    interval: intervalSchema.nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .refine((body) => body.interval !== undefined || body.enabled !== undefined, {
    message: 'expected interval and/or enabled',
  });

const runStatus: Record<RunError['kind'], 409 | 502 | 503> = {
  lease_held: 409,
  refused: 409,
  stopping: 503,
  snapshot: 409,
  provider: 502,
  store: 503,
};

/**
 * `GET /tenants/:tenantId/connections[/:connectionId]`, `PATCH …/:connectionId` (interval, enabled), and the
 * actions `POST …/:connectionId/sync` and `POST …/:connectionId/retry`, which run the connection here and
 * answer with where it settled, and `POST …/:connectionId/reset`.
 */
export function connectionRoutes({ store, runner }: AdminApiDeps): Hono {
  const now = () => runner.clock();

  async function run(c: Context, mode: Extract<RunMode, 'cycle' | 'retry'>) {
    const input = readInput(c, {
      params: readParams(c, connectionParamsSchema),
      query: readNoQuery(c),
      body: await readNoBody(c),
    });
    if (!input.ok) return input.error;
    const ref = input.value.params;
    const before = await loadConnectionView(store, ref, now());
    if (!before.ok) return storeFailure(c, before.error);
    if (!before.value.enabled) return fail(c, 409, DISABLED_REFUSAL);
    const retryHow = 'POST …/retry';
    // Answered here without taking the lease; the run decides again on the machine as it finds it under the lease.
    // A retry of a snapshot it cannot restore is told why and what to do, as the view's snapshotError says it.
    const refusal =
      mode === 'cycle'
        ? syncRefusal(before.value, now(), retryHow)
        : (before.value.snapshotError ?? retryRefusal(before.value.state));
    if (refusal !== null) return fail(c, 409, refusal);
    // The run reports every store failure as one kind, answered 503 (try again later). Credentials this server
    // cannot decrypt (another CRM_SYNC_SECRET_KEY) stay so however long one waits: decrypt_failed's 500 (http.ts).
    const credentials = await store.getConnectionCredentials(ref);
    if (!credentials.ok) return storeFailure(c, credentials.error);
    const outcome = await runConnection(
      runner,
      ref,
      mode,
      mode === 'cycle' ? syncRefusalUnderLease(now, retryHow) : retryRefusalUnderLease,
    );
    if (!outcome.ok) {
      const { error } = outcome;
      const message =
        error.kind === 'snapshot' ? unrestorableWords(error.unrestorable, resetHow) : error.message;
      return fail(c, runStatus[error.kind], message);
    }
    const after = await loadConnectionView(store, ref, now());
    if (!after.ok) return storeFailure(c, after.error);
    return c.json({ connection: after.value });
  }

  /** Replaces a snapshot that cannot be restored with a fresh idle machine at the committed cursors. */
  async function reset(c: Context) {
    const input = readInput(c, {
      params: readParams(c, connectionParamsSchema),
      query: readNoQuery(c),
      body: await readNoBody(c),
    });
    if (!input.ok) return input.error;
    const ref = input.value.params;
    const before = await loadConnectionView(store, ref, now());
    if (!before.ok) return storeFailure(c, before.error);
    const outcome = await resetConnection(runner, ref);
    if (!outcome.ok) {
      const { kind, message } = outcome.error;
      return fail(c, kind === 'nothing_to_reset' ? 409 : runStatus[kind], message);
    }
    const after = await loadConnectionView(store, ref, now());
    if (!after.ok) return storeFailure(c, after.error);
    return c.json({ connection: after.value, reset: outcome.value });
  }

  return new Hono()
    .get('/tenants/:tenantId/connections', async (c) => {
      const input = readInput(c, { params: readParams(c, tenantParamsSchema), query: readNoQuery(c) });
      if (!input.ok) return input.error;
      const tenant = await store.getTenant(input.value.params);
      if (!tenant.ok) return storeFailure(c, tenant.error);
      const views = await listConnectionViews(store, input.value.params.tenantId, now());
      if (!views.ok) return storeFailure(c, views.error);
      return c.json({ connections: views.value });
    })
    .get('/tenants/:tenantId/connections/:connectionId', async (c) => {
      const input = readInput(c, { params: readParams(c, connectionParamsSchema), query: readNoQuery(c) });
      if (!input.ok) return input.error;
      const view = await loadConnectionView(store, input.value.params, now());
      if (!view.ok) return storeFailure(c, view.error);
      return c.json({ connection: view.value });
    })
    .patch('/tenants/:tenantId/connections/:connectionId', async (c) => {
      const input = readInput(c, {
        params: readParams(c, connectionParamsSchema),
        query: readNoQuery(c),
        body: await readBody(c, updateConnectionBodySchema),
      });
      if (!input.ok) return input.error;
      const ref = input.value.params;
      const { interval, enabled } = input.value.body;
      const updated = await store.transaction(async (tx) => {
        if (enabled !== undefined) {
          const set = await tx.setConnectionEnabled({ ...ref, enabled });
          if (!set.ok) return set;
        }
        if (interval === undefined) return ok(undefined);
        const set = await tx.setConnectionInterval({ ...ref, syncIntervalSeconds: interval });
        if (!set.ok) return set;
        const pulled = await pullInNextRun(tx, set.value, set.value.effectiveIntervalSeconds, now());
        return pulled.ok ? ok(undefined) : pulled;
      });
      if (!updated.ok) return storeFailure(c, updated.error);
      const view = await loadConnectionView(store, ref, now());
      if (!view.ok) return storeFailure(c, view.error);
      return c.json({ connection: view.value });
    })
    .post('/tenants/:tenantId/connections/:connectionId/sync', (c) => run(c, 'cycle'))
    .post('/tenants/:tenantId/connections/:connectionId/retry', (c) => run(c, 'retry'))
    .post('/tenants/:tenantId/connections/:connectionId/reset', reset);
}
