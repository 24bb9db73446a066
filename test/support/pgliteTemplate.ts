import { randomUUID } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
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

/** The name of the initialised cluster's publications (`<name>.<generation>`); its dump's take `-dump`. */
export const PGLITE_TEMPLATE = `crm-sync-test-pglite-${version}`;

/** In a publication, what `make` wrote. */
const DATA = 'data';
/** In a publication, written last: every file of `data` with its size. */
const MARKER = 'complete.json';
/** Generations tried before giving up: each broken one (see `publishComplete`) moves the cache to the next. */
const MAX_GENERATIONS = 20;

/** Every file under `dir`, by its path relative to `dir`, with its size in bytes. */
function filesOf(dir: string): Record<string, number> {
  const files: Record<string, number> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files[path.relative(dir, full)] = statSync(full).size;
  }
  return files;
}

/**
 * Whether `publication` holds a whole `data`: its marker, and every file the marker lists at the size it lists.
 * A publication is never written to once published, so this holds for good or never; it fails for one that a
 * crash left unflushed, or that a temp cleaner thinned out, or for anything else found at its name.
 */
function isComplete(publication: string): boolean {
  let listed: unknown;
  try {
    listed = JSON.parse(readFileSync(path.join(publication, MARKER), 'utf8'));
  } catch {
    return false;
  }
  if (typeof listed !== 'object' || listed === null) return false;
  const files = Object.entries(listed as Record<string, unknown>);
  return (
    files.length > 0 &&
    files.every(([file, size]) => {
      try {
        return statSync(path.join(publication, DATA, file)).size === size;
      } catch {
        return false;
      }
    })
  );
}

/**
 * The `data` directory of the first whole publication `<root>/<name>.<generation>`, made with `make` (which writes
 * a directory at the path it is given) when there is none. Safe for test workers building at once: each builds
 * under a temporary name and writes the marker before one atomic rename publishes the lot, so a publication is
 * whole from the moment it has its name. One left broken is never repaired or removed in place (a worker may be
 * reading it on the strength of an earlier check): the next generation is used instead.
 */
export async function publishComplete(
  root: string,
  name: string,
  make: (dir: string) => Promise<void>,
): Promise<string> {
  for (let generation = 0; generation < MAX_GENERATIONS; generation++) {
    const publication = path.join(root, `${name}.${generation}`);
    if (isComplete(publication)) return path.join(publication, DATA);
    if (existsSync(publication)) continue;
    const temporary = `${publication}.${process.pid}-${randomUUID()}`;
    try {
      mkdirSync(temporary);
      await make(path.join(temporary, DATA));
      writeFileSync(path.join(temporary, MARKER), JSON.stringify(filesOf(path.join(temporary, DATA))));
      renameSync(temporary, publication);
    } catch (error) {
      // Another worker published first (a directory cannot be renamed over a full one): theirs is as good.
      if (!existsSync(publication)) throw error;
    } finally {
      rmSync(temporary, { recursive: true, force: true });
    }
    if (isComplete(publication)) return path.join(publication, DATA);
  }
  throw new Error(`no whole ${name} in ${root} after ${MAX_GENERATIONS} generations: remove ${name}.* there`);
}

/** Fresh PGlite databases from templates cached under `root` (the system temp dir by default). */
export function pgliteTemplates(root = tmpdir()) {
  const name = PGLITE_TEMPLATE;
  // Within a process, one look (and at most one build) per template.
  const ready = new Map<string, Promise<string>>();
  const once = (key: string, make: (dir: string) => Promise<void>) => {
    let found = ready.get(key);
    if (found === undefined) {
      found = publishComplete(root, key, make);
      found.catch(() => ready.delete(key));
      ready.set(key, found);
    }
    return found;
  };

  const initialisedCluster = () =>
    once(name, async (dir) => {
      const db = await PGlite.create(dir);
      await db.close();
    });

  /** Makes `dir` (which must not exist yet, or be empty) a fresh PGlite data directory. */
  async function freshPgliteDir(dir: string): Promise<string> {
    cpSync(await initialisedCluster(), dir, { recursive: true });
    return dir;
  }

  /** A fresh in-memory PGlite database, loaded from the initialised cluster's dump. */
  async function freshMemoryPglite(): Promise<PGlite> {
    const dumped = await once(`${name}-dump`, async (dir) => {
      mkdirSync(dir);
      // Dumped from a copy: opening the cluster itself would write to it while another worker copies it.
      const cluster = path.join(dir, 'cluster');
      const db = await PGlite.create(await freshPgliteDir(cluster));
      try {
        writeFileSync(
          path.join(dir, 'dump.tar'),
          Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer()),
        );
      } finally {
        await db.close();
        rmSync(cluster, { recursive: true, force: true });
      }
    });
    return PGlite.create({ loadDataDir: new Blob([readFileSync(path.join(dumped, 'dump.tar'))]) });
  }

  /**
   * `dataDir`, a data directory for crm-sync whose embedded database is a fresh copy of the template and nothing
   * else (no key file, no lock): its first command opens the database as it reopens one, about 4 s sooner than
   * initdb. For tests whose subject is not the first start.
   */
  async function seededDataDir(dataDir: string): Promise<string> {
    await freshPgliteDir(path.join(dataDir, PGLITE_SUBDIR));
    return dataDir;
  }

  return { freshPgliteDir, freshMemoryPglite, seededDataDir };
}

export const { freshPgliteDir, freshMemoryPglite, seededDataDir } = pgliteTemplates();
