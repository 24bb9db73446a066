import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliRun, cliEnv, runCli, startCliDaemon } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { closedPort } from '../support/ports.ts';
import { startSimulator } from '../support/simulators.ts';
import { tempDirs } from '../support/tempDirs.ts';

/**
 * Issue #4: while `serve` or `worker` holds the embedded database, the other commands go through it. Each case
 * spawns the real holder and the real CLI on a fresh data directory; a CLI spawn takes ~2 s on an idle
 * machine, a holder ~5 s (it creates and migrates the database), with margin for a busy one.
 */
const TIMEOUT_MS = 300_000;

const freshRoot = tempDirs('crm-sync-holder-');
const freshDataDir = () => seededDataDir(join(freshRoot(), 'data'));

const sim = await startSimulator('reapit', { contacts: 20, seed: 5 });
afterAll(() => sim.close());

function parsed<T>(run: CliRun): T {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

const goingThrough = (command: string) =>
  new RegExp(
    `^crm-sync: going through the running crm-sync ${command} \\(pid \\d+\\) at http://127\\.0\\.0\\.1:\\d+$`,
  );

describe('commands go through the serve or worker that holds the embedded database', () => {
  it.concurrent(
    'serve: tenants, connections, status, sync and audit land in the holder; import is refused',
    async () => {
      const dir = await freshDataDir();
      // Inngest dev mode: no embedded scheduler in serve, so only the CLI's `sync` runs the connection.
      const env = cliEnv(dir, { INNGEST_DEV: '1' });
      const serve = startCliDaemon(env, ['serve', '--port', '0']);
      try {
        const page = await serve.waitForLine('stdout', /^admin page: /);
        const token = (await serve.waitForLine('stdout', /^admin token: /)).slice('admin token: '.length);
        const origin = page.slice('admin page: '.length).replace(/\/admin$/, '');
        const api = async <T>(path: string): Promise<T> => {
          const response = await fetch(`${origin}/api${path}`, {
            headers: { authorization: `Bearer ${token}` },
          });
          expect(response.status).toBe(200);
          return (await response.json()) as T;
        };
        const tokenFile = join(dir, 'admin.token');
        expect(readFileSync(tokenFile, 'utf8').trim()).toBe(token);
        expect(statSync(tokenFile).mode & 0o777).toBe(0o600);

        const added = await runCli(env, ['tenant', 'add', 'acme', '--json']);
        const tenant = parsed<{ id: string; name: string }>(added);
        expect(added.stderr.trim().split('\n')).toEqual([expect.stringMatching(goingThrough('serve'))]);
        expect((await api<{ tenants: unknown[] }>('/tenants')).tenants).toEqual([
          expect.objectContaining({ id: tenant.id, name: 'acme' }),
        ]);
        expect(parsed(await runCli(env, ['tenant', 'list', '--json']))).toEqual([
          expect.objectContaining({ id: tenant.id, name: 'acme', connections: 0 }),
        ]);

        const credentials = JSON.stringify(sim.credentials);
        const connected = await runCli(env, [
          ...['connection', 'add', '--tenant', 'acme', '--provider', 'reapit'],
          ...['--base-url', sim.baseUrl, '--credentials', credentials, '--json'],
        ]);
        const connection = parsed<{ id: string }>(connected);
        expect(
          (await api<{ connections: unknown[] }>(`/tenants/${tenant.id}/connections`)).connections,
        ).toEqual([expect.objectContaining({ id: connection.id, provider: 'reapit' })]);

        expect(parsed(await runCli(env, ['status', '--tenant', 'acme', '--json']))).toEqual([
          expect.objectContaining({ provider: 'reapit', state: 'idle', cursor: null }),
        ]);

        // The cycle runs in serve (the CLI has neither the database nor the credentials).
        const synced = await runCli(env, ['sync', '--tenant', 'acme', '--json']);
        expect(parsed(synced)).toEqual([
          expect.objectContaining({
            provider: 'reapit',
            state: 'idle',
            cursor: expect.objectContaining({ externalId: expect.any(String) }),
          }),
        ]);
        expect(synced.stdout).not.toContain(String(sim.credentials.clientSecret));
        const audit = parsed<Array<{ id: number; outcome: string; fetched: number }>>(
          await runCli(env, ['audit', '--tenant', 'acme', '--json']),
        );
        expect(audit).toEqual([expect.objectContaining({ outcome: 'completed', fetched: 20 })]);
        expect((await api<{ entries: unknown[] }>(`/tenants/${tenant.id}/audit`)).entries).toEqual([
          expect.objectContaining({ id: audit[0]?.id }),
        ]);

        // Renamed in the holder: the same tenant, its audit found under the new name.
        const renamed = await runCli(env, ['tenant', 'rename', 'ACME', 'Acme Lettings', '--json']);
        expect(parsed(renamed)).toMatchObject({ id: tenant.id, name: 'Acme Lettings', previousName: 'acme' });
        expect(renamed.stderr.trim().split('\n')).toEqual([expect.stringMatching(goingThrough('serve'))]);
        expect((await api<{ tenant: unknown }>(`/tenants/${tenant.id}`)).tenant).toMatchObject({
          name: 'Acme Lettings',
        });
        expect(parsed(await runCli(env, ['audit', '--tenant', 'acme lettings', '--json']))).toEqual([
          expect.objectContaining({ id: audit[0]?.id }),
        ]);
        const taken = await runCli(env, ['tenant', 'add', 'harbour']);
        expect(taken.code, taken.stderr).toBe(0);
        const refusedName = await runCli(env, ['tenant', 'rename', 'acme lettings', 'HARBOUR']);
        expect(refusedName.code).toBe(2);
        expect(refusedName.stderr.trim().split('\n')).toEqual([
          expect.stringMatching(goingThrough('serve')),
          'crm-sync: a tenant named "harbour" already exists (names are compared ignoring letter case)',
        ]);

        const leads = join(dir, '..', 'leads.jsonl');
        writeFileSync(leads, `${JSON.stringify({ firstName: 'Ann', email: 'ann@example.org' })}\n`);
        const refused = await runCli(env, ['contact', 'import', '--tenant', 'acme', leads]);
        expect(refused.code).toBe(2);
        expect(refused.stderr.trim().split('\n')).toEqual([
          expect.stringMatching(
            /^crm-sync: contact import cannot go through crm-sync serve \(pid \d+\).*one transaction/,
          ),
        ]);

        expect(await serve.stop()).toBe(0);
        expect(existsSync(tokenFile)).toBe(false);
        expect(existsSync(join(dir, 'db.lock'))).toBe(false);
      } finally {
        await serve.stop();
      }
    },
    TIMEOUT_MS,
  );

  it.concurrent(
    'sync through serve of a connection in error names the crm-sync retry that leads it out, not the API route',
    async () => {
      const dir = await freshDataDir();
      // Inngest dev mode: no embedded scheduler in serve, so only the CLI's `sync` runs the connection.
      const env = cliEnv(dir, { INNGEST_DEV: '1' });
      const serve = startCliDaemon(env, ['serve', '--port', '0']);
      try {
        await serve.waitForLine('stdout', /^admin token: /);
        expect((await runCli(env, ['tenant', 'add', 'harbour'])).code).toBe(0);
        const refused = JSON.stringify({ ...sim.credentials, clientSecret: 'revoked' });
        const added = await runCli(env, [
          ...['connection', 'add', '--tenant', 'harbour', '--provider', 'reapit'],
          ...['--base-url', sim.baseUrl, '--credentials', refused],
        ]);
        expect(added.code, added.stderr).toBe(0);
        type Row = { state: string; errorReason: string | null; runError?: string };
        const first = await runCli(env, ['sync', '--tenant', 'harbour', '--json']);
        expect(first.code).toBe(1);
        expect(JSON.parse(first.stdout)).toEqual([
          expect.objectContaining({ state: 'error', errorReason: 'auth_failed' }),
        ]);

        const again = await runCli(env, ['sync', '--tenant', 'harbour', '--json']);
        expect(again.code).toBe(1);
        const [left] = JSON.parse(again.stdout) as Row[];
        // The same words as a sync that opens the database itself: a CLI user is told the command, not `POST …/retry`.
        expect(left?.runError).toBe(
          'connection is in error (auth_failed): a sync does not lead it out; retry does ' +
            '(crm-sync retry --tenant harbour --provider reapit) once the cause is fixed',
        );
        expect(await serve.stop()).toBe(0);
      } finally {
        await serve.stop();
      }
    },
    TIMEOUT_MS,
  );

  it.concurrent(
    'worker: listens on loopback and publishes its URL; a configured token is used, never written or printed',
    async () => {
      const dir = await freshDataDir();
      const configured = 'configured-admin-token-0123456789';
      const env = cliEnv(dir, { CRM_SYNC_ADMIN_TOKEN: configured });
      const worker = startCliDaemon(env, ['worker', '--tick-ms', '3600000']);
      try {
        const line = await worker.waitForLine('stderr', /admin API at /);
        const origin = /admin API at (http:\/\/127\.0\.0\.1:\d+)\/api/.exec(line)?.[1];
        expect(JSON.parse(readFileSync(join(dir, 'db.lock'), 'utf8'))).toMatchObject({
          command: 'crm-sync worker',
          adminUrl: origin,
        });
        expect(existsSync(join(dir, 'admin.token'))).toBe(false);

        const added = await runCli(env, ['tenant', 'add', 'harbour', '--interval', '5m']);
        expect(added.code, added.stderr).toBe(0);
        expect(added.stderr.trim()).toMatch(goingThrough('worker'));
        expect(parsed(await runCli(env, ['tenant', 'list', '--json']))).toEqual([
          expect.objectContaining({ name: 'harbour', interval: '5m' }),
        ]);

        const wrong = await runCli({ ...env, CRM_SYNC_ADMIN_TOKEN: 'another-token-0123456789' }, [
          'tenant',
          'list',
        ]);
        // Configuration, which running the command again cannot fix: exit 2, as for no token at all. The line
        // follows the notice that the command goes through the worker.
        expect(wrong.code).toBe(2);
        expect(wrong.stdout).toBe('');
        const [notice, refused, ...more] = wrong.stderr.trimEnd().split('\n');
        expect(notice).toMatch(goingThrough('worker'));
        expect(refused).toMatch(
          /^crm-sync: listing tenants: the running crm-sync worker \(pid \d+\) refused the admin token \(CRM_SYNC_ADMIN_TOKEN must match the one it was started with\)$/,
        );
        expect(more).toEqual([]);

        expect(await worker.stop()).toBe(0);
        const { stdout, stderr } = worker.output();
        expect(stdout + stderr).not.toContain(configured);
      } finally {
        await worker.stop();
      }
    },
    TIMEOUT_MS,
  );

  it.concurrent(
    'a holder that died (stale lock) is taken over as before: the command opens the database itself',
    async () => {
      const dir = await freshDataDir();
      mkdirSync(dir, { recursive: true });
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
        encoding: 'utf8',
      });
      writeLock(dir, { pid: Number(dead.stdout), adminUrl: 'http://127.0.0.1:9' });
      writeFileSync(join(dir, 'admin.token'), 'a-token-of-the-dead-holder\n', { mode: 0o600 });
      const listed = await runCli(cliEnv(dir), ['tenant', 'list', '--json']);
      expect(parsed(listed)).toEqual([]);
      expect(listed.stderr).not.toMatch(/going through/);
    },
    TIMEOUT_MS,
  );

  it.concurrent(
    'a live holder that stops answering mid-command: one line naming it, exit 1',
    async () => {
      const dir = await freshDataDir();
      mkdirSync(dir, { recursive: true });
      // This test process is the live "holder"; its published port has nobody listening any more.
      writeLock(dir, { pid: process.pid, adminUrl: `http://127.0.0.1:${await closedPort()}` });
      writeFileSync(join(dir, 'admin.token'), 'a-token-of-the-holder-0123456789\n', { mode: 0o600 });
      // A real holder generated the key file; with a configured key this one is not generated either.
      const env = cliEnv(dir, { CRM_SYNC_SECRET_KEY: '11'.repeat(32) });
      const run = await runCli(env, ['tenant', 'list', '--json']);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(goingThrough('serve')),
        expect.stringMatching(
          new RegExp(
            `^crm-sync: listing tenants: the running crm-sync serve \\(pid ${process.pid}\\) .* did not answer \\(ECONNREFUSED\\)$`,
          ),
        ),
      ]);
    },
    TIMEOUT_MS,
  );
});

function writeLock(dir: string, holder: { pid: number; adminUrl: string }): void {
  const lock = {
    ...holder,
    host: hostname(),
    command: 'crm-sync serve',
    startedAt: new Date().toISOString(),
  };
  writeFileSync(join(dir, 'db.lock'), `${JSON.stringify(lock)}\n`, { mode: 0o600 });
}
