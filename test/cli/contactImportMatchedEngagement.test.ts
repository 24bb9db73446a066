import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliEnv, runCli } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { tempDirs } from '../support/tempDirs.ts';

const scratch = tempDirs('crm-sync-import-matched-engagement-');

const jsonLines = (lines: object[]) => lines.map((line) => `${JSON.stringify(line)}\n`).join('');

/**
 * A lead imported again from another NurtureHub export, now with its opens, intent score and enrolment, matches the
 * contact already held: it is not created, and its engagement (NurtureHub's own) is added rather than discarded.
 * Counters take the higher count and instants the later one, so a second import of the file changes nothing; the
 * contact fields stay as held (the CRM owns them), as do an intent score or enrolment the contact already has.
 */
it('adds a matched line’s engagement the contact lacks, once, leaving its contact fields', async () => {
  const dir = scratch();
  const env = cliEnv(await seededDataDir(join(dir, 'data')));
  expect((await runCli(env, ['tenant', 'add', 'acme'])).code).toBe(0);
  const first = join(dir, 'first.jsonl');
  writeFileSync(
    first,
    jsonLines([{ firstName: 'Priya', lastName: 'Ramanathan', email: 'priya.r@example.net' }]),
  );
  const created = await runCli(env, ['contact', 'import', '--tenant', 'acme', first, '--json']);
  expect(created.code, created.stderr).toBe(0);
  const [{ id }] = JSON.parse(created.stdout).created as [{ id: string }];
  const opened = await runCli(env, [
    'engagement',
    'add',
    '--tenant',
    'acme',
    '--contact',
    id,
    '--type',
    'open',
    '--at',
    '2025-06-03T10:00:00Z',
    '--event-id',
    'nh-1',
  ]);
  expect(opened.code, opened.stderr).toBe(0);

  const enrolment = {
    sequenceId: 'spring-valuations',
    step: 2,
    state: 'active',
    enrolledAt: '2025-05-20T08:00:00Z',
  };
  const second = join(dir, 'second.jsonl');
  writeFileSync(
    second,
    jsonLines([
      {
        firstName: 'Priya',
        lastName: 'Ramanathan',
        email: 'priya.r@example.net',
        mobilePhone: '07700 900461',
        emailOpens: 3,
        lastOpenedAt: '2025-06-01T09:30:00Z',
        intentScore: 70,
        nurtureSequence: enrolment,
      },
      {
        firstName: 'Priya',
        lastName: 'Ramanathan',
        email: 'priya.r@example.net',
        emailClicks: 2,
        lastClickedAt: '2025-06-02T12:00:00Z',
        intentScore: 40,
      },
    ]),
  );
  const imported = await runCli(env, ['contact', 'import', '--tenant', 'acme', second]);
  expect(imported.code, imported.stderr).toBe(0);
  expect(imported.stdout).toMatch(
    new RegExp(`line 1: matches ${id}: .*; engagement added: emailOpens, intentScore, nurtureSequence\\n`),
  );
  expect(imported.stdout).toMatch(
    new RegExp(`line 2: matches ${id}: .*; engagement added: emailClicks, lastClickedAt\\n`),
  );

  const expected = {
    firstName: 'Priya',
    lastName: 'Ramanathan',
    email: 'priya.r@example.net',
    mobilePhone: null,
    emailOpens: 3,
    emailClicks: 2,
    lastOpenedAt: '2025-06-03T10:00:00.000Z',
    // Instants are kept in UTC to the millisecond, whatever spelling the file gave.
    lastClickedAt: '2025-06-02T12:00:00.000Z',
    intentScore: 70,
    nurtureSequence: { ...enrolment, enrolledAt: '2025-05-20T08:00:00.000Z' },
  };
  const listed = async () => {
    const run = await runCli(env, ['contact', 'list', '--tenant', 'acme', '--json']);
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as Array<{ id: string; contact: Record<string, unknown> }>;
  };
  const afterFirst = await listed();
  expect(afterFirst.map((c) => c.id)).toEqual([id]);
  expect(afterFirst[0]?.contact).toMatchObject(expected);

  const again = await runCli(env, ['contact', 'import', '--tenant', 'acme', second, '--json']);
  expect(again.code, again.stderr).toBe(0);
  const outcome = JSON.parse(again.stdout) as {
    created: unknown[];
    matched: Array<{ line: number; matchedId: string; engagementAdded: string[] }>;
  };
  expect(outcome.created).toEqual([]);
  expect(
    outcome.matched.map(({ line, matchedId, engagementAdded }) => ({ line, matchedId, engagementAdded })),
  ).toEqual([
    { line: 1, matchedId: id, engagementAdded: [] },
    { line: 2, matchedId: id, engagementAdded: [] },
  ]);
  expect(await listed()).toEqual(afterFirst);
}, 300_000);
