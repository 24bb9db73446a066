import type { Result } from '../core/result.ts';
import type { CursorPosition } from '../providers/provider.ts';
import type {
  AuditBody,
  AuditEntry,
  AuditItemsPage,
  AuditItemsQuery,
  AuditPruned,
  AuditPruneQuery,
  AuditQuery,
} from './audit.ts';
import type {
  DailyRequestStore,
  LeaseFence,
  LeaseStore,
  SnapshotStore,
  TenantStore,
} from './connectionStore.ts';
import type { ContactStore } from './contactStore.ts';
import type { AuditedNoteKind, CycleWorkStore } from './cycleWork.ts';
import type { PushEntry, PushPlan, QuarantineEntry, QuarantineInput } from './records.ts';

// The parts of the store kept in files of their own; importers take them from here with the rest.
export type {
  DailyRequestStore,
  HeldLease,
  LeaseFence,
  LeaseStore,
  SnapshotStore,
  TenantStore,
} from './connectionStore.ts';
export type { ContactStore, UpsertOutcome } from './contactStore.ts';

/** Expected store failures, as values. */
export type StoreError =
  | { kind: 'not_found'; message: string }
  | { kind: 'conflict'; message: string }
  | { kind: 'invalid_input'; message: string }
  | { kind: 'lease_held'; message: string; owner: string; expiresAt: Date }
  | { kind: 'lease_lost'; message: string }
  | { kind: 'decrypt_failed'; message: string }
  /** A stored row or JSON value no longer matches its schema. */
  | { kind: 'corrupt'; message: string }
  /**
   * The database, or the holder gone through, did not serve the call. `adminTokenRefused`: the holder refused the
   * admin token, which no retry fixes (the caller's configuration is wrong).
   */
  | { kind: 'unavailable'; message: string; adminTokenRefused?: true };

export type StoreResult<T> = Promise<Result<T, StoreError>>;

/** Addresses one connection of one tenant; every connection-level method takes it. */
export interface ConnectionRef {
  tenantId: string;
  connectionId: string;
}

/** Outbound writes, quarantine, audit and the cycle commit. */
export interface LedgerStore {
  /**
   * Plan writes; a key already in the ledger keeps its state. Returns every entry's current state,
   * so a retried cycle sees which writes are already acknowledged.
   */
  planPushes(ref: ConnectionRef & { entries: PushPlan[]; now: Date }): StoreResult<PushEntry[]>;
  /** `planned`/`sent` → `sent`, counting the attempt. An acknowledged entry is returned unchanged. */
  markPushSent(ref: ConnectionRef & { idempotencyKey: string; now: Date }): StoreResult<PushEntry>;
  markPushAcknowledged(
    ref: ConnectionRef & {
      idempotencyKey: string;
      responseId: string | null;
      responseVersion: string | null;
      now: Date;
    },
  ): StoreResult<PushEntry>;
  /** The provider refused the write for now (412/409/422): it is no longer pending; a later plan revives it. */
  markPushDeferred(ref: ConnectionRef & { idempotencyKey: string; now: Date }): StoreResult<PushEntry>;
  /**
   * A write the CRM refused without applying it (403: the credentials may not write) that no earlier attempt sent:
   * planned again, as never sent (its attempts kept). A create so held is checked against the contact's links
   * before it goes out, as a create sent before is. With `sentAt`, only while the entry is still the one marked sent
   * then: a run that lost its lease leaves alone the mark of the run that took over (which may have sent it).
   */
  markPushUnsent(ref: ConnectionRef & { idempotencyKey: string; sentAt?: Date }): StoreResult<PushEntry>;
  /** Entries planned or sent but not acknowledged, oldest first; only the cycle's when `cycleId` is given. */
  listPendingPushes(ref: ConnectionRef & { cycleId?: string }): StoreResult<PushEntry[]>;
  /** Upsert by (connection, external id, else payload hash): first seen kept, last seen and count move. */
  quarantineRecords(ref: ConnectionRef & { records: QuarantineInput[]; now: Date }): StoreResult<void>;
  listQuarantine(params: {
    tenantId: string;
    connectionId?: string;
    limit: number;
  }): StoreResult<QuarantineEntry[]>;
  /** Drop entries for records that have since passed validation. */
  releaseQuarantine(ref: ConnectionRef & { externalIds: string[] }): StoreResult<number>;
  /**
   * Write the cycle's audit entry and move the cursors, in one transaction. The only writer of the
   * cursors. Committing the same cycle id again is a no-op (`alreadyCommitted`).
   */
  commitCycle(
    ref: ConnectionRef & {
      /** New provider cursor; omitted leaves it (a failed cycle). */
      cursor?: CursorPosition;
      /** New local cursor (change sequence); never moves backwards. */
      localCursor?: number;
      audit: AuditBody;
      /**
       * Put the bodies of this cycle's notes of these kinds, in the order noted, before the items of the audit's
       * lists, except the notes keyed `exceptKeys` and, with `afterMark`, those noted before the cycle's latest meta
       * note keyed with that prefix. Built in the database: a first sync of a large tenant notes tens of thousands
       * of duplicates.
       */
      notesOf?: {
        cycleId: string;
        kinds: readonly AuditedNoteKind[];
        exceptKeys?: readonly string[];
        afterMark?: string;
      };
    },
  ): StoreResult<{ auditId: number; alreadyCommitted: boolean }>;
  /**
   * Newest first; `nextBeforeId` pages on, `null` at the end. Each list of each body is cut to its first
   * `itemsPerList` items in the database, and `itemCounts` gives the full lengths: reading an entry of 200,000
   * items costs what reading one of `itemsPerList` does. `listAuditItems` reads the rest.
   */
  listAudit(query: AuditQuery): StoreResult<{ entries: AuditEntry[]; nextBeforeId: number | null }>;
  /**
   * One page of one list of the tenant's audit entry `auditId`: up to `limit` items from `offset`, in the
   * entry's order, cut in the database. `not_found` when the tenant has no such entry.
   */
  listAuditItems(query: AuditItemsQuery): StoreResult<AuditItemsPage>;
  /**
   * Remove the audit entries (and their items) of cycles that finished before `before`, but never a connection's
   * latest entry (what `status` and the admin page show, and what makes committing its cycle again a no-op);
   * with `dryRun`, only count them. What went (or would go), per connection. Removed `PRUNE_BATCH_ENTRIES`
   * entries at a time, each batch its own transaction, so that the store's other work goes on between them.
   */
  pruneAudit(query: AuditPruneQuery): StoreResult<AuditPruned[]>;
}

