import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { Env } from '../config/env.ts';
import { err, type Result } from '../core/result.ts';
import { isPidAlive, ownerGoneOnHost } from './leaseOwner.ts';
import { openPgliteStore } from './pglite.ts';
import { openPostgresStore } from './postgres.ts';
import { createSecretBox, loadSecretBox, type SecretBox } from './secrets.ts';
import type { OpenError, RepairStore, StoreHandle } from './store.ts';

/**
 * Open the store the environment asks for: Postgres when `DATABASE_URL` is set, else embedded
 * PGlite in `CRM_SYNC_DATA_DIR`. Migrations run before it is returned.
 */
export async function openStore(params: {
  env: Pick<Env, 'CRM_SYNC_DATA_DIR' | 'DATABASE_URL' | 'CRM_SYNC_SECRET_KEY'>;
  /** This process's command line, written to the data directory's lock file. */
  command: string;
  /** One-time notices for the user (stderr at the edge), e.g. "generated a key file". */
  notice: (message: string) => void;
  /**
   * Runs when a pending migration is refused, before they are tried once more: the way on for what an earlier
   * version allowed and a migration refuses (`crm-sync tenant rename`).
   */
  repair?: (store: RepairStore) => Promise<void>;
}): Promise<Result<StoreHandle, OpenError>> {
  const { env } = params;
  const repair = params.repair === undefined ? {} : { repair: params.repair };
  const isOwnerGone = ownerGoneOnHost(hostname(), isPidAlive);
  const secretsFor = async (dataDir: string | null): Promise<Result<SecretBox, OpenError>> => {
    const loaded = await loadSecretBox({
      secretKey: env.CRM_SYNC_SECRET_KEY,
      dataDir,
      notice: params.notice,
    });
    return loaded.ok ? loaded : err({ kind: 'secret_key', message: loaded.error.message });
  };

  if (env.DATABASE_URL !== undefined) {
    const secrets = await secretsFor(null);
    if (!secrets.ok) return secrets;
    return openPostgresStore({ url: env.DATABASE_URL, secrets: secrets.value, isOwnerGone, ...repair });
  }
  const dataDir = path.resolve(env.CRM_SYNC_DATA_DIR);
  const secrets = await secretsFor(dataDir);
  if (!secrets.ok) return secrets;
  return openPgliteStore({
    dataDir,
    secrets: secrets.value,
    isOwnerGone,
    ...repair,
    holder: {
      pid: process.pid,
      host: hostname(),
      command: params.command,
      startedAt: new Date().toISOString(),
    },
    isPidAlive,
  });
}

/** An in-memory embedded store with a throwaway key: tests and demos. `db`, an empty database to use, if given. */
export async function openMemoryStore(db?: PGlite): Promise<Result<StoreHandle, OpenError>> {
  return openPgliteStore({
    dataDir: null,
    ...(db && { db }),
    secrets: createSecretBox(randomBytes(32)),
    isOwnerGone: ownerGoneOnHost(hostname(), isPidAlive),
  });
}
