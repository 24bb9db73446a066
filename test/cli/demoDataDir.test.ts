import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliRun } from '../support/cliProcess.ts';
import { tempDirs } from '../support/tempDirs.ts';

const tempDir = tempDirs('crm-sync-demo-dir-');
const cliScript = path.resolve('src/cli.ts');
const tsx = import.meta.resolve('tsx');

/** `crm-sync demo --once` run from `cwd`, as from a shell there, with `env` over this process's own. */
function demo(cwd: string, env: Record<string, string>, ...args: string[]): Promise<CliRun> {
  const { DATABASE_URL: _ignored, CRM_SYNC_DATA_DIR: _own, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', tsx, cliScript, 'demo', '--once', '--contacts', '10', ...args],
      { cwd, env: { ...inherited, ...env }, encoding: 'utf8', timeout: 240_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('the demo and its data directory', () => {
  it('refuses a bad environment with one line and exit 2, before starting anything', async () => {
    const run = await demo(tempDir(), { PORT: 'x' });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/^crm-sync: invalid environment: PORT/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toBe('');
  }, 120_000);

  it('never deletes a directory a live process holds; an empty CRM_SYNC_DATA_DIR is the default', async () => {
    const cwd = tempDir();
    // The default's demo directory, held by a live process (this one), and what an empty value once put in reach.
    const held = path.join(cwd, '.crm-sync', 'demo');
    mkdirSync(held, { recursive: true });
    const holder = {
      pid: process.pid,
      host: hostname(),
      command: 'crm-sync demo',
      startedAt: new Date().toISOString(),
      adminUrl: null,
    };
    writeFileSync(path.join(held, 'db.lock'), `${JSON.stringify(holder)}\n`);
    writeFileSync(path.join(held, 'data'), 'the running demo');
    mkdirSync(path.join(cwd, 'demo'));
    writeFileSync(path.join(cwd, 'demo', 'notes.txt'), 'not the demo');

    const run = await demo(cwd, { CRM_SYNC_DATA_DIR: '' });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`the demo's database in ${held} is in use by pid ${process.pid}`);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(path.join(held, 'db.lock'))).toBe(true);
    expect(existsSync(path.join(held, 'data'))).toBe(true);
    expect(existsSync(path.join(cwd, 'demo', 'notes.txt'))).toBe(true);
  }, 120_000);

  it('refuses a data directory it cannot use with one line and exit 2, before starting anything', async () => {
    const file = path.join(tempDir(), 'not-a-directory');
    writeFileSync(file, 'a file where the data directory should be');
    const run = await demo(tempDir(), { CRM_SYNC_DATA_DIR: file });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/^crm-sync: cannot use .*not-a-directory for the demo \(E[A-Z]+\)/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toBe('');
  }, 120_000);

  it('keeps out a second demo for the whole run, also while the first has let its database go', async () => {
    const root = tempDir();
    // A demo in its crash step: its database's lock let go (the child's, killed, left behind), its run's held.
    const demoDir = path.join(root, 'demo');
    mkdirSync(demoDir, { recursive: true });
    writeFileSync(path.join(demoDir, 'data'), 'the running demo');
    const runner = {
      pid: process.pid,
      host: hostname(),
      command: 'crm-sync demo',
      startedAt: new Date().toISOString(),
      adminUrl: null,
    };
    writeFileSync(path.join(root, 'demo.lock'), `${JSON.stringify(runner)}\n`);

    const run = await demo(tempDir(), { CRM_SYNC_DATA_DIR: root });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`crm-sync: a demo runs on ${demoDir} already: pid ${process.pid}`);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(path.join(demoDir, 'data'))).toBe(true);
    expect(existsSync(path.join(root, 'demo.lock'))).toBe(true);
  }, 120_000);

  it('runs every check from a directory outside the repository, the crash child included', async () => {
    const cwd = tempDir();
    const run = await demo(cwd, { CRM_SYNC_DATA_DIR: path.join(cwd, 'data') });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/✓ .*crash/i);
    expect(run.stdout).not.toMatch(/✗/);
  }, 240_000);
});
