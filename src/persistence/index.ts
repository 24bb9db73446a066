export type {
  AuditBody,
  AuditEntry,
  AuditItem,
  AuditItemsPage,
  AuditItemsQuery,
  AuditListName,
  AuditQuery,
} from './audit.ts';
export { auditBodySchema } from './audit.ts';
export { readDataDirLock } from './dataDirLock.ts';
export { formatLeaseOwner, isPidAlive, ownerGoneOnHost } from './leaseOwner.ts';
export { openMemoryStore, openStore } from './openStore.ts';
export type {
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
  PushStatus,
  QuarantineEntry,
  QuarantineInput,
  SnapshotRecord,
  StoredContact,
  Tenant,
  TenantInput,
} from './records.ts';
export type {
  ConnectionRef,
  LockHolder,
  OpenError,
  Store,
  StoreData,
  StoreError,
  StoreHandle,
  StoreResult,
  UpsertOutcome,
} from './store.ts';
