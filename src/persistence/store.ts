import type { MatchRecord } from '../core/dedup/matchRecord.ts';
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
import type { AuditedNoteKind, CycleWorkStore } from './cycleWork.ts';
import type {
  Connection,
  ConnectionInput,
  ContactUpsert,
  Credentials,
  EngagementEvent,
  Lease,
  LeaseRequest,
  Link,
  LinkInput,
  MatchKeysInput,
  PushEntry,
  PushPlan,
  QuarantineEntry,
  QuarantineInput,
  SnapshotRecord,
  StoredContact,
  SuppressedRecord,
  Tenant,
  TenantInput,
} from './records.ts';

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
  | { kind: 'unavailable'; message: string };

export type StoreResult<T> = Promise<Result<T, StoreError>>;

/** Addresses one connection of one tenant; every connection-level method takes it. */
export interface ConnectionRef {
  tenantId: string;
  connectionId: string;
}

/** Tenants and connections. */
export interface TenantStore {
  /** Create a tenant; `conflict` when the name is taken, in any letter case (names are stored in NFC). */
  createTenant(input: TenantInput): StoreResult<Tenant>;
  getTenant(params: { tenantId: string }): StoreResult<Tenant>;
  /**
   * By unique name, in any letter case and Unicode spelling (the CLI's handle for a tenant). On a database
   * 20250612000000_tenant_names_ignore_case has not been applied to, names may differ in case alone: the one
   * spelled exactly as `name` is found, and `conflict` names them all when none is.
   */
  getTenantByName(params: { name: string }): StoreResult<Tenant>;
  /** Every tenant, by name (admin use). */
  listTenants(): StoreResult<Tenant[]>;
  setTenantInterval(params: { tenantId: string; syncIntervalSeconds: number }): StoreResult<Tenant>;
  /**
   * Give the tenant a new name, checked and normalised as `createTenant` checks it; its id, and so its
   * connections, contacts and audit, stay. `conflict` when another tenant holds the name in any letter case
   * (the same tenant may change the case of its own). Its statements need only the first migration's schema,
   * so it also runs where a pending migration is refused (`RepairStore`).
   */
  renameTenant(params: { tenantId: string; name: string }): StoreResult<Tenant>;

  /** Add a connection; credentials are sealed with AES-256-GCM before they reach SQL. */
  addConnection(input: ConnectionInput): StoreResult<Connection>;
  getConnection(ref: ConnectionRef): StoreResult<Connection>;
  /** The tenant's connections, without credentials. */
  listConnections(params: { tenantId: string }): StoreResult<Connection[]>;
  /** The only way credentials come back out of the store, decrypted. */
  getConnectionCredentials(ref: ConnectionRef): StoreResult<Credentials>;
  /**
   * Replace the credentials and stamp `credentialsSetAt`. A machine stopped in `error` because the CRM refused
   * the earlier ones (`auth_failed`) is made due at once: its next run resumes it (`credentials.updated`).
   */
  setConnectionCredentials(ref: ConnectionRef & { credentials: Credentials }): StoreResult<void>;
  setConnectionEnabled(ref: ConnectionRef & { enabled: boolean }): StoreResult<Connection>;
  /**
   * Replace the base URL (checked as `addConnection` checks it: https, or plain http to this machine); the way
   * on for one an earlier version stored as plain http to another host, which runs refuse.
   */
  setConnectionBaseUrl(ref: ConnectionRef & { baseUrl: string }): StoreResult<Connection>;
  /** `null` returns the connection to the tenant's interval. */
  setConnectionInterval(ref: ConnectionRef & { syncIntervalSeconds: number | null }): StoreResult<Connection>;
  setNextRun(ref: ConnectionRef & { nextRunAt: Date }): StoreResult<void>;
  /**
   * Scheduler view, across tenants: enabled connections with `nextRunAt <= now` and no live lease,
   * earliest first. Served by a partial index.
   */
  listDueConnections(params: { now: Date; limit: number }): StoreResult<Connection[]>;
  /**
   * Brings every enabled connection's next run within one interval (its own, else its tenant's) of `now`,
   * unless its machine waits in backoff: a Retry-After or a daily quota parked until midnight ends when it
   * ends. A host clock stepped back, or an interval shortened behind the CLI, otherwise left runs late by as
   * much. Returns how many moved.
   */
  boundNextRuns(params: { now: Date }): StoreResult<number>;
}

