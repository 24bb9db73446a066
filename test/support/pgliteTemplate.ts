import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLITE_SUBDIR } from '../../src/persistence/pglite.ts';

/**
 * Fresh, empty PGlite databases without running initdb for each: initdb takes 2.5–10 s on the 2-core CI machine,
 * and the suites create hundreds of databases. One cluster is initialised per PGlite version and kept beside the
 * system temp dir's other caches; each database starts as a copy of it, exactly what `PGlite.create` would have
 * made (no migration applied: the store's open still runs every one).
 */
const { version } = JSON.parse(
  readFileSync(new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8'),
) as { version: string };
const templateDir = path.join(tmpdir(), `crm-sync-test-pglite-${version}`);
const templateDump = `${templateDir}.tar`;

/** Publishes what `make` writes at a temporary path under `final`, whole or not at all (test workers race). */
async function publishOnce(final: string, make: (temporary: string) => Promise<void>): Promise<string> {
  if (existsSync(final)) return final;
  const temporary = `${final}.${process.pid}-${randomUUID()}`;
  try {
    await make(temporary);
    renameSync(temporary, final);
  } catch (error) {
    // Another worker published first (a directory cannot be renamed over a full one): theirs is as good.
    if (!existsSync(final)) throw error;
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
  return final;
}

function initialisedCluster(): Promise<string> {
  return publishOnce(templateDir, async (dir) => {
    const db = await PGlite.create(dir);
    await db.close();
  });
}

/** Makes `dir` (which must not exist yet, or be empty) a fresh PGlite data directory. */
export async function freshPgliteDir(dir: string): Promise<string> {
  cpSync(await initialisedCluster(), dir, { recursive: true });
  return dir;
}

/** A fresh in-memory PGlite database, loaded from the initialised cluster's dump. */
export async function freshMemoryPglite(): Promise<PGlite> {
  const dump = await publishOnce(templateDump, async (file) => {
    // Dumped from a copy: opening the cluster itself would write to it while another worker copies it.
    const db = await PGlite.create(await freshPgliteDir(`${file}.d`));
    try {
      writeFileSync(file, Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer()));
    } finally {
      await db.close();
      rmSync(`${file}.d`, { recursive: true, force: true });
    }
  });
  return PGlite.create({ loadDataDir: new Blob([readFileSync(dump)]) });
}

/**
 * `dataDir`, a data directory for crm-sync whose embedded database is a fresh copy of the template and nothing
 * else (no key file, no lock): its first command opens the database as it reopens one, about 4 s sooner than
 * initdb. For tests whose subject is not the first start.
 */
export async function seededDataDir(dataDir: string): Promise<string> {
  await freshPgliteDir(path.join(dataDir, PGLITE_SUBDIR));
  return dataDir;
}
