import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliArgs } from '../support/cliProcess.ts';
import { tempDirs } from '../support/tempDirs.ts';

const run = (...args: string[]) => {
  const result = spawnSync(process.execPath, cliArgs(['dedupe', ...args]), {
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};

const csv = join(tempDirs('dedupe-')(), 'contacts.csv');
writeFileSync(
  csv,
  [
    'ref, first, last, number, street, mail',
    'a1, Robert, Ashworth, 12, High Street, rob@ashworth.me',
    'a2, Ann, Nowak, 3, Mill Lane, ann@nowak.me',
    '"a,3", Bob, ASHWORTH, 12, High St, ROB@ashworth.me',
  ].join('\n'),
);

describe('crm-sync dedupe', () => {
  it('prints id,cluster for every row, the cluster named by its first row', () => {
    const { code, stdout } = run(
      csv,
      '--id',
      'ref',
      '--map',
      'firstName=first',
      'lastName=last',
      'address.line1=number+street',
      '--map',
      'email=mail',
    );
    expect(code).toBe(0);
    expect(stdout).toBe('id,cluster\na1,a1\na2,a2\n"a,3",a1\n');
  });

  it.each([
    [['--id', 'nope', '--map', 'firstName=first'], /no column "nope"/],
    [['--id', 'ref', '--map', 'firstName=absent'], /no column "absent"/],
    [['--id', 'ref', '--map', 'forename=first'], /unknown field "forename"/],
    [['--id', 'ref', '--map', 'firstName=first', '--map', 'firstName=ref'], /firstName is mapped twice/],
  ])('exits 2 with one line for %j', (args, message) => {
    const { code, stderr } = run(csv, ...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('prints the header alone for a file of no rows', () => {
    const headerOnly = join(tempDirs('dedupe-')(), 'header-only.csv');
    writeFileSync(headerOnly, 'ref,first\n');
    const { code, stdout } = run(headerOnly, '--id', 'ref', '--map', 'firstName=first');
    expect(code).toBe(0);
    expect(stdout).toBe('id,cluster\n');
  });

  it('exits 2 when two rows share an id, since the output pairs ids, naming the rows as the file numbers them', () => {
    const repeated = join(tempDirs('dedupe-')(), 'repeated.csv');
    writeFileSync(repeated, 'ref,first\nx1,Ann\nx2,Bob\nx1,Cy\n');
    const { code, stderr } = run(repeated, '--id', 'ref', '--map', 'firstName=first');
    expect(code).toBe(2);
    expect(stderr).toMatch(/rows 2 and 4 have the same ref "x1"/);
    // A blank line is a row of the spreadsheet too.
    writeFileSync(repeated, 'ref,first\nx1,Ann\n\nx2,Bob\nx1,Cy\n');
    expect(run(repeated, '--id', 'ref', '--map', 'firstName=first').stderr).toMatch(
      /rows 2 and 5 have the same ref "x1"/,
    );
  });

  it.each([
    ['an empty file', '', /empty\.csv is empty: expected a header row/],
    ['a column named twice', 'ref,first,first\nx1,Ann,Bo\n', /column "first" appears twice in the header/],
    ['a row without an id', 'ref,first\nx1,Ann\n,Bob\n', /row 3 has no ref; each row needs its own/],
  ])('exits 2 with one line for %s', (_, text, message) => {
    const file = join(tempDirs('dedupe-')(), 'empty.csv');
    writeFileSync(file, text);
    const { code, stderr } = run(file, '--id', 'ref', '--map', 'firstName=first');
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('reads a file whose lines end in CR alone (an old Mac export)', () => {
    const mac = join(tempDirs('dedupe-')(), 'mac.csv');
    writeFileSync(
      mac,
      'ref,first,last,mail\rx1,Ann,Nowak,ann@nowak.me\rx2,Ann,Nowak,ann@nowak.me\rx3,Bob,Ashworth,bob@ash.me\r',
    );
    const { code, stdout, stderr } = run(
      mac,
      '--id',
      'ref',
      '--map',
      'firstName=first',
      'lastName=last',
      'email=mail',
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toBe('id,cluster\nx1,x1\nx2,x1\nx3,x3\n');
  });

  it('reads a file whose lines end both ways (two exports joined)', () => {
    const joined = join(tempDirs('dedupe-')(), 'joined.csv');
    writeFileSync(joined, 'ref,first,last\r\nx1,Ann,Nowak\r\nx2,Ann,Nowak\nx3,Bob,Ashworth\n');
    const { code, stdout } = run(joined, '--id', 'ref', '--map', 'firstName=first', 'lastName=last');
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe('id,cluster');
    expect(stdout.trim().split('\n')).toHaveLength(4);
  });

  it('exits 2 when the file cannot be read', () => {
    const { code, stderr } = run(
      join(tmpdir(), 'missing-dedupe.csv'),
      '--id',
      'ref',
      '--map',
      'firstName=first',
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/cannot read/);
  });
});
