import { describe, expect, it } from 'vitest';
import { selectDue } from '../../src/inngest/dueSelection.ts';
import { PLAIN_HTTP_REFUSED } from '../../src/providers/credentialEndpoint.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { type RunnerDeps, runConnection } from '../../src/runner/connectionRunner.ts';
import { listConnectionViews, loadConnectionView } from '../../src/server/connectionView.ts';
import { createEmbeddedWorker } from '../../src/worker/embeddedWorker.ts';
import { openStoreWithDb } from '../support/storeWithDb.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * Before 1590344 the store took a base URL of plain http to any host, and such rows are still in databases: every
 * call carries the connection's credentials there (here Reapit's: a token fetched with the client secret, sent as
 * a bearer token). `.invalid` resolves nowhere, and the fetch below fails any host but this machine's, so nothing
 * would leave the machine even if the run sent it.
 */
const OLD_BASE_URL = 'http://api.crm.invalid';

describe('a connection whose stored base URL is plain http to another host', () => {
  it('is listed and shown, its run is refused before any request and stops in error, and the others run', async () => {
    const { db, store } = await openStoreWithDb();
    const good = await createSyncHarness('street', { store, simulator: { contacts: 4, seed: 7 } });
    const old = await createSyncHarness('reapit', { store, simulator: { contacts: 4, seed: 8 } });
    try {
      const oldRef = { tenantId: old.tenantId, connectionId: old.connectionId };
      // As an earlier version left it.
      await db.query('UPDATE connections SET base_url = $1 WHERE id = $2', [OLD_BASE_URL, old.connectionId]);

      const requests = new Map<string, string[]>();
      const recording =
        (connectionId: string): typeof fetch =>
        (input, init) => {
          const url = input instanceof Request ? input.url : String(input);
          requests.set(connectionId, [...(requests.get(connectionId) ?? []), url]);
          if (new URL(url).hostname !== '127.0.0.1') return Promise.reject(new TypeError('fetch failed'));
          return fetch(input, init);
        };
      const deps: RunnerDeps = {
        ...good.deps,
        providerOptions: (connection) => ({
          fetch: recording(connection.id),
          spec: withSpec(getProvider(connection.provider)?.spec ?? expect.unreachable(), {
            retry: { maxAttempts: 1 },
          }),
        }),
      };

      // Read and listed as stored, with the refusal shown.
      const listed = must(await store.listConnections({ tenantId: old.tenantId }));
      expect(listed.map((c) => c.baseUrl)).toEqual([OLD_BASE_URL]);
      const views = must(await listConnectionViews(store, old.tenantId, new Date()));
      expect(views[0]).toMatchObject({ baseUrl: OLD_BASE_URL, baseUrlProblem: PLAIN_HTTP_REFUSED });
      expect(must(await loadConnectionView(store, oldRef, new Date())).baseUrlProblem).toBe(
        PLAIN_HTTP_REFUSED,
      );
      const goodView = must(await listConnectionViews(store, good.tenantId, new Date()));
      expect(goodView[0]?.baseUrlProblem).toBeNull();

      // Due, and scheduled with the other tenant's connection.
      const due = must(await selectDue(store, { now: new Date() }));
      expect(due.map((c) => c.connectionId).sort()).toEqual([good.connectionId, old.connectionId].sort());
      const lines: string[] = [];
      // A backoff is handed to a later tick rather than slept out.
      const worker = createEmbeddedWorker(deps, { tickMs: 1, log: (line) => lines.push(line) });
      expect((await worker.tick()).started).toHaveLength(2);
      const reports = await worker.drain();
      await worker.stop();
      const progressOf = (id: string) => reports.find((r) => r.connection.connectionId === id)?.progress;
      expect(progressOf(good.connectionId)).toMatchObject({ state: 'idle', stopped: null });
      expect(requests.get(good.connectionId)?.length).toBeGreaterThan(0);

      // Refused before its token or any call was asked for; stopped in error, saying how to go on.
      expect(requests.get(old.connectionId)).toBeUndefined();
      const stopped = progressOf(old.connectionId);
      expect(stopped).toMatchObject({ state: 'error', errorReason: 'fatal' });
      expect(stopped?.lastError?.message).toContain(PLAIN_HTTP_REFUSED);
      expect(stopped?.lastError?.message).toContain('crm-sync connection set-base-url');
      const [entry] = must(await store.listAudit({ ...oldRef, limit: 1 })).entries;
      expect(entry?.body.outcome).toBe('failed');
      expect(entry?.body.errors.at(-1)?.message).toContain('crm-sync connection set-base-url');
      const view = must(await loadConnectionView(store, oldRef, new Date()));
      expect(view).toMatchObject({ state: 'error', baseUrl: OLD_BASE_URL });
      expect(view.lastError?.message).toContain(PLAIN_HTTP_REFUSED);

      // The way on: an https URL, or plain http to this machine (the simulator), then retry.
      const refused = await store.setConnectionBaseUrl({ ...oldRef, baseUrl: `${OLD_BASE_URL}/v2` });
      expect(refused.ok ? null : refused.error).toEqual({
        kind: 'invalid_input',
        message: `baseUrl: ${PLAIN_HTTP_REFUSED}`,
      });
      expect(must(await store.getConnection(oldRef)).baseUrl).toBe(OLD_BASE_URL);
      expect(must(await store.setConnectionBaseUrl({ ...oldRef, baseUrl: old.sim.baseUrl })).baseUrl).toBe(
        old.sim.baseUrl,
      );
      expect(must(await loadConnectionView(store, oldRef, new Date())).baseUrlProblem).toBeNull();
      const retried = must(await runConnection(deps, oldRef, 'retry'));
      expect(retried.state).toBe('idle');
      expect(
        requests.get(old.connectionId)?.every((url) => url.startsWith(old.sim.baseUrl)),
        String(requests.get(old.connectionId)),
      ).toBe(true);
    } finally {
      await old.close();
      await good.close();
      await store.close();
    }
  });
});
