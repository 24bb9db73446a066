import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from '../support/cliProcess.ts';
import { tempDirs } from '../support/tempDirs.ts';

const scratch = tempDirs('crm-sync-listen-refused-');
const taken = createServer();
await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));
const takenPort = () => {
  const address = taken.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return String(address.port);
};

/**
 * A listen the system refuses for a reason the commands did not name (an address it cannot take, `EINVAL`; a port
 * below 1024 without the right, `EACCES`) is a bad argument: one line and exit 2. It was an uncaught error, a stack
 * trace and exit 1.
 */
describe('serve and simulator where they cannot listen', () => {
  it('serve on a link-local address without its zone: one line, exit 2', async () => {
    const run = await runCli(cliEnv(join(scratch(), 'data')), ['serve', '--host', 'fe80::1', '--port', '0']);
    expect(run.code, run.stderr).toBe(2);
    // After the notice of the credentials key a first start generates.
    expect(run.stderr.trim().split('\n').at(-1)).toBe('crm-sync: cannot listen on fe80::1 port 0 (EINVAL)');
    expect(run.stderr).not.toContain('    at ');
  });

  it('a simulator on a port in use: one line, exit 2', async () => {
    const run = await runCli(cliEnv(join(scratch(), 'data')), [
      'simulator',
      '--provider',
      'reapit',
      '--port',
      takenPort(),
    ]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([`crm-sync: port ${takenPort()} is in use`]);
  });
});