/** One run per connection at a time. */
/** A lease just taken. */
export type HeldLease = Lease & {
  /**
   * On PostgreSQL, aborted once the session advisory lock taken with the lease is gone (`SessionLocks.lost`):
   * another process may then take the lease over at once, so its holder must stop writing.
   */
  sessionLost?: AbortSignal;
};

export interface LeaseStore {
  /**
   * Take the connection's lease for `ttlMs` (≤ 60 s). Succeeds when the lease is free or expired (a live one is
   * held, by this owner too: one run per connection, and an owner is a process); takes over at once when the
   * holder is known to be gone (same host, dead pid; or, on Postgres, its session advisory lock was released).
   * Otherwise `lease_held` naming the holder.
   */
  acquireLease(request: LeaseRequest): StoreResult<HeldLease>;
  /** Extend our lease to `now + ttlMs`; `lease_lost` when another owner took it. */
  heartbeatLease(request: LeaseRequest): StoreResult<Lease>;
  /** Give the lease up; a no-op when it is no longer ours. */
  releaseLease(ref: ConnectionRef & { owner: string }): StoreResult<void>;
}

/** Persisted machine snapshots, one per connection. */
export interface SnapshotStore {
  /**
   * Upsert; one statement, cheap enough for every transition. With `leaseOwner`, written only while that owner
   * holds the connection's lease (`lease_lost` otherwise): a run that lost its lease cannot overwrite the
   * snapshot of the worker that took over.
   */
  saveSnapshot(
    ref: ConnectionRef & {
      machineVersion: string;
      snapshot: unknown;
      stateValue: unknown;
      now: Date;
      leaseOwner?: string;
    },
  ): StoreResult<void>;
  /** `null` before the first save. */
  loadSnapshot(ref: ConnectionRef): StoreResult<SnapshotRecord | null>;
}

/**
 * Each connection's requests of a UTC day, counted by every process that runs it: what its daily quota has left.
 * Runs add what they spent when they save their machine, not on every request.
 */
export interface DailyRequestStore {
  /** The connection's requests counted on `day` (`YYYY-MM-DD`, UTC); 0 when none. */
  getDailyRequests(ref: ConnectionRef & { day: string }): StoreResult<number>;
  /** Adds `requests` to `day`'s count and answers the new count; the connection's earlier days are dropped. */
  addDailyRequests(ref: ConnectionRef & { day: string; requests: number }): StoreResult<number>;
}

/** What a bulk upsert did, by contact id. */
export interface UpsertOutcome {
  created: string[];
  updated: string[];
  unchanged: string[];
  /** The new change sequence number of each created or updated contact. */
  changeSeqs: Record<string, number>;
}

