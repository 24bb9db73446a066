import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDataDirLock } from '../../src/persistence/dataDirLock.ts';
import { openStore } from '../../src/persistence/openStore.ts';
import { tempDirs } from '../support/tempDirs.ts';
import { unwrap } from './backends.ts';

const freshDataDir = tempDirs('crm-sync-durable-');
const writer = path.join(import.meta.dirname, 'children', 'writer.ts');
const secretKey = randomBytes(32).toString('hex');

function child(mode: 'write' | 'open', dataDir: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', writer, mode, dataDir, secretKey], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** Resolve with stdout once a line matches `until`, or with all of it when the child exits. */
function readUntil(proc: ChildProcess, until: (line: string) => boolean): Promise<string[]> {
  return new Promise((resolve) => {
    const lines: string[] = [];
    let partial = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      if (parts.some(until)) resolve(lines);
    });
    proc.on('exit', () => resolve(lines));
  });
}

const open = (dataDir: string) =>
  openStore({
    env: { CRM_SYNC_DATA_DIR: dataDir, DATABASE_URL: undefined, CRM_SYNC_SECRET_KEY: secretKey },
    command: 'crm-sync test',
    notice: () => {},
  });

describe('embedded store across processes', () => {
  it('keeps every committed batch when the writer is killed with SIGKILL mid-batch', async () => {
    const dataDir = freshDataDir();
    const proc = child('write', dataDir);
    const lines = await readUntil(proc, (line) => line === 'committed 5');
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
    const committed = lines.filter((l) => l.startsWith('committed ')).length;
    expect(committed).toBeGreaterThanOrEqual(5);

    // The killed writer's lock is stale (dead pid): reopening takes it over.
    await using store = unwrap(await open(dataDir));
    const tenant = unwrap(await store.getTenantByName({ name: 'durable' }));
    const stored = unwrap(await store.listContacts({ tenantId: tenant.id, limit: 100_000 }));
    // Every acknowledged batch is there; a batch cut off by the kill is there whole or not at all.
    expect(stored.length).toBeGreaterThanOrEqual(committed * 200);
    expect(stored.length % 200).toBe(0);
  });

  it("takes over a lock naming this process's pid that this process does not hold (a reused pid)", async () => {
    const dataDir = freshDataDir();
    // As a container's PID 1 leaves it when killed, and its restart (PID 1 again) finds it.
    writeFileSync(
      path.join(dataDir, 'db.lock'),
      JSON.stringify({
        pid: process.pid,
        host: hostname(),
        command: 'crm-sync worker',
        startedAt: '2026-11-01T00:00:00.000Z',
        adminUrl: null,
      }),
    );
    const store = unwrap(await open(dataDir));
    try {
      expect((await readDataDirLock(dataDir))?.startedAt).not.toBe('2026-11-01T00:00:00.000Z');
      // Held by this process now: a second open here is refused, not taken over.
      expect(await open(dataDir)).toMatchObject({ ok: false, error: { kind: 'locked' } });
    } finally {
      await store.close();
    }
  });

  it('refuses a second process with a message naming the holder', async () => {
    const dataDir = freshDataDir();
    const store = unwrap(await open(dataDir));
    try {
      await store.publishAdminUrl('http://127.0.0.1:3999');
      const second = child('open', dataDir);
      const output = (await readUntil(second, () => false)).join('\n');
      expect(output).toContain(
        `error locked: the database in ${path.resolve(dataDir)} is in use by pid ${process.pid}`,
      );
      expect(output).toContain('(crm-sync test, since');
      expect(output).toContain('go through its admin API at http://127.0.0.1:3999');
      expect((await readDataDirLock(dataDir))?.pid).toBe(process.pid);
    } finally {
      await store.close();
    }
    expect(await readDataDirLock(dataDir)).toBeNull();
    const third = child('open', dataDir);
    expect(await readUntil(third, () => false)).toContain('opened');
  });
});
