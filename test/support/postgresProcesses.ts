import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { afterAll, beforeAll } from 'vitest';
import { isPidAlive, ownerGoneOnHost } from '../../src/persistence/leaseOwner.ts';
import { openPostgresStore } from '../../src/persistence/postgres.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { type PostgresServer, startPostgres } from './postgresServer.ts';
import { must } from './syncHarness.ts';

/**
 * A throwaway PostgreSQL for the suite (started before its tests, stopped after), and a store on it as each process
 * sharing it opens one: call inside a `describe`. `url()` is the server's, for a client of one's own.
 */
export function usePostgresProcesses(): { openProcess: () => Promise<StoreHandle>; url: () => string } {
  let server: PostgresServer | undefined;
  const secrets = createSecretBox(randomBytes(32));
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  const url = () => server?.url ?? '';
  return {
    url,
    openProcess: async () =>
      must(
        await openPostgresStore({
          url: url(),
          secrets,
          isOwnerGone: ownerGoneOnHost(hostname(), isPidAlive),
        }),
      ),
  };
}
