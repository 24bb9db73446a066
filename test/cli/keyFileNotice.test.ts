import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDataDirLock } from '../../src/persistence/dataDirLock.ts';
import { cliEnv, startCliDaemon } from '../support/cliProcess.ts';
import { tempDirs } from '../support/tempDirs.ts';

const freshDataDir = tempDirs('crm-sync-key-notice-');

/** A worker's stderr lines on a fresh data directory and no `CRM_SYNC_SECRET_KEY`: it generates the key file. */
async function workerLinesOnFreshKey(
  extra: Record<string, string>,
  waitForStarted = false,
): Promise<{ dataDir: string; lines: string[] }> {
  const dataDir = freshDataDir();
  const { CRM_SYNC_SECRET_KEY: _key, ...env } = cliEnv(dataDir, extra);
  const worker = startCliDaemon(env, ['worker', '--tick-ms', '500']);
  try {
    // Past opening the store (where the notice is written): listening, its admin URL in the lock file. Stopped
    // then, it may not have its signal handlers yet, so its exit code is not asserted here.
    while ((await readDataDirLock(dataDir))?.adminUrl == null)
      await new Promise((resolve) => setTimeout(resolve, 50));
    if (waitForStarted) await worker.waitForLine('stderr', /started/);
  } finally {
    await worker.stop();
  }
  return {
    dataDir,
    lines: worker
      .output()
      .stderr.split('\n')
      .filter((line) => line !== ''),
  };
}

describe('the generated credentials key notice of worker and serve', () => {
  // It was a bare text line on stderr whatever LOG_FORMAT said: a collector parsing JSON lines choked on it.
  it('at LOG_FORMAT=json is a JSON warning among the other lines', async () => {
    const { dataDir, lines } = await workerLinesOnFreshKey({ LOG_FORMAT: 'json' }, true);
    const entries = lines.map((line) => JSON.parse(line));
    expect(entries[0]).toMatchObject({
      level: 40,
      name: 'crm-sync worker',
      msg: `generated a credentials key at ${path.join(dataDir, 'secret.key')} (mode 0600); back it up, or set CRM_SYNC_SECRET_KEY instead`,
    });
    expect(entries[1]).toMatchObject({ level: 30, msg: expect.stringMatching(/^started/) });
  }, 60_000);

  it('in text is a prefixed line, kept at LOG_LEVEL=warn and left out at LOG_LEVEL=error', async () => {
    const kept = await workerLinesOnFreshKey({ LOG_LEVEL: 'warn' });
    expect(kept.lines).toEqual([
      expect.stringMatching(
        /^crm-sync worker: generated a credentials key at .*secret\.key \(mode 0600\); back it up/,
      ),
    ]);
    const quiet = await workerLinesOnFreshKey({ LOG_LEVEL: 'error' });
    expect(quiet.lines).toEqual([]);
  }, 60_000);
});
