import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ITEMS_PER_PAGE } from '../../src/cli/audit.ts';
import { openApp } from '../../src/main.ts';
import { credentialsSchema } from '../../src/persistence/records.ts';
import { commitDuplicatesAudit } from '../support/auditEntries.ts';
import { cliArgs } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { startSimulator } from '../support/simulators.ts';
import { tempDirs } from '../support/tempDirs.ts';

/** The real CLI as a child process on its own embedded database; never a Postgres the caller may have set. */
function cli(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { DATABASE_URL: _ignored, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      cliArgs(args),
      { env: { ...env, CRM_SYNC_DATA_DIR: dataDir }, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A usage error: exit 2 and exactly one line on stderr matching `message`. */
function expectUsageError(run: { code: number; stderr: string }, message: RegExp): void {
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(message);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
}

async function json<T>(run: Promise<{ code: number; stdout: string; stderr: string }>): Promise<T> {
  const { code, stdout, stderr } = await run;
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as T;
}

/**
 * The second case spawns the CLI about fifteen times in sequence, ~1.5–2.5 s each on an idle two-core machine
 * (the whole file takes about 40 s); the margin is for a machine busy with other suites, where a spawn can take
 * ten times as long.
 */
const TIMEOUT_MS = 300_000;

const freshRoot = tempDirs('crm-sync-cli-');
const freshDataDir = () => seededDataDir(join(freshRoot(), 'data'));

const sim = await startSimulator('reapit', { contacts: 30, seed: 3 });
afterAll(() => sim.close());

/**
 * Tenant `bigco` with a Reapit connection whose audit log holds an entry of more than two of the pages `--json`
 * reads a list in, then a small one; written straight to the data directory, before any CLI opens it.
 */
async function seedAudit(dataDir: string) {
  const opened = await openApp({ command: 'test', source: { CRM_SYNC_DATA_DIR: dataDir } });
  if (!opened.ok) throw new Error(opened.error.message);
  const { store } = opened.value;
  try {
    const tenant = await store.createTenant({ name: 'bigco', syncIntervalSeconds: 900 });
    if (!tenant.ok) throw new Error(tenant.error.message);
    const connection = await store.addConnection({
      tenantId: tenant.value.id,
      provider: 'reapit',
      baseUrl: sim.baseUrl,
      credentials: credentialsSchema.parse(sim.credentials),
      nextRunAt: new Date(),
    });
    if (!connection.ok) throw new Error(connection.error.message);
    const ref = { tenantId: tenant.value.id, connectionId: connection.value.id };
    const large = await commitDuplicatesAudit(store, ref, 2 * ITEMS_PER_PAGE + 345);
    return { large, small: await commitDuplicatesAudit(store, ref, 3) };
  } finally {
    await opened.value.close();
  }
}

describe('crm-sync operator commands', () => {
  it.concurrent(
    'adds tenants, changes their interval, and refuses bad arguments without changing anything',
    async () => {
      const dir = await freshDataDir();
      const added = await cli(dir, 'tenant', 'add', 'Harbour Lettings', '--interval', '15m');
      expect(added.code, added.stderr).toBe(0);
      // A name typed with stray spaces finds the tenant, as `tenant add` trimmed it.
      expect((await cli(dir, 'tenant', 'set-interval', ' Harbour Lettings ', '5m')).code).toBe(0);

      // A bad interval is refused before the database is opened, so it may run beside the other.
      const [badInterval, badOption, ghost, hexTick, exponentContacts] = await Promise.all([
        cli(dir, 'tenant', 'set-interval', 'Harbour Lettings', '5x'),
        cli(dir, 'tenant', 'list', '--bogus'),
        cli(dir, 'tenant', 'set-interval', 'Nobody & Co', '10m'),
        // Numbers are decimal digits (`Number` alone would read 0x10 as 16 and 1e3 as 1000).
        cli(dir, 'worker', '--tick-ms', '0x10000'),
        cli(dir, 'demo', '--once', '--contacts', '1e3'),
      ]);
      expectUsageError(badInterval, /malformed interval "5x"/);
      expectUsageError(hexTick, /--tick-ms must be an integer from 100 to 3600000, got "0x10000"/);
      expectUsageError(exponentContacts, /--contacts must be an integer from 10 to 100000, got "1e3"/);
      expectUsageError(badOption, /^crm-sync: unknown option '--bogus'$/m);
      expectUsageError(ghost, /unknown tenant "Nobody & Co"/);
      // A name is printed in tables and one-line messages.
      expectUsageError(await cli(dir, 'tenant', 'add', 'Two\nLines'), /name: expected no control characters/);

      const tenants = await json<Array<{ name: string; interval: string; intervalSeconds: number }>>(
        cli(dir, 'tenant', 'list', '--json'),
      );
      expect(tenants).toEqual([
        expect.objectContaining({ name: 'Harbour Lettings', interval: '5m', intervalSeconds: 300 }),
      ]);

      // A running serve/worker holds the embedded database: one line naming it, exit 2.
      const holder = await openApp({ command: 'crm-sync serve', source: { CRM_SYNC_DATA_DIR: dir } });
      if (!holder.ok) throw new Error(holder.error.message);
      try {
        expectUsageError(
          await cli(dir, 'tenant', 'list'),
          new RegExp(`in use by pid ${process.pid} .*crm-sync serve`),
        );
        // A second worker cannot go through the first: it is told to stop the holder, nothing about its API.
        const second = await cli(dir, 'worker');
        expectUsageError(
          second,
          new RegExp(`cannot start worker: crm-sync serve \\(pid ${process.pid} .*stop it first`),
        );
        expect(second.stderr).not.toMatch(/admin API/);
      } finally {
        await holder.value.close();
      }
    },
    TIMEOUT_MS,
  );

  it.concurrent(
    'connects a tenant to Reapit, imports leads and events, syncs, and reports status and audit',
    async () => {
      const dir = await freshDataDir();
      const credentials = JSON.stringify(sim.credentials);
      const add = (...extra: string[]) =>
        cli(dir, 'connection', 'add', '--tenant', 'acme', '--base-url', sim.baseUrl, ...extra);
      expect((await cli(dir, 'tenant', 'add', 'acme')).code).toBe(0);
      const connected = await add('--provider', 'reapit', '--credentials', credentials);
      expect(connected.code, connected.stderr).toBe(0);
      expect(connected.stdout).not.toContain(String(sim.credentials.clientSecret));

      // Only the unknown tenant needs the database (one process at a time); the others fail before opening it.
      const [
        badJson,
        badFields,
        badProvider,
        badInstant,
        futureInstant,
        emptyEventId,
        yearZero,
        userInUrl,
        queryInUrl,
        ghost,
      ] = await Promise.all([
        add('--provider', 'reapit', '--credentials', '{"clientId": '),
        add('--provider', 'reapit', '--credentials', '{"clientId":"x"}'),
        add('--provider', 'salesforce', '--credentials', credentials),
        cli(
          dir,
          ...`engagement add --tenant acme --type open --at yesterday --event-id e`.split(' '),
          '--contact',
          randomUUID(),
        ),
        cli(
          dir,
          ...`engagement add --tenant acme --type open --at 2999-01-01T00:00:00Z --event-id e`.split(' '),
          '--contact',
          randomUUID(),
        ),
        cli(
          dir,
          ...`engagement add --tenant acme --type open --at 2025-06-01T09:30:00Z`.split(' '),
          '--event-id',
          '',
          '--contact',
          randomUUID(),
        ),
        cli(
          dir,
          ...`engagement add --tenant acme --type open --at 0000-01-01T00:00:00Z --event-id e`.split(' '),
          '--contact',
          randomUUID(),
        ),
        cli(
          dir,
          ...`connection add --tenant acme --provider loop --base-url http://admin:hunter2@127.0.0.1:1`.split(
            ' ',
          ),
          '--credentials',
          '{}',
        ),
        cli(
          dir,
          ...`connection add --tenant acme --provider loop --base-url https://crm.example.com/api?office=1`.split(
            ' ',
          ),
          '--credentials',
          '{}',
        ),
        cli(
          dir,
          ...`connection add --tenant ghost --provider reapit --base-url ${sim.baseUrl}`.split(' '),
          '--credentials',
          credentials,
        ),
      ]);
      expectUsageError(badJson, /--credentials is not valid JSON/);
      expectUsageError(badFields, /--credentials do not fit reapit: clientSecret: required/);
      expectUsageError(badProvider, /unknown provider "salesforce"/);
      expectUsageError(badInstant, /--at: expected an ISO 8601/);
      expectUsageError(futureInstant, /--at: is more than a day in the future/);
      expectUsageError(emptyEventId, /--event-id: expected 1 to 200 characters/);
      expectUsageError(yearZero, /--at: expected a year from 0001/);
      expectUsageError(userInUrl, /--base-url must not hold a user name or password/);
      expect(userInUrl.stderr).not.toContain('hunter2');
      expectUsageError(queryInUrl, /--base-url must not hold a query \(\?…\) or fragment/);
      expectUsageError(ghost, /unknown tenant "ghost"/);
      const connections = await cli(dir, 'connection', 'list', '--json');
      expect(JSON.parse(connections.stdout)).toEqual([
        expect.objectContaining({ tenant: 'acme', provider: 'reapit', enabled: true, cursor: null }),
      ]);
      expect(connections.stdout).not.toContain(String(sim.credentials.clientSecret));

      type Status = { tenant: string; provider: string; state: string; cursor: unknown; attempt: number };
      const before = await json<Status[]>(cli(dir, 'status', '--tenant', 'acme', '--json'));
      expect(before).toEqual([
        expect.objectContaining({
          tenant: 'acme',
          provider: 'reapit',
          state: 'idle',
          cursor: null,
          attempt: 0,
          resumeAt: null,
          lastError: null,
        }),
      ]);

      // Web leads: the second line is the first person again, so one contact is created for two lines.
      const leads = join(dir, '..', 'leads.jsonl');
      writeFileSync(
        leads,
        [
          {
            firstName: 'Priya',
            lastName: 'Ramanathan',
            email: 'priya.r@example.net',
            mobilePhone: '07700 900461',
          },
          { firstName: 'Priya', lastName: 'Ramanathan', email: 'PRIYA.R@example.net' },
          { firstName: 'Tomasz', lastName: 'Oyelaran', email: 'tomasz.oyelaran@example.org' },
          { firstName: 'Tomasz', lastName: 'Oyelaran', email: 'tomasz.oyelaran@example.org' },
        ]
          .map((line) => JSON.stringify(line))
          .join('\n'),
      );
      type Imported = {
        created: Array<{ line: number; id: string }>;
        matched: Array<{ line: number; matchedId: string; reason: string; engagementAdded: string[] }>;
      };
      const first = await json<Imported>(cli(dir, 'contact', 'import', '--tenant', 'acme', leads, '--json'));
      expect(first.created.map((c) => c.line)).toEqual([1, 3]);
      expect(first.matched).toEqual([
        expect.objectContaining({ line: 2, matchedId: first.created[0]?.id }),
        {
          line: 4,
          matchedId: first.created[1]?.id,
          reason: 'the same contact as line 3',
          engagementAdded: [],
          consentWithdrawn: false,
        },
      ]);
      const again = await json<Imported>(cli(dir, 'contact', 'import', '--tenant', 'acme', leads, '--json'));
      expect(again.created).toEqual([]);
      expect(again.matched).toHaveLength(4);
      expect(again.matched[3]?.reason).toBe('the same contact was imported before');

      // A line naming no one, and a file that is not UTF-8: refused whole, before the database is opened.
      const blank = join(dir, '..', 'blank.jsonl');
      // A phone that reads as no number (`abc`) reaches nobody either.
      writeFileSync(blank, '{"firstName":"Ann"}\n{}\n{"mobilePhone":"abc"}\n');
      const latin1 = join(dir, '..', 'latin1.jsonl');
      writeFileSync(latin1, Buffer.from('{"firstName":"Zo\xeb","lastName":"Bin"}\n', 'latin1'));
      const [blankRun, latin1Run] = await Promise.all([
        cli(dir, 'contact', 'import', '--tenant', 'acme', blank),
        cli(dir, 'contact', 'import', '--tenant', 'acme', latin1),
      ]);
      // Each bad line, then the refusal.
      expect(blankRun.code).toBe(2);
      expect(blankRun.stderr).toMatch(
        /blank\.jsonl:2: expected at least a name, an e-mail address or a phone number/,
      );
      expect(blankRun.stderr).toMatch(
        /blank\.jsonl:3: expected at least a name, an e-mail address or a phone number/,
      );
      expectUsageError(latin1Run, /latin1\.jsonl is not UTF-8 text/);

      const priya = first.created[0]?.id ?? '';
      const event = ['engagement', 'add', '--tenant', 'acme', '--contact', priya, '--type', 'open'];
      const sameEvent = ['--at', '2025-06-01T09:30:00Z', '--event-id', 'nh-ev-1', '--json'];
      const once = await cli(dir, ...event, ...sameEvent);
      const twice = await cli(dir, ...event, ...sameEvent);
      expect(JSON.parse(once.stdout)).toMatchObject({ inserted: ['nh-ev-1'], duplicates: [] });
      expect(JSON.parse(twice.stdout)).toMatchObject({ inserted: [], duplicates: ['nh-ev-1'] });
      // A file repeating an event, and repeating one already recorded: each repeat is a duplicate.
      const events = join(dir, '..', 'events.jsonl');
      const click = (eventId: string) => ({
        eventId,
        contactId: priya,
        type: 'click',
        at: '2025-06-02T09:30:00Z',
      });
      writeFileSync(
        events,
        [
          { eventId: 'nh-ev-1', contactId: priya, type: 'open', at: '2025-06-01T09:30:00Z' },
          click('nh-ev-2'),
          click('nh-ev-2'),
        ]
          .map((line) => JSON.stringify(line))
          .join('\n'),
      );
      const imported = await cli(dir, 'engagement', 'import', '--tenant', 'acme', events, '--json');
      expect(JSON.parse(imported.stdout)).toEqual({
        inserted: ['nh-ev-2'],
        duplicates: ['nh-ev-1', 'nh-ev-2'],
        unknownContact: [],
      });
      // An id repeated for another contact is not a duplicate to drop: the file is refused, naming both lines; the
      // first 20 such lines, as for any bad line, then a count.
      const clash = join(dir, '..', 'clash.jsonl');
      writeFileSync(
        clash,
        [randomUUID(), ...Array.from({ length: 22 }, () => priya)]
          .map((contactId) =>
            JSON.stringify({ eventId: 'nh-ev-3', contactId, type: 'click', at: '2025-06-02T09:30:00Z' }),
          )
          .join('\n'),
      );
      const clashRun = await cli(dir, 'engagement', 'import', '--tenant', 'acme', clash);
      expect(clashRun.code).toBe(2);
      expect(clashRun.stderr).toMatch(
        /clash\.jsonl:2: event nh-ev-3 repeats an earlier event id with another contact, type or time \(line 1\)/,
      );
      expect(clashRun.stderr).toContain('clash.jsonl:21:');
      expect(clashRun.stderr).not.toContain('clash.jsonl:22:');
      expect(clashRun.stderr).toMatch(/… and 2 more\n.*22 invalid line\(s\); nothing imported/);
      // So is a file repeating, as another event, an id recorded before: one line naming it, nothing imported.
      const recorded = join(dir, '..', 'recorded.jsonl');
      writeFileSync(
        recorded,
        ['nh-ev-4', 'nh-ev-2']
          .map((eventId) =>
            JSON.stringify({ eventId, contactId: priya, type: 'open', at: '2025-06-02T09:30:00Z' }),
          )
          .join('\n'),
      );
      expectUsageError(
        await cli(dir, 'engagement', 'import', '--tenant', 'acme', recorded),
        /^crm-sync: event nh-ev-2 was recorded earlier with another contact, type or time; nothing imported$/m,
      );

      type Contact = { id: string; contact: { email: string | null; emailOpens: number }; links: unknown[] };
      const contacts = await json<Contact[]>(cli(dir, 'contact', 'list', '--tenant', 'acme', '--json'));
      expect(contacts).toHaveLength(2);
      expect(contacts.find((c) => c.id === priya)?.contact.emailOpens).toBe(1);

      const synced = await json<Status[]>(cli(dir, 'sync', '--tenant', 'acme', '--json'));
      expect(synced).toEqual([expect.objectContaining({ provider: 'reapit', state: 'idle' })]);
      const after = await json<Status[]>(cli(dir, 'status', '--tenant', 'acme', '--json'));
      expect(after).toEqual([
        expect.objectContaining({
          state: 'idle',
          cursor: expect.objectContaining({ externalId: expect.any(String) }),
          attempt: 0,
        }),
      ]);
      // The cycle created the leads in Reapit (they had no origin connection).
      const records = JSON.stringify(await sim.control.records()).toLowerCase();
      expect(records).toContain('priya.r@example.net');
      expect(records).toContain('tomasz.oyelaran@example.org');

      type Audit = {
        cycleId: string;
        tenant: string;
        provider: string;
        outcome: string;
        window: { from: unknown; to: string };
        fetched: number;
        written: { created: number; updated: number; unchanged: number };
        conflicts: unknown[];
        duplicatesSuppressed: unknown[];
        errors: unknown[];
        startedAt: string;
        finishedAt: string;
      };
      const audit = await json<Audit[]>(cli(dir, 'audit', '--tenant', 'acme', '--json'));
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({
        tenant: 'acme',
        provider: 'reapit',
        outcome: 'completed',
        window: { from: null },
      });
      expect(audit[0]?.fetched).toBeGreaterThan(0);
      expect(audit[0]?.written.created).toBe(2);
      expect(Array.isArray(audit[0]?.duplicatesSuppressed)).toBe(true);
    },
    TIMEOUT_MS,
  );

  it.concurrent(
    'sync leaves a connection in error as it is: not run, the way on named, its next run kept',
    async () => {
      const dir = await freshDataDir();
      const refused = JSON.stringify({ ...sim.credentials, clientSecret: 'revoked' });
      expect((await cli(dir, 'tenant', 'add', 'harbour')).code).toBe(0);
      const added = await cli(
        dir,
        ...`connection add --tenant harbour --provider reapit --base-url ${sim.baseUrl}`.split(' '),
        '--credentials',
        refused,
      );
      expect(added.code, added.stderr).toBe(0);
      type Status = { state: string; errorReason: string | null; nextRunAt: string; runError?: string };
      const sync = () => cli(dir, 'sync', '--tenant', 'harbour', '--json');
      const first = await sync();
      expect(first.code).toBe(1);
      const [stopped] = JSON.parse(first.stdout) as Status[];
      expect(stopped).toMatchObject({ state: 'error', errorReason: 'auth_failed' });
      expect(stopped?.runError).toBeUndefined();

      const again = await sync();
      expect(again.code).toBe(1);
      const [left] = JSON.parse(again.stdout) as Status[];
      expect(left?.runError).toBe(
        'connection is in error (auth_failed): a sync does not lead it out; retry does ' +
          '(crm-sync retry --tenant harbour --provider reapit) once the cause is fixed',
      );
      // Nothing ran: the next run is where the first sync left it, not pushed an interval on.
      expect(left?.nextRunAt).toBe(stopped?.nextRunAt);
    },
    TIMEOUT_MS,
  );

  it.concurrent(
    'audit --json lists every item of an entry longer than a page; people get five and the full count',
    async () => {
      const dir = await freshDataDir();
      const { large, small } = await seedAudit(dir);

      type Audit = { id: number; cycleId: string; duplicatesSuppressed: unknown[] };
      const audit = await json<Audit[]>(cli(dir, 'audit', '--tenant', 'bigco', '--json'));
      expect(audit.map((e) => e.id)).toEqual([small.auditId, large.auditId]);
      expect(audit.map((e) => e.duplicatesSuppressed)).toEqual([small.duplicates, large.duplicates]);
      expect(audit[1]).toMatchObject({ tenant: 'bigco', provider: 'reapit', conflicts: [], errors: [] });
      expect(Object.keys(audit[1] ?? {})).toEqual([
        ...['id', 'cycleId', 'tenant', 'provider', 'connectionId', 'outcome', 'window', 'fetched', 'written'],
        ...['conflicts', 'duplicatesSuppressed', 'errors', 'startedAt', 'finishedAt'],
      ]);

      const human = await cli(dir, 'audit', '--tenant', 'bigco');
      expect(human.code, human.stderr).toBe(0);
      const lines = human.stdout.split('\n');
      const row = lines.findIndex((line) => line.endsWith(audit[1]?.cycleId ?? '?'));
      expect(lines[row]).toMatch(/ 0 +2345 +0 +\S+$/);
      expect(lines.slice(row + 1)).toEqual([
        ...large.duplicates.slice(0, 5).map((d) => `    duplicate ${d.incoming} → ${d.matched}: ${d.reason}`),
        '    … 2340 more duplicates (audit --json lists them all)',
        '',
      ]);
    },
    TIMEOUT_MS,
  );
});
