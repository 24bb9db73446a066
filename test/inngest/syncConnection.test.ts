import { InngestTestEngine, mockCtx } from '@inngest/test';
import { describe, expect, it } from 'vitest';
import type { ConnectionProgress } from '../../src/inngest/driveConnection.ts';
import { abandonConnectionRun } from '../../src/inngest/driveConnection.ts';
import { createSyncConnection, SYNC_RETRIES } from '../../src/inngest/functions/syncConnection.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { capturingClient, dueEvent } from '../support/inngest.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

type Ctx = Parameters<typeof mockCtx>[0];

/** The per-connection function over a harness, and the due event that starts it. */
function engineFor(h: SyncHarness, options: { attempt?: number; recorded?: Map<string, unknown> } = {}) {
  const { client } = capturingClient();
  const fn = createSyncConnection(client, h.deps);
  const event = dueEvent(h);
  return new InngestTestEngine({
    function: fn,
    events: [event],
    transformCtx: (ctx: Ctx) => {
      const mocked = mockCtx(ctx) as Ctx & { attempt: number };
      if (options.attempt !== undefined) mocked.attempt = options.attempt;
      const recorded = options.recorded;
      if (recorded !== undefined) {
        // Keep each step's output as Inngest would memoize it, to replay a retry of the run.
        const run = mocked.step.run;
        const recording = (id: string, body: () => Promise<unknown>) =>
          run(id, async () => {
            const output = await body();
            recorded.set(id, output);
            return output;
          });
        // The spy's record of calls stays readable through the wrapper.
        mocked.step.run = Object.assign(recording, {
          mock: (run as unknown as { mock: unknown }).mock,
        }) as typeof run;
      }
      return mocked;
    },
  });
}

const stepIds = (ctx: { step: { run: { mock: { calls: unknown[][] } } } }) =>
  ctx.step.run.mock.calls.map((call) => call[0]);

async function auditOf(h: SyncHarness) {
  const audit = await h.store.listAudit({ tenantId: h.tenantId });
  if (!audit.ok) throw new Error(audit.error.message);
  return audit.value.entries.map((e) => e.body);
}

async function stateOf(h: SyncHarness) {
  const stored = await h.store.loadSnapshot({ tenantId: h.tenantId, connectionId: h.connectionId });
  if (!stored.ok) throw new Error(stored.error.message);
  return stored.value?.stateValue;
}

/** Fails `saveSnapshot` once, for the first transition into `state`: a crash between a phase and its checkpoint. */
function failingOnce(store: StoreHandle, state: string): StoreHandle {
  let failed = false;
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'saveSnapshot') {
        return (async (params) => {
          if (!failed && params.stateValue === state) {
            failed = true;
            return { ok: false, error: { kind: 'unavailable', message: 'connection reset' } };
          }
          return target.saveSnapshot(params);
        }) satisfies StoreHandle['saveSnapshot'];
      }
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** A store whose database does not answer: every call fails as a server starting up does (57P03). */
function unreachable(store: StoreHandle): StoreHandle {
  const down = {
    ok: false,
    error: { kind: 'unavailable', message: 'database unavailable: the database system is starting up' },
  };
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? async () => down : value;
    },
  });
}

/**
 * A Reapit connection whose credentials the CRM refused, its machine stopped in `error` (`auth_failed`), the clock
 * moved on to when it is next due; `good` are the credentials it had before.
 */
async function refusedAndDue() {
  let offsetMs = 0;
  const h = await createSyncHarness('reapit', {
    simulator: { contacts: 4 },
    runner: { clock: () => new Date(Date.now() + offsetMs) },
  });
  const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
  const good = must(await h.store.getConnectionCredentials(ref));
  must(await h.store.setConnectionCredentials({ ...ref, credentials: { ...good, clientSecret: 'revoked' } }));
  expect(must(await h.run())).toMatchObject({ state: 'error', context: { errorReason: 'auth_failed' } });
  offsetMs += must(await h.store.getConnection(ref)).nextRunAt.getTime() - Date.now() + 1;
  return { h, ref, good };
}

