import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, runCli } from '../support/cliProcess.ts';
import { tempDirs } from '../support/tempDirs.ts';

const scratch = tempDirs('crm-sync-command-loading-');

/**
 * src/cli.ts loads only the module of the command named on the command line; help and anything it does not name
 * load every command. These fail when a command is left out of its table or registered under another name.
 */
it('lists every command in help, in order, and loads a named command on its own', async () => {
  const env = cliEnv(join(scratch(), 'data'));
  const help = await runCli(env, ['--help']);
  expect(help.code, help.stderr).toBe(0);
  const listed = [...help.stdout.slice(help.stdout.indexOf('Commands:')).matchAll(/^ {2}([a-z-]+)/gm)].map(
    (match) => match[1],
  );
  expect(listed).toEqual([
    'tenant',
    'connection',
    'sync',
    'status',
    'audit',
    'retry',
    'reset',
    'contact',
    'engagement',
    'dedupe',
    'demo',
    'simulator',
    'serve',
    'worker',
    'help',
  ]);

  const retry = await runCli(env, ['help', 'retry']);
  expect(retry.code, retry.stderr).toBe(0);
  expect(retry.stdout).toMatch(/^Usage: crm-sync retry \[options\]\n/);

  const tenant = await runCli(env, ['tenant', '--help']);
  expect(tenant.code, tenant.stderr).toBe(0);
  expect(tenant.stdout).toMatch(/^Usage: crm-sync tenant \[options\] \[command\]\n/);
  expect(tenant.stdout).toContain('  rename ');

  const unknown = await runCli(env, ['tennant', 'list']);
  expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({
    code: 2,
    stderr: "crm-sync: unknown command 'tennant'\n",
  });
}, 120_000);
