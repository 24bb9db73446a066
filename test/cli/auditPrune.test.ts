import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openApp } from '../../src/main.ts';
import { auditBodySchema } from '../../src/persistence/audit.ts';
import { type CliRun, cliEnv, runCli } from '../support/cliProcess.ts';
import { seededDataDir } from '../support/pgliteTemplate.ts';
import { tempDirs } from '../support/tempDirs.ts';

/** Each CLI spawn takes ~2 s on an idle machine, up to ten times that beside other suites; a case spawns eight. */
const TIMEOUT_MS = 300_000;

const freshRoot = tempDirs('crm-sync-audit-prune-');

/** A cycle's entry finished on `day` (2025-01-`day`), listing `errors` errors. */
const entryOn = (day: number, errors = 0) => {
  const at = `2025-01-${String(day).padStart(2, '0')}T09:00:00.000Z`;
  return auditBodySchema.parse({
    cycleId: `cycle-${day}`,
    window: { from: null, to: at },
    fetched: 0,
    written: { created: 0, updated: 0, unchanged: 0 },
    conflicts: [],
    duplicatesSuppressed: [],
    errors: Array.from({ length: errors }, (_, n) => ({ status: 503, message: `down ${n}`, retry: true })),
    startedAt: at,
    finishedAt: at,
    outcome: errors === 0 ? 'completed' : 'failed',
  });
};

/**
 * An embedded database with two agencies: harbour's reapit connection audited on 1, 2 (two errors) and 3 January
 * and its alto connection once on 1 January; acme's reapit connection on 1 and 2 January.
 */
async function auditedDataDir(): Promise<NodeJS.ProcessEnv> {
  const env = cliEnv(await seededDataDir(join(freshRoot(), 'data')));
  const opened = await openApp({ command: 'test', source: env });
  if (!opened.ok) throw new Error(opened.error.message);
  const { store } = opened.value;
  const must = <T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T => {
    if (!result.ok) throw new Error(result.error.message);
    return result.value;
  };
  try {
    const audited = async (
      tenant: string,
      provider: 'reapit' | 'alto',
      entries: ReturnType<typeof entryOn>[],
    ) => {
      const found = await store.getTenantByName({ name: tenant });
      const tenantId = found.ok
        ? found.value.id
        : must(await store.createTenant({ name: tenant, syncIntervalSeconds: 300 })).id;
      const connection = must(
        await store.addConnection({
          tenantId,
          provider,
          baseUrl: 'http://127.0.0.1:9',
          credentials: { clientId: 'id-1', clientSecret: 'secret-1' },
          nextRunAt: new Date(),
        }),
      );
      for (const audit of entries)
        must(await store.commitCycle({ tenantId, connectionId: connection.id, audit }));
    };
    await audited('harbour', 'reapit', [entryOn(1), entryOn(2, 2), entryOn(3)]);
    await audited('harbour', 'alto', [entryOn(1)]);
    await audited('acme', 'reapit', [entryOn(1), entryOn(2)]);
  } finally {
    await opened.value.close();
  }
  return env;
}

function parsed<T>(run: CliRun): T {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

/** A usage error: exit 2, one line on stderr matching `message`, nothing on stdout. */
function expectUsageError(run: CliRun, message: RegExp): void {
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr).toMatch(message);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stdout).toBe('');
}

describe('crm-sync audit prune on an embedded database', () => {
  it(
    "removes a tenant's entries finished before the date with their items, never a connection's latest, and says what went",
    async () => {
      const env = await auditedDataDir();
      const cli = (...args: string[]) => runCli(env, args);
      const cyclesOf = async (tenant: string) =>
        parsed<Array<{ provider: string; cycleId: string }>>(
          await cli('audit', '--tenant', tenant, '--json'),
        ).map((e) => `${e.provider} ${e.cycleId}`);

      const wouldGo = parsed(
        await cli('audit', 'prune', '--before', '2025-01-03', '--tenant', 'harbour', '--dry-run', '--json'),
      );
      const harbourReapit = {
        tenant: 'harbour',
        provider: 'reapit',
        entries: 2,
        items: 2,
        oldestFinishedAt: '2025-01-01T09:00:00.000Z',
        newestFinishedAt: '2025-01-02T09:00:00.000Z',
      };
      expect(wouldGo).toEqual({
        before: '2025-01-03T00:00:00.000Z',
        tenant: 'harbour',
        dryRun: true,
        entries: 2,
        items: 2,
        connections: [{ ...harbourReapit, connectionId: expect.any(String) }],
      });
      expect(await cyclesOf('harbour')).toHaveLength(4);

      const pruned = await cli('audit', 'prune', '--before', '2025-01-03', '--tenant', 'harbour');
      expect(pruned.code, pruned.stderr).toBe(0);
      expect(pruned.stdout.split('\n')[0]).toBe(
        "removed 2 audit entries (2 items) of cycles finished before 2025-01-03T00:00:00Z; each connection's latest entry is kept",
      );
      expect(pruned.stdout).toMatch(
        /^harbour\s+reapit\s+2\s+2\s+2025-01-01T09:00:00Z\s+2025-01-02T09:00:00Z$/m,
      );
      // Alto's one entry is its latest; acme was not named.
      expect(await cyclesOf('harbour')).toEqual(['alto cycle-1', 'reapit cycle-3']);
      expect(await cyclesOf('acme')).toEqual(['reapit cycle-2', 'reapit cycle-1']);

      // Every tenant: acme's older entry goes, harbour has nothing left to prune.
      const everyTenant = parsed<{ entries: number; connections: Array<{ tenant: string }> }>(
        await cli('audit', 'prune', '--before', '2025-02-01T00:00:00Z', '--json'),
      );
      expect(everyTenant).toMatchObject({
        tenant: null,
        entries: 1,
        connections: [{ tenant: 'acme', entries: 1 }],
      });
      expect(await cyclesOf('acme')).toEqual(['reapit cycle-2']);
    },
    TIMEOUT_MS,
  );

  it(
    'refuses a malformed or future date, an unknown tenant and options before "prune", removing nothing',
    async () => {
      const env = await auditedDataDir();
      const cli = (...args: string[]) => runCli(env, args);
      expectUsageError(
        await cli('audit', 'prune', '--before', 'last year'),
        /--before must be a date .* got "last year"/,
      );
      expectUsageError(
        await cli('audit', 'prune', '--before', '2999-01-01'),
        /--before 2999-01-01 is in the future/,
      );
      expectUsageError(
        await cli('audit', 'prune', '--before', '2025-01-03', '--tenant', 'nobody'),
        /unknown tenant "nobody"/,
      );
      // Read as `audit --tenant harbour`, it would have pruned every tenant.
      expectUsageError(
        await cli('audit', '--tenant', 'harbour', 'prune', '--before', '2025-01-03'),
        /audit prune takes its options after "prune"/,
      );
      expect(parsed<unknown[]>(await cli('audit', '--tenant', 'harbour', '--json'))).toHaveLength(4);
    },
    TIMEOUT_MS,
  );
});
