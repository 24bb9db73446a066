import { join } from 'node:path';
import { expect, it } from 'vitest';
import { addLoopConnection, HARBOUR_LOOP } from '../support/cliLoopConnection.ts';
import { cliEnv, runCli } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { tempDirs } from '../support/tempDirs.ts';

const scratch = tempDirs('crm-sync-reset-');

/**
 * `reset` on a connection whose stored machine restores resets nothing. It advised `crm-sync retry` whatever the
 * machine's state, which for an idle machine (docs QA) means nothing: there is no error to lead it out of.
 */
it('tells of an idle machine that there is nothing to reset and when its next run is, not to retry', async () => {
  const env = cliEnv(await seededDataDir(join(scratch(), 'data')));
  await addLoopConnection(env);
  const status = await runCli(env, ['status', '--tenant', 'Harbour Lettings', '--json']);
  const [{ nextRunAt }] = JSON.parse(status.stdout) as [{ nextRunAt: string }];

  const reset = await runCli(env, ['reset', ...HARBOUR_LOOP]);

  expect(reset.code).toBe(2);
  expect(reset.stdout).toBe('');
  expect(reset.stderr.trim()).toBe(
    `crm-sync: the loop connection of Harbour Lettings is idle and its stored machine restores: nothing to reset; its next scheduled run proceeds as planned, at ${nextRunAt.replace(/\.\d{3}Z$/, 'Z')}`,
  );

  const disabled = await runCli(env, ['connection', 'disable', ...HARBOUR_LOOP]);
  expect(disabled.code, disabled.stderr).toBe(0);
  const resetDisabled = await runCli(env, ['reset', ...HARBOUR_LOOP]);
  expect(resetDisabled.code).toBe(2);
  expect(resetDisabled.stderr.trim()).toBe(
    "crm-sync: the loop connection of Harbour Lettings is idle and its stored machine restores: nothing to reset; it is disabled and runs once enabled (crm-sync connection enable --tenant 'Harbour Lettings' --provider loop)",
  );
}, 300_000);
