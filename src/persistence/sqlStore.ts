import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';
import type { SecretBox } from './secrets.ts';
import { auditMethods } from './sql/audit.ts';
import { contactMethods } from './sql/contacts.ts';
import { parseOne, type SqlContext, transact } from './sql/context.ts';
import { cycleWorkMethods } from './sql/cycleWork.ts';
import { dailyRequestMethods } from './sql/dailyRequests.ts';
import { importedLineMethods } from './sql/importedLines.ts';
import { leaseFenceMethods } from './sql/leaseFence.ts';
import { leaseMethods } from './sql/leases.ts';
import { ledgerMethods } from './sql/ledger.ts';
import { linkMethods } from './sql/links.ts';
import { matchVersionMethods } from './sql/matchVersions.ts';
import { tenantMethods } from './sql/tenants.ts';
import { classifyDbError, guarded, type SqlClient } from './sqlClient.ts';
import type { Store, StoreData, StoreError } from './store.ts';

export interface SqlStoreOptions {
  client: SqlClient;
  secrets: SecretBox;
  /** `true` when a lease owner's process is known to be gone; see `leaseOwner.ts`. */
  isOwnerGone: (owner: string) => boolean;
  /** Id source for tenants and connections; random uuids by default. */
  newId?: () => string;
}

function dataMethods(ctx: SqlContext): StoreData {
  return {
    ...tenantMethods(ctx),
    ...leaseMethods(ctx),
    ...leaseFenceMethods(ctx),
    ...dailyRequestMethods(ctx),
    ...contactMethods(ctx),
    ...importedLineMethods(ctx),
    ...linkMethods(ctx),
    ...matchVersionMethods(ctx),
    ...ledgerMethods(ctx),
    ...auditMethods(ctx),
    ...cycleWorkMethods(ctx),
  };
}

/** The one SQL implementation of the store, over whichever driver `client` wraps. */
export function createSqlStore(options: SqlStoreOptions): Store {
  const ctx: SqlContext = {
    client: options.client,
    secrets: options.secrets,
    isOwnerGone: options.isOwnerGone,
    newId: options.newId ?? randomUUID,
    heldLeases: new Map(),
    inTransaction: false,
  };
  return {
    ...dataMethods(ctx),
    async transaction<T, E>(
      fn: (tx: StoreData) => Promise<Result<T, E>>,
    ): Promise<Result<T, E | StoreError>> {
      try {
        return await transact(ctx.client, (client) =>
          fn(dataMethods({ ...ctx, client, inTransaction: true })),
        );
      } catch (error) {
        const known = classifyDbError(error);
        if (known === null) throw error;
        return err(known);
      }
    },
  };
}

const databaseTimeSchema = z.object({ now: z.coerce.date() });

/** The database server's clock, read now (not the transaction's start, as `now()` would be). */
export function readDatabaseTime(client: SqlClient): Promise<Result<Date, StoreError>> {
  return guarded(async () => {
    const { rows } = await client.query('SELECT clock_timestamp() AS now');
    const row = parseOne(databaseTimeSchema, rows, 'database time');
    return row.ok ? ok(row.value.now) : row;
  });
}
