import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { cliArgs } from '../support/cliProcess.ts';
import { tempDirs } from '../support/tempDirs.ts';

const dataRoot = tempDirs('crm-sync-demo-port-');

/** The real CLI as a child process on its own embedded database; never a Postgres the caller may have set. */
function cli(
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { DATABASE_URL: _ignored, PORT: _port, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      cliArgs(args),
      { env: { ...env, CRM_SYNC_DATA_DIR: dataRoot(), ...extraEnv }, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const taken = createServer();
await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

/**
 * `npm start` serves the admin page on 3000 after its demo; another dev server there crashed it with a stack trace
 * once the demo's half minute of work was done.
 */
describe('demo on a port already in use', () => {
  const takenPort = () => {
    const address = taken.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return String(address.port);
  };
  const expectRefusedBeforeTheDemo = (run: { code: number; stdout: string; stderr: string }) => {
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^crm-sync: port ${takenPort()} is in use; --port N`));
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toBe('');
  };

  it('exits 2 with one line naming the port, before running the demo', async () => {
    expectRefusedBeforeTheDemo(await cli(['demo', '--port', takenPort(), '--contacts', '10']));
  }, 120_000);

  // README: PORT is the server's port; the demo ignored it and served on 3000.
  it('takes its port from PORT, as serve does, unless --port names one', async () => {
    expectRefusedBeforeTheDemo(await cli(['demo', '--contacts', '10'], { PORT: takenPort() }));
    const bad = await cli(['demo', '--contacts', '10'], { PORT: 'x' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^crm-sync: .*PORT: expected a port number/);
  }, 120_000);
});
