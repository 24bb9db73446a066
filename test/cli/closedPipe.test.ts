import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliArgs, cliEnv, runCli } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { tempDirs } from '../support/tempDirs.ts';

/**
 * `crm-sync contact list --json | head` (or `audit --json | less`, quit early): the reader closes the pipe while the
 * command still writes. That ended it with an uncaught EPIPE and a stack trace on stderr; it now stops quietly.
 */
const TIMEOUT_MS = 300_000;
const dataDir = (() => {
  const root = tempDirs('crm-sync-pipe-');
  return () => seededDataDir(join(root(), 'data'));
})();

describe('output to a pipe the reader closes early', () => {
  it(
    'ends the command quietly, exit 0, no stack trace',
    async () => {
      const dir = await dataDir();
      const env = cliEnv(dir);
      expect((await runCli(env, ['tenant', 'add', 'acme'])).code).toBe(0);
      // About 300 kB of --json: far beyond what a pipe holds before the reader has gone.
      const leads = Array.from({ length: 600 }, (_, i) =>
        JSON.stringify({ firstName: `Lead${i}`, lastName: `Person${i}`, email: `lead${i}@example.org` }),
      );
      const file = join(dir, '..', 'leads.jsonl');
      writeFileSync(file, `${leads.join('\n')}\n`);
      const imported = await runCli(env, ['contact', 'import', '--tenant', 'acme', file]);
      expect(imported.code, imported.stderr).toBe(0);

      const child = spawn(process.execPath, cliArgs(['contact', 'list', '--tenant', 'acme', '--json']), {
        env,
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      // `head -c`: take the first chunk, then close the pipe.
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      child.stdout.destroy();
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    },
    TIMEOUT_MS,
  );
});
