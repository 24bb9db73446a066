import { constants } from 'node:buffer';
import { execFile } from 'node:child_process';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliArgs } from '../support/cliProcess.ts';
import { tempDirs } from '../support/tempDirs.ts';

const scratch = tempDirs('crm-sync-file-args-');

/** The real CLI as a child process on its own embedded database; never a Postgres the caller may have set. */
function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  const { DATABASE_URL: _ignored, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      cliArgs(args),
      { env: { ...env, CRM_SYNC_DATA_DIR: join(scratch(), 'data') }, encoding: 'utf8' },
      (error, _stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stderr });
      },
    );
  });
}

/** A file argument that cannot be read is one line saying why in words (it said `: ENOENT`), exit 2. */
describe('a file argument that cannot be read', () => {
  it.each([
    [
      ['dedupe', '/nonexistent/contacts.csv', '--id', 'ref', '--map', 'firstName=first'],
      /cannot read \/nonexistent\/contacts\.csv: no such file$/,
    ],
    [['contact', 'import', '--tenant', 'acme', '/'], /cannot read \/: it is a directory$/],
    [
      [
        'connection',
        'add',
        '--tenant',
        'acme',
        '--provider',
        'reapit',
        '--base-url',
        'http://127.0.0.1:1',
        '--credentials',
        '@',
      ],
      /--credentials @FILE: no file name after @$/,
    ],
  ])(
    '%j exits 2 with one line',
    async (args, message) => {
      const run = await cli(...args);
      expect(run.code).toBe(2);
      expect(run.stderr.trim()).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    },
    60_000,
  );
});

/**
 * A file whose text cannot fit one string (over about 512 MB) is refused by its size, before it is read: it was
 * read whole and then reported as "not UTF-8 text". Sparse, so the test writes nothing to disk.
 */
it('a file argument too large to read is refused by its size', async () => {
  const file = join(scratch(), 'contacts.jsonl');
  writeFileSync(file, '');
  truncateSync(file, constants.MAX_STRING_LENGTH + 1);
  const run = await cli('contact', 'import', '--tenant', 'acme', file);
  expect(run.code).toBe(2);
  const limit = constants.MAX_STRING_LENGTH;
  expect(run.stderr.trim()).toBe(
    `crm-sync: ${file} is too large to read (${limit + 1} bytes; at most ${limit}, about 512 MB): split it into smaller files`,
  );
}, 60_000);