/** Local contacts, match keys and links. */
export interface ContactStore {
  /**
   * Insert or update contacts in one statement. Fields whose value changed get `now` as their
   * last-change stamp and the contact gets a new change sequence number; identical contacts are untouched.
   * `conflict`, with nothing written, when a contact given an `expectedChangeSeq` has changed since.
   */
  upsertContacts(params: {
    tenantId: string;
    contacts: ContactUpsert[];
    now: Date;
  }): StoreResult<UpsertOutcome>;
  getContacts(params: { tenantId: string; ids: string[] }): StoreResult<StoredContact[]>;
  /**
   * The listed contacts that exist, each with its change sequence number and stored match record (`null` when
   * none can be trusted: normalise its document).
   */
  getMatchRecords(params: {
    tenantId: string;
    ids: string[];
  }): StoreResult<Array<{ id: string; changeSeq: number; matchRecord: MatchRecord | null }>>;
  /**
   * The first `limit` contacts changed after `afterSeq`, in change order, by id and change number only. Writers
   * of a tenant's contacts take their numbers one at a time (see `lockTenantChanges`), so a reader that has seen
   * every number up to N has seen every change committed before N's.
   */
  listChangeSeqs(params: {
    tenantId: string;
    afterSeq: number;
    limit: number;
  }): StoreResult<Array<{ id: string; changeSeq: number }>>;
  /** Page by id (`afterId` exclusive), each contact with its links. */
  listContacts(params: {
    tenantId: string;
    afterId?: string;
    limit: number;
  }): StoreResult<Array<StoredContact & { links: Link[] }>>;
  /** The highest change sequence number now stored for the tenant (0 when none). */
  localChangeHighWater(params: { tenantId: string }): StoreResult<number>;
  /**
   * Contacts changed after `afterSeq` and at most `upToSeq`, in change order. With `connectionId`, without
   * the contacts that connection's reconcile wrote or confirmed at their current change (its link's
   * `syncedSeq`): that change came from its CRM and needs no push back.
   */
  listLocalChanges(params: {
    tenantId: string;
    afterSeq: number;
    upToSeq: number;
    limit: number;
    connectionId?: string;
  }): StoreResult<StoredContact[]>;
  /**
   * Replace each listed contact's match keys with the given set. `created` names contacts created in the same
   * transaction: they hold no keys yet, so there is nothing of theirs to delete (a first sync's every contact).
   */
  replaceMatchKeys(params: {
    tenantId: string;
    entries: MatchKeysInput[];
    created?: readonly string[];
  }): StoreResult<void>;
  /** Each of `keys` that some contact holds, with its holders' ids (in id order; keys in key order). */
  findCandidates(params: {
    tenantId: string;
    keys: string[];
    /**
     * Leave out every key held by more than this many contacts (not selective: a common surname block). Each
     * key's index range is read no further than one past the limit, and a left-out key returns no rows.
     */
    maxHoldersPerKey?: number;
  }): StoreResult<Array<{ key: string; contactIds: string[] }>>;
  /**
   * Normalise again up to `limit` of the tenant's contacts whose stored match record is of an older
   * `MATCH_RECORD_VERSION` (or missing), storing the record and replacing the keys, in one transaction; 0 refreshed
   * when none is left. Keys looked up before this says 0 may miss contacts stored by an older normalisation.
   */
  refreshMatchKeys(params: { tenantId: string; limit: number }): StoreResult<{ refreshed: number }>;
  getLinksByExternalIds(ref: ConnectionRef & { externalIds: string[] }): StoreResult<Link[]>;
  getLinksByContactIds(ref: ConnectionRef & { contactIds: string[] }): StoreResult<Link[]>;
  /** Whether the connection has any link yet (`false` until its first records are linked). */
  hasLinks(ref: ConnectionRef): StoreResult<boolean>;
  /**
   * Insert or replace links by (connection, external id); a linked record is no longer suppressed. A contact holds
   * one record per connection: its link to any other record of the connection is dropped.
   */
  upsertLinks(ref: ConnectionRef & { links: LinkInput[]; now: Date }): StoreResult<void>;
  /**
   * Remember records suppressed as duplicates with the content they had, replacing what was remembered. Rows
   * are written with the links of the same batch, so a connection without links has none.
   */
  markSuppressed(ref: ConnectionRef & { records: SuppressedRecord[]; now: Date }): StoreResult<void>;
  /** The remembered suppressions among `externalIds`. */
  getSuppressed(ref: ConnectionRef & { externalIds: string[] }): StoreResult<SuppressedRecord[]>;
  /**
   * Record engagement events once each. New events add to the contact's counters and last-open/click
   * instants and bump its change sequence; repeated event ids and unknown contacts change nothing.
   */
  ingestEngagementEvents(params: {
    tenantId: string;
    events: EngagementEvent[];
    now: Date;
  }): StoreResult<{ inserted: string[]; duplicates: string[]; unknownContact: string[] }>;
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
   * with `dryRun`, only count them. What went (or would go), per connection.
   */
  pruneAudit(query: AuditPruneQuery): StoreResult<AuditPruned[]>;
}

/** Every data method; the same methods are available inside a transaction. */
export interface StoreData
  extends TenantStore,
    LeaseStore,
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