/** Every data method; the same methods are available inside a transaction. */
export interface StoreData
  extends TenantStore,
    LeaseStore,
    LeaseFence,
    SnapshotStore,
    DailyRequestStore,
    ContactStore,
    LedgerStore,
    CycleWorkStore {}

export interface Store extends StoreData {
  /**
   * Run `fn` in one transaction. It commits when `fn` returns `ok`, and rolls back when it returns
   * `err` or throws. Lease methods inside a transaction skip the session advisory lock.
   */
  transaction<T, E>(fn: (tx: StoreData) => Promise<Result<T, E>>): Promise<Result<T, E | StoreError>>;
}

/** An open store: data methods plus lifecycle. */
export interface StoreHandle extends Store {
  /** `pglite` (embedded) or `postgres` (DATABASE_URL). */
  readonly backend: 'pglite' | 'postgres';
  /** Schema versions applied, oldest first. */
  readonly schemaVersions: readonly string[];
  /** The database server's clock now: the one time every process on this database shares. */
  databaseTime(): StoreResult<Date>;
  /**
   * Publish where this process's admin API listens. Embedded: written to the data directory's lock
   * file, so a second process can go through this one instead of failing; a no-op on Postgres.
   */
  publishAdminUrl(url: string | null): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * What may run on a database whose pending migrations are refused (`migration_failed`) before they are tried
 * again: methods whose statements the schema of any earlier version holds, enough to change what a migration
 * refuses (two tenants named alike but for letter case).
 */
export type RepairStore = Pick<TenantStore, 'getTenantByName' | 'renameTenant'>;

/** Why a store could not be opened; `message` is one line a user can act on. */
export type OpenError =
  | { kind: 'bad_connection_string'; message: string }
  | { kind: 'unreachable'; message: string }
  | { kind: 'auth_failed'; message: string }
  | { kind: 'schema_too_new'; message: string }
  /** A migration this version needs could not apply to what the database holds; nothing was changed. */
  | { kind: 'migration_failed'; message: string }
  | { kind: 'locked'; message: string; holder: LockHolder }
  | { kind: 'secret_key'; message: string }
  | { kind: 'data_dir'; message: string };

/** Who holds an embedded data directory; written to its lock file. */
export interface LockHolder {
  pid: number;
  host: string;
  /** The holder's command line, e.g. `crm-sync serve`. */
  command: string;
  /** ISO instant the holder opened the directory. */
  startedAt: string;
  /** Where the holder's admin API listens, so other commands can go through it; `null` when it has none. */
  adminUrl: string | null;
}
