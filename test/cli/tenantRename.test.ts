import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp } from '../../src/main.ts';
import { commitDuplicatesAudit } from '../support/auditEntries.ts';
import { type CliRun, cliEnv, runCli } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgresServer.ts';
import { tempDirs } from '../support/tempDirs.ts';

/**
 * `crm-sync tenant rename`, through the real CLI. Each CLI spawn takes ~2 s on an idle machine; a case spawns
 * about eight in sequence, with margin for a machine busy with other suites, where one can take ten times as long.
 */
const TIMEOUT_MS = 300_000;

const freshRoot = tempDirs('crm-sync-rename-');

/** SQL and its parameters. */
type Statement = [sql: string, params?: unknown[]];

/** The environment of the CLI on one database, and SQL straight to it (while no CLI has it open). */
interface CliDatabase {
  env: NodeJS.ProcessEnv;
  raw(statements: Statement[]): Promise<void>;
}

async function pgliteDatabase(): Promise<CliDatabase> {
  const dataDir = await seededDataDir(join(freshRoot(), 'data'));
  return {
    env: cliEnv(dataDir),
    async raw(statements) {
      const db = await PGlite.create(join(dataDir, 'db'));
      try {
        for (const [sql, params = []] of statements) await db.query(sql, params);
      } finally {
        await db.close();
      }
    },
  };
}

