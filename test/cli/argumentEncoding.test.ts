import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { type CliRun, cliEnv, runCli } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';

const dataDir = await seededDataDir(mkdtempSync(path.join(tmpdir(), 'crm-sync-argv-')));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The CLI with `args` as a shell passes them, printf's octal escapes as raw bytes: Node gets no say in them. */
function runCliWithBytes(args: string[]): Promise<CliRun> {
  const script = `exec "$0" --import tsx src/cli.ts ${args.map((arg) => `"$(printf -- '${arg}')"`).join(' ')}`;
  return new Promise((resolve) => {
    execFile(
      '/bin/sh',
      ['-c', script, process.execPath],
      { env: cliEnv(dataDir), encoding: 'utf8' },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        }),
    );
  });
}

it('refuses an argument that is not UTF-8 (Latin-1 "Café") rather than store it with U+FFFD', async () => {
  const refused = await runCliWithBytes(['tenant', 'add', 'Caf\\351 Lettings']);
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toMatch(/^crm-sync: argument 3 is not UTF-8 text/);
  expect(refused.stderr.trim().split('\n')).toHaveLength(1);

  // The same name in UTF-8 bytes is taken, and is the only tenant.
  const added = await runCliWithBytes(['tenant', 'add', 'Caf\\303\\251 Lettings']);
  expect(added.code, added.stderr).toBe(0);
  const listed = await runCli(cliEnv(dataDir), ['tenant', 'list', '--json']);
  expect(JSON.parse(listed.stdout).map((tenant: { name: string }) => tenant.name)).toEqual(['Café Lettings']);
}, 120_000);

it('names a --credentials value that is not UTF-8 by its flag, never printing it', async () => {
  const refused = await runCliWithBytes([
    'connection',
    'add',
    '--tenant',
    'a',
    '--provider',
    'loop',
    '--base-url',
    'http://127.0.0.1:1',
    '--credentials',
    '{"apiKey":"SUPER-SECRET\\377"}',
  ]);
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toMatch(/^crm-sync: the value of --credentials \(argument 10\) is not UTF-8 text/);
  expect(refused.stderr).not.toContain('SECRET');
}, 120_000);

it('writes an error naming an argument with control characters escaped, never the raw escape sequence', async () => {
  // `ESC [ 2 J` clears the terminal the operator reads the error in.
  const refused = await runCli(cliEnv(dataDir), ['status', '--tenant', 'Acme\u001b[2J']);
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).not.toContain('\u001b');
  expect(refused.stderr).toContain('unknown tenant "Acme\\u001b[2J"');
}, 120_000);
