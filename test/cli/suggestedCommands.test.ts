import { join } from 'node:path';
import { expect, it } from 'vitest';
import { addLoopConnection, HARBOUR_LOOP } from '../support/cliLoopConnection.ts';
import { cliEnv, runCli } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { tempDirs } from '../support/tempDirs.ts';

const scratch = tempDirs('crm-sync-suggested-');

/**
 * A command the CLI prints for the operator to run next names the tenant as one shell word: pasted as printed,
 * `--tenant Harbour Lettings` would be read as the tenant `Harbour` and a stray argument.
 */
it('quotes a tenant name with a space in the commands it suggests', async () => {
  const env = cliEnv(await seededDataDir(join(scratch(), 'data')));
  await addLoopConnection(env, '--disabled');

  const sync = await runCli(env, ['sync', ...HARBOUR_LOOP]);
  expect(sync.code).toBe(2);
  expect(sync.stderr.trim()).toBe(
    "crm-sync: the loop connection of Harbour Lettings is disabled (crm-sync connection enable --tenant 'Harbour Lettings' --provider loop)",
  );

  const replaced = await runCli(env, [
    'connection',
    'set-credentials',
    ...HARBOUR_LOOP,
    '--credentials',
    '{"apiKey":"new"}',
  ]);
  expect(replaced.code, replaced.stderr).toBe(0);
  expect(replaced.stdout).toBe(
    "credentials of the loop connection of Harbour Lettings replaced; if the CRM had refused the earlier ones, its next scheduled run resumes it; a connection stopped in error continues now with crm-sync retry --tenant 'Harbour Lettings' --provider loop\n",
  );
}, 300_000);
