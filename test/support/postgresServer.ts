import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A throwaway PostgreSQL server for one test file. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`, trust auth. */
  url: string;
  /** `pg_ctl restart` (fast shutdown): every session ends and the server is back on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Directory holding `initdb`/`pg_ctl`: PATH first, then Debian's /usr/lib/postgresql/<n>/bin. */
export function findPostgresBin(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir !== '' && existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl')))
      return dir;
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const dir = path.join(root, version, 'bin');
    if (existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  return null;
}

/**
 * Whether the Postgres half of a suite can run. Missing binaries skip it loudly outside CI, and fail in CI
 * (`.ci/run` installs the `postgresql` package), so a green CI always covered both backends.
 */
export function postgresAvailable(suite: string): boolean {
  if (findPostgresBin() !== null) return true;
  const message = `PostgreSQL server binaries (initdb, pg_ctl) not found: ${suite} runs on PGlite only. Install the 'postgresql' package to run it on Postgres too.`;
  if (process.env.CI === 'true') throw new Error(`${message} In CI this is a failure.`);
  console.warn(`\n!!! SKIPPED: ${message}\n`);
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(),
      );
    });
  });
}

/** initdb into a temp dir and start a server on a free 127.0.0.1 port; as `postgres` when we are root. */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (bin === null) throw new Error('PostgreSQL server binaries not found');
  const dir = mkdtempSync(path.join(tmpdir(), 'crm-sync-pg-'));
  const dataDir = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  // The server refuses to run as root.
  const exec = (tool: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args])
      : run(path.join(bin, tool), args);
  if (asRoot) chownSync(dir, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), 0);

  await exec('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const log = path.join(dir, 'server.log');
  await exec('pg_ctl', ['-D', dataDir, '-o', options, '-l', log, '-w', 'start']);

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async restart() {
      await exec('pg_ctl', ['-D', dataDir, '-o', options, '-l', log, '-m', 'fast', '-w', 'restart']);
    },
    async stop() {
      await exec('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
