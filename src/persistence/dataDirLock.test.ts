import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it, vi } from 'vitest';

// Writes opened but not written while held: the moment a file written in place is empty, widened.
vi.mock('node:fs/promises', async (importOriginal) =>
  (await import('../../test/support/heldWrites.ts')).withHeldWriteFile(await importOriginal()),
);
const { holdWrites } = await import('../../test/support/heldWrites.ts');
const { acquireDataDirLock } = await import('./dataDirLock.ts');

const self = (pid: number, command: string) => ({
  pid,
  host: 'h',
  command,
  startedAt: '2026-12-06T00:00:00.000Z',
});
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

it('is not taken from a live holder while it publishes its admin URL', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'crm-sync-lock-'));
  const serve = await acquireDataDirLock({
    dataDir,
    self: self(1111, 'crm-sync serve'),
    isPidAlive: () => true,
  });
  if (!serve.ok) throw new Error(serve.error.message);

  const release = holdWrites();
  const publishing = serve.value.setAdminUrl('http://127.0.0.1:3000');
  await settle();
  const sync = acquireDataDirLock({ dataDir, self: self(2222, 'crm-sync sync'), isPidAlive: () => true });
  await settle();
  release();
  await publishing;

  const second = await sync;
  expect(second.ok ? 'taken' : second.error.message).toMatch(
    /in use by pid 1111 .*admin API at http:\/\/127/,
  );
  expect(readdirSync(dataDir)).toEqual(['db.lock']);
});

it('is held by one of two processes taking it at once', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'crm-sync-lock-'));
  const release = holdWrites();
  const first = acquireDataDirLock({ dataDir, self: self(1111, 'crm-sync serve'), isPidAlive: () => true });
  await settle();
  const second = acquireDataDirLock({ dataDir, self: self(2222, 'crm-sync sync'), isPidAlive: () => true });
  await settle();
  release();

  const taken = (await Promise.all([first, second])).filter((result) => result.ok);
  expect(taken).toHaveLength(1);
});
