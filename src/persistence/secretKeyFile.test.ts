import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it, vi } from 'vitest';

// Writes opened but not written while held: the moment a file written in place is empty, widened.
vi.mock('node:fs/promises', async (importOriginal) =>
  (await import('../../test/support/heldWrites.ts')).withHeldWriteFile(await importOriginal()),
);
const { holdWrites } = await import('../../test/support/heldWrites.ts');
const { KEY_FILE_NAME, loadSecretBox } = await import('./secrets.ts');

/**
 * Two processes starting on a new data directory at once: the second read the key file the first was still
 * writing, empty, and failed ("does not hold a 32-byte key"); a process killed then left it so for good.
 */
it('gives two processes generating the key file at once one key, never an empty file', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'crm-sync-key-'));
  const release = holdWrites();
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
  const first = loadSecretBox({ secretKey: undefined, dataDir, notice: () => {} });
  await settle();
  const second = loadSecretBox({ secretKey: undefined, dataDir, notice: () => {} });
  await settle();
  release();
  const [a, b] = await Promise.all([first, second]);
  if (!a.ok || !b.ok) throw new Error(`${a.ok ? '' : a.error.message} ${b.ok ? '' : b.error.message}`);
  expect(b.value.decrypt(a.value.encrypt('credentials', 'c'), 'c')).toEqual({
    ok: true,
    value: 'credentials',
  });
  expect(readdirSync(dataDir)).toEqual([KEY_FILE_NAME]);
});
