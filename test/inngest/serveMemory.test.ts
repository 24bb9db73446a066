import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { serve } from '@hono/node-server';
import type { Context } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createInngestHandler } from '../../src/inngest/serve.ts';
import { createServerApp } from '../../src/server/app.ts';
import { dueEvent, silentLogger } from '../support/inngest.ts';
import { executeFunction } from '../support/inngestEndpoint.ts';
import { createSyncHarness, type SyncHarness } from '../support/syncHarness.ts';

/** A full collection on demand, as `node --expose-gc` gives, without starting the worker with the flag. */
function exposedGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Objects that should die with their run: which of them the process still holds after full collections. */
function liveTracker() {
  const refs: WeakRef<object>[] = [];
  return {
    track(target: object) {
      refs.push(new WeakRef(target));
    },
    /** How many were tracked so far: a mark to split before from after. */
    get created() {
      return refs.length;
    },
    /** The tracked objects still reachable, by index, from `from` on. */
    aliveSince(from: number): number[] {
      return refs.flatMap((ref, index) => (index >= from && ref.deref() !== undefined ? [index] : []));
    },
  };
}

/** Full collections, with turns of the event loop between them (a WeakRef holds its target until its turn ends). */
async function collect(gc: () => void): Promise<void> {
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
}

/** `count` runs of sync-connection, each a whole cycle a phase at a time, answered as Inngest's executor would. */
async function driveRuns(url: string, h: SyncHarness, prefix: string, count: number): Promise<void> {
  for (let run = 0; run < count; run++) {
    // Due again, so the run drives a cycle instead of stopping at once.
    await h.store.setNextRun({ tenantId: h.tenantId, connectionId: h.connectionId, nextRunAt: new Date(0) });
    const event = { ...dueEvent(h), id: `${prefix}-${run}`, ts: Date.now() };
    const answer = await executeFunction(url, 'crm-sync-sync-connection', event, {
      runId: `${prefix}-${run}`,
      maxCalls: 20,
    });
    expect(answer.status, `run ${prefix}-${run} did not finish in 20 calls`).toBe(200);
  }
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the serve endpoint, run after run', () => {
  it('releases every finished run: no request context or SDK stream of a run outlives it', async () => {
    const gc = exposedGc();
    // The SDK builds a stream per execution (StreamTools); the stand-in counts them without changing them.
    const streams = liveTracker();
    const Original = globalThis.TransformStream;
    vi.stubGlobal(
      'TransformStream',
      class extends Original {
        constructor(...args: ConstructorParameters<typeof Original>) {
          super(...args);
          streams.track(this);
        }
      },
    );
    // Each request's context: every per-run object of the SDK (its execution, step state, stream) holds it.
    const contexts = liveTracker();

    const h = await createSyncHarness('reapit', { simulator: { contacts: 1 } });
    const handler = createInngestHandler({
      env: { INNGEST_DEV: '1', INNGEST_BASE_URL: 'http://127.0.0.1:9' },
      runner: h.deps,
      logger: silentLogger,
      fetch: async () => new Response('{}', { status: 404 }),
    });
    if (!handler.ok) throw new Error(handler.error);
    const inngestHandler = handler.value;
    const app = createServerApp({
      store: h.store,
      runner: h.deps,
      adminToken: 'test-admin-token-0123456789abcdef',
      inngestHandler: (c: Context) => {
        contexts.track(c);
        return inngestHandler(c);
      },
    });
    const server = await new Promise<Server>((resolve) => {
      const created = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
        resolve(created as Server),
      );
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      // The first runs may leave one long-lived thing behind (a pool, a timer made inside a run's async
      // context); what must not happen is a run that stays reachable after it has finished.
      await driveRuns(url, h, 'warm-up', 2);
      const contextsBefore = contexts.created;
      const streamsBefore = streams.created;
      await driveRuns(url, h, 'measured', 8);
      expect(contexts.created - contextsBefore).toBeGreaterThan(8);

      await collect(gc);
      expect({
        contexts: contexts.aliveSince(contextsBefore),
        streams: streams.aliveSince(streamsBefore),
      }).toEqual({ contexts: [], streams: [] });
    } finally {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await h.close();
    }
  });
});