async function postgresDatabase(server: PostgresServer): Promise<CliDatabase> {
  const name = `t_${randomUUID().replaceAll('-', '')}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = server.url.replace(/\/postgres$/, `/${name}`);
  return {
    env: cliEnv(join(freshRoot(), 'data'), { DATABASE_URL: url, CRM_SYNC_SECRET_KEY: 'ab'.repeat(32) }),
    async raw(statements) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        for (const [sql, params = []] of statements) await client.query(sql, params);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * The database an earlier crm-sync left holding `harbour` (with a connection and an audit entry) and `Harbour`, and
 * `acme` and `ACME`, which 20250612000000_tenant_names_ignore_case refuses: written by this version, then rolled
 * back to the schema before that migration (and the next), with the names it refuses written straight in.
 */
async function blockedDatabase(database: CliDatabase): Promise<{ tenantId: string; auditId: number }> {
  const opened = await openApp({ command: 'test', source: database.env });
  if (!opened.ok) throw new Error(opened.error.message);
  const { store } = opened.value;
  let seeded: { tenantId: string; auditId: number };
  try {
    const tenant = await store.createTenant({ name: 'harbour', syncIntervalSeconds: 900 });
    if (!tenant.ok) throw new Error(tenant.error.message);
    const connection = await store.addConnection({
      tenantId: tenant.value.id,
      provider: 'reapit',
      baseUrl: 'http://127.0.0.1:9',
      credentials: { clientId: 'id-1', clientSecret: 'secret-1' },
      nextRunAt: new Date(),
    });
    if (!connection.ok) throw new Error(connection.error.message);
    const ref = { tenantId: tenant.value.id, connectionId: connection.value.id };
    seeded = { tenantId: tenant.value.id, auditId: (await commitDuplicatesAudit(store, ref, 3)).auditId };
  } finally {
    await opened.value.close();
  }
  await database.raw([
    ['DROP INDEX tenants_name_folded_idx'],
    [`DELETE FROM schema_migrations WHERE version IN ('20250612000000', '20250613000000', '20250619000000')`],
    ...['Harbour', 'acme', 'ACME'].map(
      (name): Statement => [
        'INSERT INTO tenants (id, name, sync_interval_seconds, created_at, updated_at) VALUES ($1, $2, 900, now(), now())',
        [randomUUID(), name],
      ],
    ),
  ]);
  return seeded;
}

/** A usage error: exit 2 and exactly one line on stderr matching `message`. */
function expectUsageError(run: CliRun, message: RegExp): void {
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr).toMatch(message);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
}

function parsed<T>(run: CliRun): T {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

function describeBlockedUpgrade(backend: string, makeDatabase: () => Promise<CliDatabase>): void {
  describe(`tenant rename on ${backend}`, () => {
    it(
      'unblocks a database the ignore-case migration refuses: the blocked open names the command, the renamed tenant keeps its connection and audit',
      async () => {
        const database = await makeDatabase();
        const { tenantId, auditId } = await blockedDatabase(database);
        const cli = (...args: string[]) => runCli(database.env, args);

        const blocked = await cli('tenant', 'list');
        expectUsageError(blocked, /migration 20250612000000_tenant_names_ignore_case failed/);
        expect(blocked.stderr).toContain('crm-sync tenant rename');

        // Neither spelling as typed: which of the two is meant cannot be told, so nothing is renamed.
        expectUsageError(await cli('tenant', 'rename', 'HARBOUR', 'Harbour Two'), /"Harbour", "harbour"/);
        // The other one already holds the new name, ignoring case.
        expectUsageError(
          await cli('tenant', 'rename', 'harbour', 'HARBOUR'),
          /a tenant named "Harbour" already exists/,
        );

        // Renamed and kept, but the other two still block the upgrade: one line says both, exit 1.
        const first = await cli('tenant', 'rename', 'harbour', 'Harbour Two', '--json');
        expect(first.code, first.stderr).toBe(1);
        expect(first.stdout).toBe('');
        expect(first.stderr.trim().split('\n')).toEqual([
          expect.stringMatching(
            /^crm-sync: renamed tenant harbour to Harbour Two, but cannot upgrade the database .*\(lower\(name\)\)=\(acme\) is duplicated.*crm-sync tenant rename NAME NEW-NAME$/,
          ),
        ]);

        const second = parsed<{ id: string; name: string; previousName: string; connections: number }>(
          await cli('tenant', 'rename', 'ACME', 'Acme Two', '--json'),
        );
        expect(second).toMatchObject({ name: 'Acme Two', previousName: 'ACME', connections: 0 });

        // The database is upgraded: every command opens it, and the tenant (same id) keeps what it had.
        // (In the order of the database's collation, which differs between the two backends.)
        const listed = parsed<Array<{ name: string }>>(await cli('tenant', 'list', '--json'));
        expect(listed).toHaveLength(4);
        expect(listed).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ name: 'acme' }),
            expect.objectContaining({ name: 'Acme Two' }),
            expect.objectContaining({ name: 'Harbour', connections: 0 }),
            expect.objectContaining({ id: tenantId, name: 'Harbour Two', connections: 1 }),
          ]),
        );
        expect(parsed(await cli('audit', '--tenant', 'harbour two', '--json'))).toEqual([
          expect.objectContaining({ id: auditId }),
        ]);
        expectUsageError(
          await cli('tenant', 'add', 'HARBOUR'),
          /a tenant named "Harbour" already exists \(names are compared ignoring letter case\)/,
        );
      },
      TIMEOUT_MS,
    );
  });
}

describeBlockedUpgrade('PGlite', async () => pgliteDatabase());
describe.runIf(postgresAvailable('the tenant rename CLI suite'))('PostgreSQL server', () => {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });
  describeBlockedUpgrade('Postgres', () => {
    if (server === undefined) throw new Error('Postgres not started');
    return postgresDatabase(server);
  });
});

describe('tenant rename on a database in use', () => {
  it.concurrent(
    'renames, letter case alone included; refuses an unknown tenant, a name taken or malformed, changing nothing',
    async () => {
      const database = await pgliteDatabase();
      const cli = (...args: string[]) => runCli(database.env, args);
      expect((await cli('tenant', 'add', 'Harbour Lettings')).code).toBe(0);
      expect((await cli('tenant', 'add', 'Northgate')).code).toBe(0);

      // The same tenant in other letters: not taken by another.
      const cased = await cli('tenant', 'rename', 'harbour lettings', 'HARBOUR LETTINGS');
      expect(cased.code, cased.stderr).toBe(0);
      expect(cased.stdout).toMatch(
        /^renamed tenant Harbour Lettings to HARBOUR LETTINGS \([0-9a-f-]{36}\)\n$/,
      );

      // A malformed name is refused before the database is opened, so those run beside the one that opens it.
      const [ghost, twoLines, blank, empty, addEmpty, addTwoLines, help] = await Promise.all([
        cli('tenant', 'rename', 'Nobody & Co', 'X'),
        cli('tenant', 'rename', 'Northgate', 'Two\nLines'),
        cli('tenant', 'rename', 'Northgate', '  '),
        cli('tenant', 'rename', 'Northgate', ''),
        cli('tenant', 'add', ''),
        cli('tenant', 'add', 'Two\nLines'),
        cli('tenant', 'rename', '--help'),
      ]);
      expectUsageError(ghost, /unknown tenant "Nobody & Co" \(crm-sync tenant list shows them\)/);
      expectUsageError(twoLines, /^crm-sync: name: expected no control characters/);
      // The checks and words of `tenant add`, not the schema's (`name: Too small: expected string …`).
      expectUsageError(blank, /^crm-sync: the tenant name must not be empty$/m);
      expectUsageError(empty, /^crm-sync: the tenant name must not be empty$/m);
      expect(addEmpty.stderr).toBe(empty.stderr);
      expect(addTwoLines.stderr).toBe(twoLines.stderr);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/Usage: crm-sync tenant rename \[options\] <name> <new-name>/);
      expectUsageError(
        await cli('tenant', 'rename', 'northgate', 'harbour lettings'),
        /a tenant named "HARBOUR LETTINGS" already exists \(names are compared ignoring letter case\)/,
      );

      // Trimmed and kept in NFC, as `tenant add` keeps a name.
      const accented = parsed<{ name: string; previousName: string }>(
        await cli('tenant', 'rename', 'Northgate', ' Jose\u0301 Lettings ', '--json'),
      );
      expect(accented).toMatchObject({ name: 'Jos\u00e9 Lettings', previousName: 'Northgate' });
      expect(
        parsed<Array<{ name: string }>>(await cli('tenant', 'list', '--json')).map((t) => t.name),
      ).toEqual(['HARBOUR LETTINGS', 'Jos\u00e9 Lettings']);
    },
    TIMEOUT_MS,
  );
});
