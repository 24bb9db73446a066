import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  credentialEndpointProblem,
  PLAIN_HTTP_REFUSED,
  USERINFO_REFUSED,
} from '../../src/providers/credentialEndpoint.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { type CliRun, cliEnv, runCli } from '../support/cliProcess.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { must } from '../support/syncHarness.ts';
import { tempDirs } from '../support/tempDirs.ts';

/**
 * A connection's base URL is sent its credentials on every call (an API key, a token), an OAuth token URL the client
 * secret. Both took plain http to any host, so a URL typed without its `s` sent them in clear text. Plain http is now
 * refused with the field named, except to this machine (the simulators and tests serve http on 127.0.0.1).
 * The CLI spawns take ~2 s each on an idle machine; the margin is for a busy one.
 */
const TIMEOUT_MS = 240_000;

const freshDataDir = (() => {
  const root = tempDirs('crm-sync-endpoints-');
  return () => seededDataDir(join(root(), 'data'));
})();

const SECRET = 'client-secret-never-in-clear';
const reapit = (tokenUrl: string) =>
  JSON.stringify({ clientId: 'id', clientSecret: SECRET, customerId: 'SBOX', tokenUrl });
const alto = (tokenUrl: string) =>
  JSON.stringify({ clientId: 'id', clientSecret: SECRET, agencyRef: 'AG1', tokenUrl });

/** A usage error: exit 2, one line on stderr matching `message`, and no secret in it. */
function expectRefused(run: CliRun, message: RegExp): void {
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr).toMatch(message);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).not.toContain(SECRET);
}

const PLAIN_HTTP = 'must be https: plain http would carry the credentials in clear text';

describe('URLs that credentials are sent to', () => {
  it(
    'crm-sync connection add and set-credentials refuse plain http to another host, and take it to this machine',
    async () => {
      const env = cliEnv(await freshDataDir());
      const cli = (...args: string[]) => runCli(env, args);
      expect((await cli('tenant', 'add', 'acme')).code).toBe(0);
      const added = await cli(
        ...'connection add --tenant acme --provider alto --base-url http://127.0.0.1:1'.split(' '),
        '--credentials',
        alto('http://localhost:1/token'),
      );
      expect(added.code, added.stderr).toBe(0);

      // Refused before the database is opened, so they may run side by side.
      const [plainBase, plainToken, plainTokenReplaced] = await Promise.all([
        cli(
          ...'connection add --tenant acme --provider street --base-url http://api.street.co.uk'.split(' '),
          '--credentials',
          JSON.stringify({ apiToken: SECRET }),
        ),
        cli(
          ...'connection add --tenant acme --provider reapit --base-url https://platform.reapit.cloud'.split(
            ' ',
          ),
          '--credentials',
          reapit('http://connect.reapit.cloud/token'),
        ),
        cli(
          ...'connection set-credentials --tenant acme --provider alto --credentials'.split(' '),
          alto('http://10.0.0.5/token'),
        ),
      ]);
      expectRefused(
        plainBase,
        new RegExp(`^crm-sync: --base-url ${PLAIN_HTTP}.*http://api\\.street\\.co\\.uk`),
      );
      expectRefused(plainToken, new RegExp(`--credentials do not fit reapit: tokenUrl: ${PLAIN_HTTP}`));
      expectRefused(plainTokenReplaced, new RegExp(`--credentials do not fit alto: tokenUrl: ${PLAIN_HTTP}`));

      const listed = await cli('connection', 'list', '--json');
      expect(listed.code, listed.stderr).toBe(0);
      expect((JSON.parse(listed.stdout) as Array<{ provider: string }>).map((c) => c.provider)).toEqual([
        'alto',
      ]);
    },
    TIMEOUT_MS,
  );

  it(
    'a tokenUrl holding a user name or password is refused: a failed token request quoted it in the last error',
    async () => {
      const env = cliEnv(await freshDataDir());
      const cli = (...args: string[]) => runCli(env, args);
      expect((await cli('tenant', 'add', 'acme')).code).toBe(0);
      // fetch refuses such a URL with an error quoting it whole, which became the connection's last error.
      const added = await cli(
        ...'connection add --tenant acme --provider reapit --base-url http://127.0.0.1:1'.split(' '),
        '--credentials',
        reapit(`http://id:${SECRET}@127.0.0.1:1/token`),
      );
      expectRefused(added, /--credentials do not fit reapit: tokenUrl: /);
      expect(added.stderr.trim()).toBe(
        `crm-sync: --credentials do not fit reapit: tokenUrl: ${USERINFO_REFUSED}`,
      );
    },
    TIMEOUT_MS,
  );

  it('a stored tokenUrl or base URL holding a user name or password is refused, without quoting it', async () => {
    const created = getProvider('alto')?.createProvider({
      baseUrl: 'https://api.alto.zoopla.co.uk',
      credentials: JSON.parse(alto(`https://id:${SECRET}@api.alto.zoopla.co.uk/token`)),
    });
    expect(created?.ok).toBe(false);
    const message = created?.ok === false ? created.error.message : '';
    expect(message).toContain('tokenUrl');
    expect(message).not.toContain(SECRET);
    expect(credentialEndpointProblem(`https://user:${SECRET}@crm.example.com/api`)).toBe(USERINFO_REFUSED);
  });

  it('the store refuses a plain-http base URL to another host, naming the field', async () => {
    const store = must(await openMemoryStore());
    try {
      const tenant = must(
        await store.createTenant({ name: `agency-${randomUUID()}`, syncIntervalSeconds: 900 }),
      );
      const add = (baseUrl: string) =>
        store.addConnection({
          tenantId: tenant.id,
          provider: 'loop',
          baseUrl,
          credentials: { apiKey: SECRET },
          nextRunAt: new Date(),
        });
      const refused = await add('http://crm.example.com/api');
      expect(refused.ok ? null : refused.error).toEqual({
        kind: 'invalid_input',
        message: `baseUrl: ${PLAIN_HTTP_REFUSED}`,
      });
      expect(must(await add('http://[::1]:8080/api')).baseUrl).toBe('http://[::1]:8080/api');
    } finally {
      await store.close();
    }
  });

  it('a connection whose stored token URL is plain http to another host is not sent its secret', () => {
    const created = getProvider('reapit')?.createProvider({
      baseUrl: 'https://platform.reapit.cloud',
      credentials: JSON.parse(reapit('http://connect.reapit.cloud/token')),
    });
    expect(created?.ok).toBe(false);
    expect(created?.ok === false && created.error.message).toContain('tokenUrl');
  });
});
