import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { PGLITE_SUBDIR } from '../../src/persistence/pglite.ts';
import { PLAIN_HTTP_REFUSED, USERINFO_REFUSED } from '../../src/providers/credentialEndpoint.ts';
import { type CliRun, cliEnv, runCli } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { startSimulator } from '../support/simulators.ts';
import { tempDirs } from '../support/tempDirs.ts';

/**
 * A base URL an earlier version stored as plain http to another host (before 1590344): the CLI lists it and says it
 * is refused, `sync` stops it in error without sending the credentials, and `connection set-base-url` changes it.
 * Nine CLI spawns of ~2 s each on an idle machine, and ten times that on one busy with other suites.
 */
const TIMEOUT_MS = 420_000;
const OLD_BASE_URL = 'http://api.crm.invalid';

const freshRoot = tempDirs('crm-sync-base-url-');
const sim = await startSimulator('loop', { contacts: 3, seed: 4 });
afterAll(() => sim.close());

function ok(run: CliRun): string {
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
}

/**
 * A fresh data directory whose tenant acme has a Loop connection to the simulator, its base URL then set to
 * `baseUrl` as an earlier version could have stored it (no process holds the directory meanwhile); the CLI on it.
 */
async function connectionStoredWith(baseUrl: string) {
  const dataDir = await seededDataDir(join(freshRoot(), 'data'));
  const cli = (...args: string[]) => runCli(cliEnv(dataDir), args);
  ok(await cli('tenant', 'add', 'acme'));
  const addArgs = ['--tenant', 'acme', '--provider', 'loop', '--base-url', sim.baseUrl];
  ok(await cli('connection', 'add', ...addArgs, '--credentials', JSON.stringify(sim.credentials)));
  const db = await PGlite.create(join(dataDir, PGLITE_SUBDIR));
  await db.query('UPDATE connections SET base_url = $1', [baseUrl]);
  await db.close();
  return cli;
}

interface StatusJson {
  state: string;
  baseUrl: string;
  baseUrlProblem: string | null;
  lastError: { message: string } | null;
}

describe('crm-sync and a base URL stored as plain http to another host', () => {
  it(
    'connection list and status show it refused, sync refuses the run, set-base-url changes it and retry goes on',
    async () => {
      const cli = await connectionStoredWith(OLD_BASE_URL);

      const list = ok(await cli('connection', 'list'));
      expect(list).toContain(`${OLD_BASE_URL} (refused)`);
      expect(list).toContain(
        `acme loop: base url refused: ${PLAIN_HTTP_REFUSED}; change it with crm-sync connection set-base-url --tenant acme --provider loop URL`,
      );
      const [listed] = JSON.parse(ok(await cli('connection', 'list', '--json')));
      expect(listed).toMatchObject({ baseUrl: OLD_BASE_URL, baseUrlProblem: PLAIN_HTTP_REFUSED });
      const status = ok(await cli('status', '--tenant', 'acme'));
      expect(status).toContain(`loop: base url ${OLD_BASE_URL} refused: ${PLAIN_HTTP_REFUSED}`);

      const sync = await cli('sync', '--tenant', 'acme', '--json');
      expect(sync.code, sync.stderr).toBe(1);
      const [synced] = JSON.parse(sync.stdout) as StatusJson[];
      expect(synced).toMatchObject({
        state: 'error',
        baseUrl: OLD_BASE_URL,
        baseUrlProblem: PLAIN_HTTP_REFUSED,
      });
      expect(synced?.lastError?.message).toContain(PLAIN_HTTP_REFUSED);
      expect(synced?.lastError?.message).toContain('crm-sync connection set-base-url');

      const setArgs = ['connection', 'set-base-url', '--tenant', 'acme', '--provider', 'loop'];
      const refused = await cli(...setArgs, `${OLD_BASE_URL}/v2`);
      expect(refused.code).toBe(2);
      expect(refused.stderr.trim()).toBe(
        `crm-sync: base URL ${PLAIN_HTTP_REFUSED}, got "${OLD_BASE_URL}/v2"`,
      );
      expect(ok(await cli(...setArgs, sim.baseUrl))).toBe(
        `base URL of the loop connection of acme is now ${sim.baseUrl}; a connection stopped in error ` +
          'continues with crm-sync retry --tenant acme --provider loop\n',
      );
      const retried = JSON.parse(
        ok(await cli('retry', '--tenant', 'acme', '--provider', 'loop', '--json')),
      ) as StatusJson;
      expect(retried).toMatchObject({ state: 'idle', baseUrl: sim.baseUrl, baseUrlProblem: null });
    },
    TIMEOUT_MS,
  );
  it(
    'a base URL stored with a user name and password, or a query, is listed without them: connection list and sync printed it whole',
    async () => {
      // As a version before dc45c6f and d1eac16 could store it: the query may be an API key.
      const cli = await connectionStoredWith(
        'https://agency:S3CRET-PASS@crm.example.com/api?api_key=S3CRET-KEY',
      );
      const shown = 'https://***@crm.example.com/api?…';

      const list = ok(await cli('connection', 'list'));
      expect(list).toContain(`${shown} (refused)`);
      const [listed] = JSON.parse(ok(await cli('connection', 'list', '--json')));
      expect(listed).toMatchObject({ baseUrl: shown, baseUrlProblem: USERINFO_REFUSED });
      const sync = await cli('sync', '--tenant', 'acme', '--json');
      expect(sync.code, sync.stderr).toBe(1);
      const [synced] = JSON.parse(sync.stdout) as StatusJson[];
      expect(synced).toMatchObject({ state: 'error', baseUrl: shown, baseUrlProblem: USERINFO_REFUSED });
      for (const out of [list, JSON.stringify(listed), sync.stdout, sync.stderr])
        expect(out).not.toContain('S3CRET');
    },
    TIMEOUT_MS,
  );
});
