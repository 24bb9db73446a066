import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, runCli } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { tempDirs } from '../support/tempDirs.ts';

const scratch = tempDirs('crm-sync-import-future-');

/**
 * A lead whose last open or click is dated far ahead would keep that instant for good (engagement only ever moves
 * it later) and push it to every CRM: `contact import` refuses it, as engagement ingest and the API's contact edit
 * do, naming the line and the field, and imports nothing from the file.
 */
it('refuses a lead whose last open or click is more than a day ahead, naming the line, importing nothing', async () => {
  const dir = scratch();
  const env = cliEnv(await seededDataDir(join(dir, 'data')));
  const added = await runCli(env, ['tenant', 'add', 'acme']);
  expect(added.code, added.stderr).toBe(0);
  const leads = join(dir, 'leads.jsonl');
  const ahead = new Date(Date.now() + 3 * 24 * 3_600_000).toISOString();
  writeFileSync(
    leads,
    [
      { firstName: 'Priya', email: 'priya@example.net', lastOpenedAt: '2025-06-01T09:30:00Z' },
      { firstName: 'Tom', email: 'tom@example.org', lastOpenedAt: ahead },
      { firstName: 'Ann', email: 'ann@example.org', lastClickedAt: '2099-01-01T00:00:00Z' },
    ]
      .map((line) => `${JSON.stringify(line)}\n`)
      .join(''),
  );

  const run = await runCli(env, ['contact', 'import', '--tenant', 'acme', leads]);
  expect(run.code).toBe(2);
  expect(run.stderr.trim().split('\n')).toEqual([
    `${leads}:2: lastOpenedAt: is more than a day in the future`,
    `${leads}:3: lastClickedAt: is more than a day in the future`,
    `crm-sync: ${leads}: 2 invalid line(s); nothing imported`,
  ]);
  const listed = await runCli(env, ['contact', 'list', '--tenant', 'acme', '--json']);
  expect(JSON.parse(listed.stdout)).toEqual([]);
}, 300_000);
