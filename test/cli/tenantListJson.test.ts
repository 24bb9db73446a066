import { join } from 'node:path';
import { expect, it } from 'vitest';
import { type CliRun, cliEnv, runCli } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { tempDirs } from '../support/tempDirs.ts';

const scratch = tempDirs('crm-sync-tenant-list-');

const parsed = <T>(run: CliRun): T => {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
};

/**
 * `tenant list --json` is what a script reads to go over every agency's connections. It gave only their count, so
 * a script had to run `status` per tenant to learn which CRMs a tenant has and where each stands; the shape
 * pinned here is the one docs/cli.md states.
 */
it("lists each tenant with its connections' provider, id, enabled, state and next run, as status shows them", async () => {
  const env = cliEnv(await seededDataDir(join(scratch(), 'data')));
  const harbour = parsed<{ id: string; createdAt: string }>(
    await runCli(env, ['tenant', 'add', 'Harbour Lettings', '--interval', '10m', '--json']),
  );
  const northgate = parsed<{ id: string; createdAt: string }>(
    await runCli(env, ['tenant', 'add', 'Northgate Estates', '--json']),
  );
  const connect = async (provider: string, credentials: string, ...flags: string[]) =>
    parsed<{ id: string }>(
      await runCli(env, [
        ...['connection', 'add', '--tenant', 'Harbour Lettings', '--provider', provider],
        ...['--base-url', 'http://127.0.0.1:1', '--credentials', credentials, '--json', ...flags],
      ]),
    );
  const loop = await connect('loop', '{"apiKey":"key"}');
  const street = await connect('street', '{"apiToken":"token"}', '--disabled');
  const statuses = parsed<Array<{ connectionId: string; nextRunAt: string }>>(
    await runCli(env, ['status', '--tenant', 'Harbour Lettings', '--json']),
  );
  const nextRunOf = (id: string) => statuses.find((s) => s.connectionId === id)?.nextRunAt;

  const listed = parsed<unknown[]>(await runCli(env, ['tenant', 'list', '--json']));

  expect(listed).toEqual([
    {
      id: harbour.id,
      name: 'Harbour Lettings',
      interval: '10m',
      intervalSeconds: 600,
      connections: 2,
      connectionList: [
        {
          provider: 'loop',
          connectionId: loop.id,
          enabled: true,
          state: 'idle',
          nextRunAt: nextRunOf(loop.id),
        },
        {
          provider: 'street',
          connectionId: street.id,
          enabled: false,
          state: 'idle',
          nextRunAt: nextRunOf(street.id),
        },
      ],
      createdAt: harbour.createdAt,
    },
    {
      id: northgate.id,
      name: 'Northgate Estates',
      interval: '15m',
      intervalSeconds: 900,
      connections: 0,
      connectionList: [],
      createdAt: northgate.createdAt,
    },
  ]);
}, 300_000);
