import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { openApp } from '../../src/main.ts';
import { cliEnv, runCli } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { must } from '../support/syncHarness.ts';
import { tempDirs } from '../support/tempDirs.ts';

const scratch = tempDirs('crm-sync-engagement-import-');
const dir = scratch();
/** Tenant `acme` with one contact, written straight to the data directory before any CLI opens it. */
const seeded = { env: {} as NodeJS.ProcessEnv, contactId: randomUUID() };

beforeAll(async () => {
  const dataDir = await seededDataDir(join(dir, 'data'));
  const source = { CRM_SYNC_DATA_DIR: dataDir };
  const opened = must(await openApp({ command: 'test', source, notice: () => {} }));
  try {
    const tenant = must(await opened.store.createTenant({ name: 'acme', syncIntervalSeconds: 900 }));
    const contacts = [{ id: seeded.contactId, contact: { firstName: 'Priya', email: 'priya@example.net' } }];
    must(await opened.store.upsertContacts({ tenantId: tenant.id, contacts, now: new Date() }));
  } finally {
    await opened.close();
  }
  seeded.env = cliEnv(dataDir);
}, 120_000);

const writeEvents = (name: string, events: object[]) => {
  const file = join(dir, name);
  writeFileSync(file, events.map((event) => `${JSON.stringify(event)}\n`).join(''));
  return file;
};

/**
 * The import sends the file in batches of 1,000. Each batch's events for no contact were appended to the last's,
 * so one such event repeated in a later batch was listed twice, and counted twice ("unknown contact" counts the
 * same list).
 */
it('lists an event for an unknown contact once when a later batch of the file repeats it', async () => {
  const nobody = randomUUID();
  const event = (n: number) => ({
    eventId: `u-${n}`,
    contactId: nobody,
    type: 'open',
    at: '2025-06-01T09:30:00Z',
  });
  const events = Array.from({ length: 1_000 }, (_, i) => event(i + 1));
  const file = writeEvents('unknown.jsonl', [...events, event(1)]);

  const json = await runCli(seeded.env, ['engagement', 'import', '--tenant', 'acme', file, '--json']);
  expect(json.code, json.stderr).toBe(0);
  expect(JSON.parse(json.stdout)).toEqual({
    inserted: [],
    duplicates: [],
    unknownContact: events.map((e) => e.eventId),
  });
}, 300_000);

/**
 * `z.uuid()` takes a contact id in capitals, and PostgreSQL reads it as the same contact; compared as text, the
 * same event written so on a second line refused the whole file as an event id reused for another contact.
 */
it('takes a contact id in capitals as the same contact: a repeat so spelt is a duplicate, not a refusal', async () => {
  const file = writeEvents('capitals.jsonl', [
    { eventId: 'e1', contactId: seeded.contactId, type: 'open', at: '2025-06-01T09:30:00Z' },
    {
      eventId: 'e1',
      contactId: seeded.contactId.toUpperCase(),
      type: 'open',
      at: '2025-06-01T10:30:00+01:00',
    },
  ]);
  const run = await runCli(seeded.env, ['engagement', 'import', '--tenant', 'acme', file, '--json']);
  expect(run.code, run.stderr).toBe(0);
  expect(JSON.parse(run.stdout)).toEqual({ inserted: ['e1'], duplicates: ['e1'], unknownContact: [] });
}, 300_000);
