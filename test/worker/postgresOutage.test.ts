import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPidAlive, ownerGoneOnHost } from '../../src/persistence/leaseOwner.ts';
import { openPostgresStore } from '../../src/persistence/postgres.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';
import { createEmbeddedWorker } from '../../src/worker/embeddedWorker.ts';
import { startPgProxy } from '../support/pgProxy.ts';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgresServer.ts';
import { createSyncHarness } from '../support/syncHarness.ts';

describe.runIf(postgresAvailable('the worker outage suite'))('embedded worker on PostgreSQL', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('logs a tick that meets the database starting up (57P03) and picks the connection up once it is back', async () => {
    const proxy = await startPgProxy(server.url);
    const opened = await openPostgresStore({
      url: proxy.url,
      secrets: createSecretBox(randomBytes(32)),
      isOwnerGone: ownerGoneOnHost(hostname(), isPidAlive),
    });
    if (!opened.ok) throw new Error(opened.error.message);
    const store = opened.value;
    const h = await createSyncHarness('reapit', { store, simulator: { contacts: 5 } });
    try {
      const lines: string[] = [];
      const worker = createEmbeddedWorker(h.deps, { tickMs: 1_000, log: (line) => lines.push(line) });
      proxy.resetAll();
      proxy.setMode('startingUp');
      // The first ticks may meet pooled connections the reset has not reached yet; those fail too.
      for (let attempt = 0; attempt < 10 && !lines.some((l) => l.includes('starting up')); attempt += 1) {
        expect(await worker.tick()).toEqual({ selected: 0, started: [] });
      }
      expect(lines.at(-1)).toBe(
        'tick: selecting due connections failed: database unavailable: the database system is starting up',
      );

      proxy.setMode('pass');
      expect((await worker.tick()).started.map((c) => c.connectionId)).toEqual([h.connectionId]);
      const [report] = await worker.drain();
      expect(report?.progress).toMatchObject({ state: 'idle', stopped: null });
      await worker.stop();
    } finally {
      await h.close();
      await store.close();
      await proxy.close();
    }
  });
});
