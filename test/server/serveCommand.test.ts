import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openApp } from '../../src/main.ts';
import { credentialsSchema } from '../../src/persistence/records.ts';
import { cliArgs } from '../support/cliProcess.ts';
import { startSimulator } from '../support/simulators.ts';
import { tempDirs } from '../support/tempDirs.ts';

/** Resolves with the first stdout line matching `pattern`, or rejects when the process exits first. */
function waitForLine(child: ReturnType<typeof spawn>, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const line = seen.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) resolve(line);
    });
    child.once('exit', (code) =>
      reject(new Error(`serve exited (${code}) before printing ${pattern}: ${seen}`)),
    );
  });
}

const freshDataDir = tempDirs('crm-sync-serve-');

/** A loopback port nothing listens on (taken, then let go). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * Runs serve against a dev server URL nobody answers on, syncs it (`PUT /api/inngest`: the SDK fails to register
 * and logs it), stops it with SIGTERM, and returns its stderr lines and exit code.
 */
async function serveLogLines(logEnv: { LOG_FORMAT: string; LOG_LEVEL: string }) {
  const env = {
    ...process.env,
    ...logEnv,
    CRM_SYNC_DATA_DIR: freshDataDir(),
    // Set, so the only stderr lines are the diagnostic ones (no notice of a generated key).
    CRM_SYNC_SECRET_KEY: 'ab'.repeat(32),
    CRM_SYNC_ADMIN_TOKEN: '',
    INNGEST_DEV: `http://127.0.0.1:${await closedPort()}`,
    INNGEST_SIGNING_KEY: '',
    INNGEST_EVENT_KEY: '',
    INNGEST_BASE_URL: '',
  };
  const child = spawn(process.execPath, cliArgs(['serve', '--port', '0']), { env });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  try {
    const origin = (await waitForLine(child, /^inngest: /))
      .slice('inngest: '.length)
      .replace(/\/api\/inngest$/, '');
    const sync = await fetch(`${origin}/api/inngest`, { method: 'PUT' });
    expect(await sync.json()).toMatchObject({ message: expect.stringMatching(/^Failed to register/) });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    return { code: await exited, lines: stderr.split('\n').filter((line) => line !== '') };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

describe('crm-sync serve', () => {
  it('prints the page URL and a generated token, publishes its URL, serves Inngest, and stops on SIGTERM', async () => {
    const dataDir = freshDataDir();
    const env = {
      ...process.env,
      CRM_SYNC_DATA_DIR: dataDir,
      CRM_SYNC_ADMIN_TOKEN: '',
      INNGEST_DEV: '1',
      INNGEST_SIGNING_KEY: '',
      INNGEST_EVENT_KEY: '',
      INNGEST_BASE_URL: '',
    };
    const child = spawn(process.execPath, cliArgs(['serve', '--port', '0']), { env });
    try {
      const pageLine = waitForLine(child, /^admin page: /);
      const tokenLine = await waitForLine(child, /^admin token: /);
      const pageUrl = (await pageLine).slice('admin page: '.length);
      const token = tokenLine.slice('admin token: '.length);
      expect(pageUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/admin$/);
      expect(token.length).toBeGreaterThanOrEqual(32);
      const origin = pageUrl.replace(/\/admin$/, '');

      expect((await fetch(`${origin}/api/tenants`)).status).toBe(401);
      const tenants = await fetch(`${origin}/api/tenants`, { headers: { authorization: `Bearer ${token}` } });
      expect(tenants.status).toBe(200);
      expect(await tenants.json()).toEqual({ tenants: [] });
      expect((await fetch(pageUrl)).status).toBe(200);
      // Inngest's endpoint is exempt from the admin token: it answers its own introspection.
      const inngest = await fetch(`${origin}/api/inngest`);
      expect(inngest.status).toBe(200);
      expect(await inngest.json()).toMatchObject({ mode: 'dev' });
      // Methods Inngest does not use fall through to the admin API (docs/scheduling.md): its 401, or with the
      // token its 405.
      expect((await fetch(`${origin}/api/inngest`, { method: 'DELETE' })).status).toBe(401);
      const deleted = await fetch(`${origin}/api/inngest`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(deleted.status).toBe(405);

      const lock = JSON.parse(readFileSync(join(dataDir, 'db.lock'), 'utf8'));
      expect(lock).toMatchObject({ command: 'crm-sync serve', adminUrl: origin });

      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(join(dataDir, 'db.lock'))).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    // A fresh embedded database is created and migrated in the child: slow on a busy machine.
  }, 120_000);

  // LOG_FORMAT and LOG_LEVEL govern serve's diagnostic lines, but its shutdown line was written as plain text
  // whatever they said, and the Inngest SDK, given no logger, wrote its own messages (a failed registration and its
  // stack) to the console: LOG_FORMAT=json LOG_LEVEL=silent still wrote both, neither one JSON object a line.
  it('writes its shutdown line and the Inngest SDK messages as LOG_FORMAT and LOG_LEVEL say', async () => {
    const json = await serveLogLines({ LOG_FORMAT: 'json', LOG_LEVEL: 'info' });
    expect(json.code).toBe(0);
    const entries = json.lines.map((line) => JSON.parse(line));
    expect(entries).toEqual([
      expect.objectContaining({
        level: 50,
        name: 'crm-sync inngest',
        msg: 'Failed to register',
        err: expect.objectContaining({ message: expect.stringContaining('fetch failed') }),
      }),
      expect.objectContaining({ level: 30, name: 'crm-sync', msg: 'SIGTERM: shutting down' }),
    ]);

    const silent = await serveLogLines({ LOG_FORMAT: 'json', LOG_LEVEL: 'silent' });
    expect(silent).toEqual({ code: 0, lines: [] });

    const text = await serveLogLines({ LOG_FORMAT: 'text', LOG_LEVEL: 'info' });
    expect(text.lines).toEqual([
      expect.stringMatching(
        /^crm-sync inngest: Failed to register: fetch failed \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/,
      ),
      'crm-sync: SIGTERM: shutting down',
    ]);
  }, 180_000);

  it('without Inngest, runs the embedded scheduler: a due connection is synced while it serves', async () => {
    const dataDir = freshDataDir();
    const env = {
      ...process.env,
      CRM_SYNC_DATA_DIR: dataDir,
      INNGEST_DEV: '',
      INNGEST_SIGNING_KEY: '',
      INNGEST_EVENT_KEY: '',
    };
    const sim = await startSimulator('reapit', { contacts: 20, seed: 4 });
    const setup = await openApp({ command: 'test setup', source: env, notice: () => {} });
    if (!setup.ok) throw new Error(setup.error.message);
    const tenant = await setup.value.store.createTenant({ name: 'Acme', syncIntervalSeconds: 900 });
    if (!tenant.ok) throw new Error(tenant.error.message);
    const added = await setup.value.store.addConnection({
      tenantId: tenant.value.id,
      provider: 'reapit',
      baseUrl: sim.baseUrl,
      credentials: credentialsSchema.parse(sim.credentials),
      nextRunAt: new Date(),
    });
    if (!added.ok) throw new Error(added.error.message);
    await setup.value.close();

    const child = spawn(process.execPath, cliArgs(['serve', '--port', '0']), { env });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    try {
      await waitForLine(child, /^admin token: /);
      const deadline = Date.now() + 90_000;
      while (!/state=idle/.test(stderr) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 250));
      expect(stderr).toMatch(/crm-sync worker: run .*provider=reapit .*state=idle/);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await sim.close();
    }
  }, 150_000);
});
