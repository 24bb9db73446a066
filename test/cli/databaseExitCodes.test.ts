import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { closedPort } from '../support/ports.ts';

function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', ...args],
      // Postgres needs the shared credentials key; any well-formed one will do here.
      { env: { ...process.env, CRM_SYNC_SECRET_KEY: 'ab'.repeat(32), ...env }, encoding: 'utf8' },
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