describe('sync-connection', () => {
  it('runs a whole cycle as one step per machine phase, and a duplicate event finds nothing due', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 40, seed: 3 } });
    try {
      const run = await engineFor(h).execute();
      expect(run).not.toHaveProperty('error');
      expect(stepIds(run.ctx)).toEqual(['load', 'fetch-1', 'reconcile-2', 'push-3', 'audit-4']);
      const result = run.result as ConnectionProgress;
      expect(result).toMatchObject({ state: 'idle', stopped: null, cycleId: null });
      expect(result.lastAudit?.counts.fetched).toBe(40);
      expect((await auditOf(h)).map((a) => a.outcome)).toEqual(['completed']);

      const again = await engineFor(h).execute();
      expect(stepIds(again.ctx)).toEqual(['load']);
      expect(again.result).toMatchObject({ state: 'idle', stopped: 'not_due' });
      expect(await auditOf(h)).toHaveLength(1);
    } finally {
      await h.close();
    }
  });

  it('resumes the machine from its snapshot when a failed step is retried', async () => {
    const base = await createSyncHarness('reapit', { simulator: { contacts: 30, seed: 5 } });
    // The reconcile phase completes, but its transition to pushing is never checkpointed.
    const h = { ...base, deps: { ...base.deps, store: failingOnce(base.store, 'pushing') } };
    try {
      const recorded = new Map<string, unknown>();
      const first = await engineFor(h, { recorded }).execute();
      // A store failure like any other (retried after a wait; on the last attempt a quiet stop), not a bug.
      expect((first as { error?: { name: string; message: string } }).error).toMatchObject({
        name: 'RetryAfterError',
        message: expect.stringMatching(
          /^saving the machine snapshot failed: connection reset; the run resumes/,
        ),
      });
      expect(stepIds(first.ctx)).toEqual(['load', 'fetch-1', 'reconcile-2']);
      expect(await stateOf(h)).toBe('reconciling');

      // Inngest retries the failed step: completed steps come back memoized, reconcile-2 runs again.
      const memoized = [...recorded].map(([id, output]) => ({ id, handler: () => output }));
      expect(memoized.map((s) => s.id)).toEqual(['load', 'fetch-1']);
      const retry = await engineFor(h).execute({ steps: memoized });
      expect(retry).not.toHaveProperty('error');
      expect(retry.result).toMatchObject({ state: 'idle', stopped: null });
      expect(stepIds(retry.ctx)).toEqual(['load', 'fetch-1', 'reconcile-2', 'push-3', 'audit-4']);

      const audit = await auditOf(h);
      expect(audit.map((a) => a.outcome)).toEqual(['completed']);
      expect(audit[0]?.fetched).toBe(30);
      expect(await stateOf(h)).toBe('idle');
      const contacts = await h.store.listContacts({ tenantId: h.tenantId, limit: 1000 });
      const linked = contacts.ok ? contacts.value.flatMap((c) => c.links).length : 0;
      expect(linked + (audit[0]?.duplicatesSuppressed.length ?? 0)).toBe(30);
    } finally {
      await base.close();
    }
  });

  it('turns backoff into a sleep until resumeAt, then resumes the phase that failed', async () => {
    let offsetMs = 0;
    const spec = withSpec(getProvider('reapit')?.spec ?? fail(), { retry: { maxAttempts: 1 } });
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 12, seed: 9 },
      runner: { clock: () => new Date(Date.now() + offsetMs), providerOptions: () => ({ spec }) },
    });
    try {
      await h.sim.control.faults({ errorRate: 1 });
      const recorded = new Map<string, unknown>();
      const run = await engineFor(h, { recorded })
        .clone({
          steps: [
            {
              id: 'backoff-2',
              // The sleep: time passes until resumeAt, and the provider recovers meanwhile.
              handler: async () => {
                const parked = recorded.get('fetch-1') as ConnectionProgress;
                offsetMs += Date.parse(parked.resumeAt ?? '') - h.deps.clock().getTime() + 1;
                await h.sim.control.faults({});
              },
            },
          ],
        })
        .execute();

      expect(run).not.toHaveProperty('error');
      const parked = recorded.get('fetch-1') as ConnectionProgress;
      expect(parked).toMatchObject({ state: 'backoff', resumePhase: 'fetching', attempt: 1 });
      expect(parked.lastError).toMatchObject({ kind: 'transient', phase: 'fetching' });
      expect(run.ctx.step.sleepUntil).toHaveBeenCalledWith('backoff-2', parked.resumeAt);
      expect(stepIds(run.ctx)).toEqual(['load', 'fetch-1', 'fetch-2', 'reconcile-3', 'push-4', 'audit-5']);
      expect(run.result).toMatchObject({ state: 'idle', stopped: null });
    } finally {
      await h.close();
    }
  });

  it('retries a cycle whose attempts ran out when it is next due, in the same window; not before', async () => {
    let offsetMs = 0;
    const spec = withSpec(getProvider('reapit')?.spec ?? fail(), { retry: { maxAttempts: 1 } });
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 6, seed: 3 },
      runner: { clock: () => new Date(Date.now() + offsetMs), providerOptions: () => ({ spec }) },
    });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      // The CRM down for longer than the machine's backoffs last: every attempt fails, then the machine stops.
      await h.sim.control.faults({ errorRate: 1 });
      let outcome = must(await h.run());
      while (outcome.state === 'backoff') {
        offsetMs += Date.parse(outcome.context.resumeAt ?? '') - h.deps.clock().getTime() + 1;
        outcome = must(await h.run());
      }
      expect(outcome).toMatchObject({ state: 'error', context: { errorReason: 'attempts_exhausted' } });
      const cycleId = outcome.context.cycle?.cycleId;
      const window = outcome.context.cycle?.window;
      const failed = await auditOf(h);
      expect(failed.map((a) => [a.outcome, a.errors.at(-1)?.retry])).toEqual([['failed', true]]);
      await h.sim.control.faults({});

      // Before its next run: left alone, its next run kept.
      const nextRunAt = must(await h.store.getConnection(ref)).nextRunAt;
      const early = await engineFor(h).execute();
      expect(early.result).toMatchObject({ state: 'error', stopped: 'in_error' });
      expect(stepIds(early.ctx)).toEqual(['load']);
      expect(must(await h.store.getConnection(ref)).nextRunAt).toEqual(nextRunAt);

      // Due: the schedule retries it as `crm-sync retry` would, the same cycle and window, to the end.
      offsetMs += nextRunAt.getTime() - h.deps.clock().getTime() + 1;
      const due = await engineFor(h).execute();
      expect(due).not.toHaveProperty('error');
      expect(stepIds(due.ctx)).toEqual(['load', 'fetch-1', 'reconcile-2', 'push-3', 'audit-4']);
      expect(due.result).toMatchObject({ state: 'idle', stopped: null, lastAudit: { cycleId } });
      const audit = await auditOf(h);
      expect(audit.map((a) => a.outcome)).toEqual(['completed', 'failed']);
      expect(audit[0]).toMatchObject({ cycleId, window, fetched: 6 });
    } finally {
      await h.close();
    }
  });

  it('leaves an error retrying cannot mend (refused credentials) for an operator, however long it waits', async () => {
    const { h } = await refusedAndDue();
    try {
      const requests = (await h.sim.control.stats()).requests;
      const due = await engineFor(h).execute();
      expect(due.result).toMatchObject({ state: 'error', stopped: 'in_error', errorReason: 'auth_failed' });
      expect(stepIds(due.ctx)).toEqual(['load']);
      expect((await h.sim.control.stats()).requests).toBe(requests);
      expect((await auditOf(h)).map((a) => a.errors.at(-1)?.retry)).toEqual([false]);
    } finally {
      await h.close();
    }
  });

  // The look one interval on is written without the lease: new credentials stored between its read and its write had
  // made the connection due at once, and the write put that off by an interval, the machine left in error.
  it('resumes a machine whose refused credentials are replaced while the run looks at it', async () => {
    const { h, ref, good } = await refusedAndDue();
    try {
      let stored = false;
      const operatorMeanwhile = new Proxy(h.store, {
        get(target, key, receiver) {
          if (key === 'setNextRun') {
            return (async (params) => {
              if (!stored) must(await target.setConnectionCredentials({ ...ref, credentials: good }));
              stored = true;
              return target.setNextRun(params);
            }) satisfies StoreHandle['setNextRun'];
          }
          const value = Reflect.get(target, key, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const due = await engineFor({ ...h, deps: { ...h.deps, store: operatorMeanwhile } }).execute();
      expect(due.result).toMatchObject({ state: 'idle', stopped: null });
      expect(await stateOf(h)).toBe('idle');
    } finally {
      await h.close();
    }
  });

  it('ends in error with a NonRetriableError when authentication fails, and onFailure keeps its one audit entry', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 5 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const credentials = await h.store.getConnectionCredentials(ref);
      if (!credentials.ok) throw new Error(credentials.error.message);
      await h.store.setConnectionCredentials({
        ...ref,
        credentials: { ...credentials.value, clientSecret: 'revoked' },
      });

      const run = await engineFor(h).execute();
      expect(run).toHaveProperty('error');
      const error = (run as { error: { name: string; message: string } }).error;
      expect(error.name).toBe('NonRetriableError');
      expect(error.message).toMatch(/stopped in error \(auth_failed\) during fetching/);
      expect(stepIds(run.ctx)).toEqual(['load', 'fetch-1']);
      expect(await stateOf(h)).toBe('error');
      const audit = await auditOf(h);
      expect(audit.map((a) => a.outcome)).toEqual(['failed']);
      // The failure that stopped the cycle is listed once: as what stopped it, not also as its phase's note.
      expect(audit[0]?.errors).toEqual([
        {
          status: 401,
          message: expect.stringMatching(/^stopped in error \(auth_failed\) during fetching: /),
          retry: false,
        },
      ]);

      // Inngest calls onFailure after a non-retriable error: the machine is already in error, audited once, and
      // looked at again one interval on (here as if the run had failed before it set the next run).
      must(await h.store.setNextRun({ ...ref, nextRunAt: new Date(Date.now() - 60_000) }));
      const failedAt = Date.now();
      const failed = await abandonConnectionRun(h.deps, ref, {
        runId: 'run-1',
        message: error.message,
        startedAt: new Date(),
      });
      expect(failed).toEqual({ state: 'error' });
      expect(await auditOf(h)).toEqual(audit);
      expect(must(await h.store.getConnection(ref)).nextRunAt.getTime()).toBeGreaterThanOrEqual(
        failedAt + 900_000,
      );
    } finally {
      await h.close();
    }
  });

  it('keeps a connection whose refused credentials were replaced before onFailure due at once', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 5 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const good = must(await h.store.getConnectionCredentials(ref));
      must(
        await h.store.setConnectionCredentials({ ...ref, credentials: { ...good, clientSecret: 'revoked' } }),
      );
      const run = await engineFor(h).execute();
      const error = (run as { error: { name: string; message: string } }).error;
      expect(error.name).toBe('NonRetriableError');
      // The operator stores the right credentials before Inngest calls onFailure: due at once, for the next tick.
      must(await h.store.setConnectionCredentials({ ...ref, credentials: good }));
      expect(must(await h.store.getConnection(ref)).nextRunAt.getTime()).toBeLessThanOrEqual(Date.now());

      const failed = await abandonConnectionRun(h.deps, ref, {
        runId: 'run-1',
        message: error.message,
        startedAt: new Date(),
      });
      expect(failed).toEqual({ state: 'error' });
      // Pushed one interval on, it stayed in error up to 15 minutes with the right credentials stored.
      expect(must(await h.store.getConnection(ref)).nextRunAt.getTime()).toBeLessThanOrEqual(Date.now());
      const resumed = await engineFor(h).execute();
      expect(resumed).not.toHaveProperty('error');
      expect(resumed.result).toMatchObject({ state: 'idle' });
    } finally {
      await h.close();
    }
  });

  it('waits and retries while another live worker holds the lease, and gives the run up quietly on the last attempt', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 5 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const held = await h.store.acquireLease({
        ...ref,
        owner: 'other-host:77:w',
        ttlMs: 60_000,
        now: new Date(),
      });
      expect(held.ok).toBe(true);

      const run = await engineFor(h).execute();
      expect((run as { error?: { name: string } }).error?.name).toBe('RetryAfterError');

      const last = await engineFor(h, { attempt: SYNC_RETRIES }).execute();
      expect(last).not.toHaveProperty('error');
      expect(last.result).toMatchObject({ state: 'idle', stopped: 'lease_held' });
      expect(await auditOf(h)).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('onFailure stops a machine left mid-cycle in error with an audit entry; retry continues the same cycle', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 8 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const fetched = await engineFor(h).executeStep('fetch-1');
      expect(fetched.result).toMatchObject({ state: 'reconciling' });
      const cycleId = (fetched.result as ConnectionProgress).cycleId;

      const failure = {
        runId: 'run-7',
        message: 'store unreachable after 5 attempts',
        startedAt: new Date(),
      };
      expect(await abandonConnectionRun(h.deps, ref, failure)).toEqual({ state: 'error' });
      expect(await abandonConnectionRun(h.deps, ref, failure)).toEqual({ state: 'error' });
      const audit = await auditOf(h);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({
        outcome: 'failed',
        cycleId: expect.stringContaining(`${cycleId}/error@`),
      });
      expect(audit[0]?.errors.at(-1)?.message).toMatch(
        /stopped in error \(fatal\) during reconciling: run run-7 failed/,
      );

      const retried = await runConnection(h.deps, ref, 'retry');
      expect(retried.ok && retried.value.state).toBe('idle');
      expect(retried.ok && retried.value.context.lastAudit?.cycleId).toBe(cycleId);
    } finally {
      await h.close();
    }
  });

  it('onFailure of a run that failed outside any cycle writes one audit entry of its own', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 3 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const failure = { runId: 'run-9', message: 'provider reapit is not available', startedAt: new Date() };
      // Found due, the run failed before it drove the machine: the next tick must not find it due again.
      must(await h.store.setNextRun({ ...ref, nextRunAt: new Date(Date.now() - 60_000) }));
      const failedAt = Date.now();
      expect(await abandonConnectionRun(h.deps, ref, failure)).toEqual({ state: 'idle' });
      const nextRunAt = must(await h.store.getConnection(ref)).nextRunAt.getTime();
      expect(nextRunAt).toBeGreaterThanOrEqual(failedAt + 900_000);
      expect(await abandonConnectionRun(h.deps, ref, failure)).toEqual({ state: 'idle' });
      const audit = await auditOf(h);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ cycleId: 'run:run-9', outcome: 'failed', fetched: 0 });
    } finally {
      await h.close();
    }
  });

  it('leaves the machine mid-cycle when the store is still out of reach on the last attempt, for the next tick to resume (regression: onFailure abandoned it into error)', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 7 } });
    try {
      const fetched = await engineFor(h).executeStep('fetch-1');
      const atReconcile = fetched.result as ConnectionProgress;
      expect(atReconcile).toMatchObject({ state: 'reconciling' });

      // The database fails over while the run waits for its next step, and is not back by the last attempt.
      const down = { ...h, deps: { ...h.deps, store: unreachable(h.store) } };
      // The steps done before the outage come back memoized (a fresh list per run: the engine keeps state in it).
      const replayed = () => [
        { id: 'load', handler: () => ({ ...atReconcile, state: 'idle', cycleId: null }) },
        { id: 'fetch-1', handler: () => atReconcile },
      ];
      const earlier = await engineFor(down).execute({ steps: replayed() });
      expect((earlier as { error?: { name: string } }).error?.name).toBe('RetryAfterError');

      // Failing the last attempt would hand the run to onFailure, which stops a mid-cycle machine in error
      // until an operator retries it: one database failover would park every connection that was mid-cycle.
      const last = await engineFor(down, { attempt: SYNC_RETRIES }).execute({ steps: replayed() });
      expect(last).not.toHaveProperty('error');
      expect(last.result).toMatchObject({ state: 'reconciling', stopped: 'store_unavailable' });
      const lastLoad = await engineFor(down, { attempt: SYNC_RETRIES }).execute();
      expect(lastLoad).not.toHaveProperty('error');
      expect(lastLoad.result).toMatchObject({ stopped: 'store_unavailable' });
      expect(await stateOf(h)).toBe('reconciling');

      // The database is back: the next tick's run finishes the same cycle.
      const next = await engineFor(h).execute();
      expect(next).not.toHaveProperty('error');
      expect(next.result).toMatchObject({ state: 'idle', stopped: null });
      expect(stepIds(next.ctx)).toEqual(['load', 'reconcile-1', 'push-2', 'audit-3']);
      expect((await auditOf(h)).map((a) => a.outcome)).toEqual(['completed']);
    } finally {
      await h.close();
    }
  });

  it('leaves the machine mid-cycle when the process is stopping on the last attempt, for the next tick to resume (regression: onFailure stopped it in error)', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 7 } });
    try {
      const fetched = await engineFor(h).executeStep('fetch-1');
      const atReconcile = fetched.result as ConnectionProgress;
      // A deploy's SIGTERM reaches `serve` while the run's last attempt begins its next step.
      const stopping = { ...h, deps: { ...h.deps, stopping: AbortSignal.abort() } };
      const replayed = [
        { id: 'load', handler: () => ({ ...atReconcile, state: 'idle', cycleId: null }) },
        { id: 'fetch-1', handler: () => atReconcile },
      ];
      const last = await engineFor(stopping, { attempt: SYNC_RETRIES }).execute({ steps: replayed });
      expect(last).not.toHaveProperty('error');
      expect(last.result).toMatchObject({ state: 'reconciling', stopped: 'process_stopping' });
      expect(await stateOf(h)).toBe('reconciling');

      const next = await engineFor(h).execute();
      expect(next.result).toMatchObject({ state: 'idle', stopped: null });
      expect((await auditOf(h)).map((a) => a.outcome)).toEqual(['completed']);
    } finally {
      await h.close();
    }
  });
});

function fail(): never {
  throw new Error('reapit is not registered');
}
