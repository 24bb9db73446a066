import { readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The admin token a holder generated, beside the lock file, so that the same user's other commands can go
 * through the holder without copying it from its output. Readable by the owner only (0600), like the
 * database files next to it. Not written when `CRM_SYNC_ADMIN_TOKEN` is configured: commands read that.
 */
const ADMIN_TOKEN_FILE_NAME = 'admin.token';

/** Writes `token` for this holder; the returned function removes it again (a clean shutdown). */
export async function writeAdminTokenFile(dataDir: string, token: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, ADMIN_TOKEN_FILE_NAME);
  // A file left by a killed holder may have another mode; only a fresh file gets ours.
  await unlink(file).catch(() => {});
  await writeFile(file, `${token}\n`, { flag: 'wx', mode: 0o600 });
  return async () => {
    // Leave a later holder's token alone.
    if ((await readAdminTokenFile(dataDir)) === token) await unlink(file).catch(() => {});
  };
}

/** The token the current holder wrote, or `null` when there is none. */
export async function readAdminTokenFile(dataDir: string): Promise<string | null> {
  const text = await readFile(path.join(dataDir, ADMIN_TOKEN_FILE_NAME), 'utf8').catch(() => null);
  const token = text?.trim() ?? '';
  return token === '' ? null : token;
}
