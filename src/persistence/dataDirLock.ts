import { readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';
import type { LockHolder, OpenError } from './store.ts';
import { placeWhole } from './wholeFile.ts';

/** PGlite serves one process per data directory; this file names the process that has it. */
export const LOCK_FILE_NAME = 'db.lock';

const lockHolderSchema = z.object({
  pid: z.number().int(),
  host: z.string(),
  command: z.string(),
  startedAt: z.string(),
  adminUrl: z.string().nullable(),
});

export interface DataDirLock {
  readonly holder: LockHolder;
  /** Publish the admin API address so other commands can go through this process. */
  setAdminUrl(url: string | null): Promise<void>;
  release(): Promise<void>;
}

export type LockedError = Extract<OpenError, { kind: 'locked' }>;

/**
 * Lock files this process holds. A lock naming this very pid that is not among them was left by an earlier
 * process the pid has been reused for: a container's PID 1 restarted on its volume after a kill.
 */
const heldHere = new Set<string>();

/** The current holder of a data directory, or `null` when none (or the lock file is unreadable). */
export async function readDataDirLock(
  dataDir: string,
  fileName = LOCK_FILE_NAME,
): Promise<LockHolder | null> {
  const text = await readFile(path.join(dataDir, fileName), 'utf8').catch(() => null);
  if (text === null) return null;
  const parsed = lockHolderSchema.safeParse(safeJson(text));
  return parsed.success ? parsed.data : null;
}

/**
 * Take the data directory for this process (its lock `fileName`, by default the database's). A holder on this host
 * whose pid is dead (a crash or SIGKILL) is stale and taken over; a live holder is refused with `locked`, naming it.
 */
export async function acquireDataDirLock(params: {
  dataDir: string;
  fileName?: string;
  self: Omit<LockHolder, 'adminUrl'>;
  isPidAlive: (pid: number) => boolean;
}): Promise<Result<DataDirLock, LockedError>> {
  const fileName = params.fileName ?? LOCK_FILE_NAME;
  const file = path.join(params.dataDir, fileName);
  let holder: LockHolder = { ...params.self, adminUrl: null };
  // Placed whole (`placeWhole`): written in place, an empty lock was read as a holder killed before writing it, taken
  // over, and two processes used one database.
  const place = (how: 'link' | 'rename') => placeWhole(file, `${JSON.stringify(holder)}\n`, how);

  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await place('link');
      heldHere.add(file);
      return ok({
        get holder() {
          return holder;
        },
        async setAdminUrl(url) {
          holder = { ...holder, adminUrl: url };
          await place('rename');
        },
        async release() {
          const current = await readDataDirLock(params.dataDir, fileName);
          if (current?.pid === holder.pid && current.startedAt === holder.startedAt)
            await unlink(file).catch(() => {});
          heldHere.delete(file);
        },
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const text = await readFile(file, 'utf8').catch(() => '');
    const existing = lockHolderSchema.safeParse(safeJson(text));
    // An unparsable file was left by an earlier version, whose holder could be killed between creating and writing it.
    const stale =
      !existing.success ||
      (existing.data.host === params.self.host &&
        (existing.data.pid === params.self.pid
          ? !heldHere.has(file)
          : !params.isPidAlive(existing.data.pid)));
    if (!stale) return err(lockedError(params.dataDir, existing.data));
    // Only remove the file we judged stale, not one a concurrent taker has just written.
    if ((await readFile(file, 'utf8').catch(() => '')) === text) await unlink(file).catch(() => {});
  }
  const current = await readDataDirLock(params.dataDir, fileName);
  return err(
    lockedError(params.dataDir, current ?? { ...params.self, pid: -1, command: 'unknown', adminUrl: null }),
  );
}

function lockedError(dataDir: string, holder: LockHolder): LockedError {
  const via =
    holder.adminUrl === null ? 'stop it first' : `stop it, or go through its admin API at ${holder.adminUrl}`;
  return {
    kind: 'locked',
    message: `the database in ${dataDir} is in use by pid ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.startedAt}); ${via}`,
    holder,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
