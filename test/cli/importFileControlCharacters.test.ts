import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { readJsonLines } from '../../src/cli/jsonLines.ts';
import { identifiableContactSchema } from '../../src/core/schemas.ts';
import { cliEnv, runCli } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { tempDirs } from '../support/tempDirs.ts';

const scratch = tempDirs('crm-sync-import-controls-');
const ESC = '\u001b';

/**
 * docs/cli.md: a control character in a name, value or message is shown as its JSON escape, never written to the
 * terminal. An import file's bad line is reported as `FILE:LINE: problem`; zod's problem for an unknown key quotes
 * the key, which comes from the file.
 */
it('an invalid import line naming a key with a control character is reported escaped', () => {
  const file = join(scratch(), 'leads.jsonl');
  writeFileSync(file, `{"firstName":"Priya","\\u001b]0;pwned\\u0007\\u001b[2J":1}\n`);
  const written: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  try {
    expect(() => readJsonLines(file, identifiableContactSchema)).toThrow(/1 invalid line/);
  } finally {
    spy.mockRestore();
  }
  const stderr = written.join('');
  expect(stderr).toContain(':1: Unrecognized key');
  expect(stderr).not.toContain(ESC);
  expect(stderr).toContain('\\u001b[2J');
});

/** The human report of `engagement import` lists the event ids whose contact the tenant lacks, as the file gave them. */
it('engagement import lists an unknown contact’s event id with its control characters escaped', async () => {
  const dir = scratch();
  const env = cliEnv(await seededDataDir(join(dir, 'data')));
  expect((await runCli(env, ['tenant', 'add', 'acme'])).code).toBe(0);
  const file = join(dir, 'events.jsonl');
  const event = {
    eventId: `nh-1${ESC}[2J${ESC}]0;pwned\u0007`,
    contactId: '4832ac2d-7260-577e-9101-70d53e03d00e',
    type: 'open',
    at: '2025-06-01T09:30:00Z',
  };
  writeFileSync(file, `${JSON.stringify(event)}\n`);
  const run = await runCli(env, ['engagement', 'import', '--tenant', 'acme', file]);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toContain('unknown contact: nh-1');
  expect(run.stdout).not.toContain(ESC);
}, 240_000);
