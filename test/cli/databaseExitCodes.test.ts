import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliArgs } from '../support/cliProcess.ts';
import { closedPort } from '../support/ports.ts';

function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      cliArgs(args),
      // Postgres needs the shared credentials key; any well-formed one will do here (`undefined` leaves it out).
      {
        env: Object.fromEntries(
          Object.entries({ ...process.env, CRM_SYNC_SECRET_KEY: 'ab'.repeat(32), ...env }).filter(
            ([, value]) => value !== undefined,
          ),
        ),
        encoding: 'utf8',
      },
      (error, _stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stderr }),
    );
  });
}

/**
 * A database out of reach is a failure of a well-formed command (exit 1: a script may retry), not a bad argument
 * (exit 2), which a malformed DATABASE_URL still is. Each is one line.
 */
describe('the exit code when the database cannot be opened', () => {
  it('is 1 for a Postgres nobody answers at, 2 for a DATABASE_URL that is not one', async () => {
    const port = await closedPort();
    const [down, malformed] = await Promise.all([
      cli({ DATABASE_URL: `postgres://crm@127.0.0.1:${port}/crm` }, 'tenant', 'list'),
      cli({ DATABASE_URL: 'mysql://crm@127.0.0.1/crm' }, 'tenant', 'list'),
    ]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(new RegExp(`cannot reach Postgres at 127\\.0\\.0\\.1:${port}`));
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);
});

describe('the embedded store in a data directory it cannot use', () => {
  it('is one line and exit 2 when the generated key file cannot be written there, not a stack trace', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'crm-sync-datadir-'));
    try {
      // A data directory under a regular file: no user, root included, can create it.
      const file = path.join(scratch, 'not-a-directory');
      writeFileSync(file, 'x');
      const dataDir = path.join(file, 'data');
      const run = await cli({ CRM_SYNC_DATA_DIR: dataDir, CRM_SYNC_SECRET_KEY: undefined }, 'tenant', 'list');
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(`cannot use the credentials key file ${path.join(dataDir, 'secret.key')}`);
      expect(run.stderr).toMatch(/ENOTDIR.*set CRM_SYNC_SECRET_KEY/);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 60_000);
});
