import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { Result } from '../../src/core/result.ts';
import { isPidAlive, ownerGoneOnHost } from '../../src/persistence/leaseOwner.ts';
import { openPgliteStore } from '../../src/persistence/pglite.ts';
import { openPostgresStore } from '../../src/persistence/postgres.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';
import type { OpenError, StoreHandle } from '../../src/persistence/store.ts';
import { freshPgliteDir } from '../support/pgliteTemplate.ts';
import { startPostgres } from '../support/postgresServer.ts';

/** One empty database of a backend, opened as often as a test needs (PGlite: one open at a time). */
export interface TestDatabase {
  open(): Promise<Result<StoreHandle, OpenError>>;
  /** SQL straight to the database, beside the store (fault injection, at-rest checks). */
  raw(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  drop(): Promise<void>;
}

/** One database and the store opened on it, shared by a suite's cases (set in its `beforeAll`). */
export interface SharedDatabase {
  database: TestDatabase;
  store: StoreHandle;
}

export interface Backend {
  name: 'pglite' | 'postgres';
  createDatabase(): Promise<TestDatabase>;
  dispose(): Promise<void>;
}

const isOwnerGone = ownerGoneOnHost(hostname(), isPidAlive);

export async function pgliteBackend(): Promise<Backend> {
  const secrets = createSecretBox(randomBytes(32));
  return {
    name: 'pglite',
    async createDatabase() {
      const dir = await freshPgliteDir(mkdtempSync(path.join(tmpdir(), 'crm-sync-pglite-')));
      let db: PGlite | null = null;
      return {
        async open() {
          db = await PGlite.create(dir);
          return openPgliteStore({ dataDir: null, db, secrets, isOwnerGone });
        },
        async raw(sql, params = []) {
          if (db === null) throw new Error('open the database first');
          return (await db.query<Record<string, unknown>>(sql, params)).rows;
        },
        async drop() {
          if (db !== null && !db.closed) await db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    async dispose() {},
  };
}

export async function postgresBackend(): Promise<Backend> {
  const server = await startPostgres();
  const secrets = createSecretBox(randomBytes(32));
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  return {
    name: 'postgres',
    async createDatabase() {
      const name = `t_${randomUUID().replaceAll('-', '')}`;
      await admin.query(`CREATE DATABASE ${name}`);
      const url = server.url.replace(/\/postgres$/, `/${name}`);
      const raw = new pg.Client({ connectionString: url });
      await raw.connect();
      return {
        open: () => openPostgresStore({ url, secrets, isOwnerGone }),
        async raw(sql, params = []) {
          return (await raw.query(sql, params)).rows;
        },
        async drop() {
          await raw.end();
          await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
        },
      };
    },
    async dispose() {
      await admin.end();
      await server.stop();
    },
  };
}

/** The value of an ok result; a failed one fails the test with its error. */
export function unwrap<T, E>(result: Result<T, E>): T {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result.value;
}

/** One backend per test file (one Postgres server), shared by its suites; disposed at the end. */
export function useBackend(make: () => Promise<Backend>): () => Backend {
  let backend: Backend | undefined;
  beforeAll(async () => {
    backend = await make();
  });
  afterAll(async () => {
    await backend?.dispose();
  });
  return () => {
    if (backend === undefined) throw new Error('backend not started');
    return backend;
  };
}
