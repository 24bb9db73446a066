import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadMigrations } from './migrate.ts';

describe('loadMigrations', () => {
  it('loads the shipped migrations in version order', async () => {
    const versions = (await loadMigrations()).map((m) => m.version);
    expect(versions.length).toBeGreaterThan(0);
    expect(versions).toEqual([...new Set(versions)].sort());
  });

  it('refuses two files of one version, which a database migrated by one of them would be refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'crm-sync-migrations-'));
    writeFileSync(path.join(dir, '20250101000000_first.sql'), 'SELECT 1;');
    writeFileSync(path.join(dir, '20250101000000_second.sql'), 'SELECT 2;');
    await expect(loadMigrations(pathToFileURL(`${dir}/`))).rejects.toThrow(
      'two migration files share version 20250101000000',
    );
  });
});
