import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, runCli } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { tempDirs } from '../support/tempDirs.ts';

const scratch = tempDirs('crm-sync-import-controls-');
const ESC = '\u001b';

it('engagement import lists an unknown contact’s event id with its control characters escaped', async () => {
  const dir = scratch();
  const env = cliEnv(await seededDataDir(join(dir, 'data')));
  expect((await runCli(env, ['tenant', 'add', 'acme'])).code).toBe(0);
  const file = join(dir, 'events.jsonl');
  const event = {
    eventId: `nh-1${ESC}[2J${ESC}]0;pwned\u0007`,
    contactId: '4832ac2d-7260-577e-9101-70d53e03d00e',
    type: 'open',
    at: '2025-06-01T09:30:00Z',
  };
  writeFileSync(file, `${JSON.stringify(event)}\n`);
  const run = await runCli(env, ['engagement', 'import', '--tenant', 'acme', file]);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toContain('unknown contact: nh-1');
  expect(run.stdout).not.toContain(ESC);
}, 240_000);
