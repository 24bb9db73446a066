import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/persistence/openStore.ts';
import { openPostgresStore } from '../../src/persistence/postgres.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';

const secrets = createSecretBox(randomBytes(32));
const isOwnerGone = () => false;

/** A local port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

describe('opening a Postgres store', () => {
  it.each(['not a url', 'mysql://user:pw@localhost/db', 'postgres//missing-colon'])(
    'refuses the connection string %j with one clear line',
    async (url) => {
      const opened = await openPostgresStore({ url, secrets, isOwnerGone });
      expect(opened).toMatchObject({ ok: false, error: { kind: 'bad_connection_string' } });
      if (!opened.ok) expect(opened.error.message).toMatch(/^DATABASE_URL is not a postgres:\/\/ URL/);
    },
  );

  it('reports an unreachable server without leaking the password', async () => {
    const port = await closedPort();
    const opened = await openPostgresStore({
      url: `postgres://app:hunter2@127.0.0.1:${port}/crm`,
      secrets,
      isOwnerGone,
      connectTimeoutMs: 2000,
    });
    expect(opened).toMatchObject({ ok: false, error: { kind: 'unreachable' } });
    if (!opened.ok) {
      expect(opened.error.message).toBe(`cannot reach Postgres at 127.0.0.1:${port}/crm (ECONNREFUSED)`);
      expect(opened.error.message).not.toContain('hunter2');
    }
  });

  it('requires a shared credentials key when DATABASE_URL is set', async () => {
    const opened = await openStore({
      env: {
        CRM_SYNC_DATA_DIR: '/nonexistent',
        DATABASE_URL: 'postgres://localhost/x',
        CRM_SYNC_SECRET_KEY: undefined,
      },
      command: 'test',
      notice: () => {},
    });
    expect(opened).toMatchObject({ ok: false, error: { kind: 'secret_key' } });
  });
});
