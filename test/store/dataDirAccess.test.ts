import { randomBytes } from 'node:crypto';
import { chmodSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/persistence/openStore.ts';
import { PGLITE_SUBDIR } from '../../src/persistence/pglite.ts';
import { tempDirs } from '../support/tempDirs.ts';
import { unwrap } from './backends.ts';

const freshDataDir = tempDirs('crm-sync-access-');

async function openAndClose(dataDir: string): Promise<void> {
  const store = unwrap(
    await openStore({
      env: {
        CRM_SYNC_DATA_DIR: dataDir,
        DATABASE_URL: undefined,
        CRM_SYNC_SECRET_KEY: randomBytes(32).toString('hex'),
      },
      command: 'crm-sync test',
      notice: () => {},
    }),
  );
  await store.close();
}

/** Permission bits other users (group and others) have on `file`. */
const othersBits = (file: string) => statSync(file).mode & 0o077;

// The database holds every agency's contacts (names, e-mail addresses, phones, addresses) and their sealed CRM
// credentials. PGlite writes its files readable and writable by everyone (0666), so its directory must keep
// other users out, even when the data directory itself is open to them (the default ./.crm-sync is 0755).
describe('the embedded database on disk', () => {
  it('is in a directory only its owner can enter', async () => {
    const dataDir = freshDataDir();
    chmodSync(dataDir, 0o755);
    await openAndClose(dataDir);
    expect(othersBits(path.join(dataDir, PGLITE_SUBDIR))).toBe(0);
  });

  it('closes a database directory left open to other users when it is opened again', async () => {
    const dataDir = freshDataDir();
    chmodSync(dataDir, 0o755);
    await openAndClose(dataDir);
    const db = path.join(dataDir, PGLITE_SUBDIR);
    chmodSync(db, 0o755);
    await openAndClose(dataDir);
    expect(othersBits(db)).toBe(0);
  });
});
