import type { RecentCall } from '../providers/limiter.ts';
import type {
  Connection,
  ConnectionInput,
  Credentials,
  Lease,
  LeaseRequest,
  SnapshotRecord,
  Tenant,
  TenantInput,
} from './records.ts';
import type { ConnectionRef, StoreResult } from './store.ts';

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
  /**
   * The credentials stored at `setAt` came while a run was failing on the ones it had read before them: stamped
   * anew, after that failure, so a machine it stopped for `auth_failed` is resumed by its next run, made due at
   * once, as when they were set. Nothing when they have been replaced again since.
   */
  restampCredentials(ref: ConnectionRef & { setAt: Date }): StoreResult<void>;
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
   * Scheduler view, across tenants: enabled connections with `nextRunAt <= now` and no lease live at `leasesAt`
   * (default `now`), earliest first. Served by a partial index.
   */
  listDueConnections(params: { now: Date; leasesAt?: Date; limit: number }): StoreResult<Connection[]>;
  /**
   * Brings every enabled connection's next run within one interval (its own, else its tenant's) of `now`; a
   * machine in backoff within the wait it asked (its `resumeAt` less its failure's `at`; a daily quota spent,
   * the next UTC midnight) of `now`, its snapshot's `resumeAt` with it, unless its run holds a live lease. A
   * host clock stepped back, or an interval shortened behind the CLI, otherwise left runs late by as much.
   * Returns how many next runs moved.
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
  /**
   * Set once a run took the connection's live lease over from a holder found gone (its session lock released, its
   * pid dead on this host): when that holder's lease would have run out, till which a create it sent may still
   * reach the CRM. Kept with the connection, so every later lease carries it.
   */
  writesLandBy?: Date;
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

/** Writes fenced by the lease. */
export interface LeaseFence {
  /**
   * Inside a transaction, first: `lease_lost` unless `owner` holds the connection's lease, and the connection's row
   * held until the transaction ends, so no takeover comes between this and the commit. A run's writes that a run of
   * another process may be making too (a reconcile batch) are fenced by it: a run stalled past its lease (a pause of
   * its process, its lock session dropped) wrote its batch over the newer one the run that took over had written.
   */
  holdLease(ref: ConnectionRef & { owner: string }): StoreResult<void>;
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
  /**
   * The calls of the connection's rate windows as the last process that ran it saved them (`recentCalls` of its
   * limiter); none before the first save.
   */
  getRecentCalls(ref: ConnectionRef): StoreResult<RecentCall[]>;
  /** Replaces the connection's saved calls: only the run holding its lease saves them. */
  saveRecentCalls(ref: ConnectionRef & { calls: RecentCall[] }): StoreResult<void>;
}
