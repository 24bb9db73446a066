import { parse, stringify } from 'superjson';
import { z } from 'zod';
import type { Result } from '../core/result.ts';
import {
  auditEntrySchema,
  auditItemsPageSchema,
  auditItemsQuerySchema,
  auditPrunedSchema,
  auditPruneQuerySchema,
  auditQuerySchema,
} from './audit.ts';
import {
  connectionInputSchema,
  connectionSchema,
  credentialsSchema,
  engagementEventSchema,
  linkSchema,
  snapshotRecordSchema,
  storedContactSchema,
  tenantInputSchema,
  tenantSchema,
} from './records.ts';
import type { StoreData, StoreError } from './store.ts';

/**
 * The store of the process holding an embedded data directory, as other commands of the same user reach it:
 * `POST /internal/store/:method` on the holder's admin server (see `server/routes/storeRpc.ts`) and
 * `remoteStore.ts`, the client. PGlite is one session, so a second process cannot open the database; it asks
 * the holder to run one data method at a time instead.
 */

/** Where the holder serves store calls; `/:method` follows. */
export const STORE_RPC_PATH = '/internal/store';

/** What may cross for one method: the caller's input (checked by the holder) and the answer (checked by the caller). */
export interface RemoteMethod<K extends keyof StoreData> {
  input: z.ZodType<Parameters<StoreData[K]>[0]>;
  output: z.ZodType<StoreOk<K>>;
}

type StoreOk<K extends keyof StoreData> =
  Awaited<ReturnType<StoreData[K]>> extends Result<infer T, StoreError> ? T : never;

const id = z.uuid();
const tenantRef = z.strictObject({ tenantId: id });
const connectionRef = tenantRef.extend({ connectionId: id });
const intervalSeconds = tenantInputSchema.shape.syncIntervalSeconds;
const noOutput = z.undefined();

/**
 * Every data method, and whether another process may call it through the holder (`null`: only the holder
 * itself). Exhaustive, so a new store method is a compile error here until someone decides. The allowed ones
 * are what the operator commands use; credentials never leave the holder (its own runs read them), and the
 * sync machinery (leases, snapshots written, ledger, cycle work) runs only where the machines run.
 */
export const remoteStoreMethods: { [K in keyof StoreData]: RemoteMethod<K> | null } = {
  createTenant: { input: tenantInputSchema, output: tenantSchema },
  getTenant: { input: tenantRef, output: tenantSchema },
  getTenantByName: { input: z.strictObject({ name: z.string() }), output: tenantSchema },
  listTenants: { input: z.undefined(), output: z.array(tenantSchema) },
  setTenantInterval: {
    input: tenantRef.extend({ syncIntervalSeconds: intervalSeconds }),
    output: tenantSchema,
  },
  renameTenant: { input: tenantRef.extend({ name: tenantInputSchema.shape.name }), output: tenantSchema },
  addConnection: { input: connectionInputSchema, output: connectionSchema },
  getConnection: { input: connectionRef, output: connectionSchema },
  listConnections: { input: tenantRef, output: z.array(connectionSchema) },
  getConnectionCredentials: null,
  setConnectionCredentials: {
    input: connectionRef.extend({ credentials: credentialsSchema }),
    output: noOutput,
  },
  restampCredentials: { input: connectionRef.extend({ setAt: z.date() }), output: noOutput },
  setConnectionEnabled: { input: connectionRef.extend({ enabled: z.boolean() }), output: connectionSchema },
  setConnectionBaseUrl: {
    input: connectionRef.extend({ baseUrl: connectionInputSchema.shape.baseUrl }),
    output: connectionSchema,
  },
  setConnectionInterval: {
    input: connectionRef.extend({ syncIntervalSeconds: intervalSeconds.nullable() }),
    output: connectionSchema,
  },
  setNextRun: { input: connectionRef.extend({ nextRunAt: z.date() }), output: noOutput },
  listDueConnections: null,
  boundNextRuns: null,
  acquireLease: null,
  heartbeatLease: null,
  releaseLease: null,
  holdLease: null,
  saveSnapshot: null,
  loadSnapshot: { input: connectionRef, output: snapshotRecordSchema.nullable() },
  getDailyRequests: null,
  addDailyRequests: null,
  getRecentCalls: null,
  saveRecentCalls: null,
  upsertContacts: null,
  holdTenantChanges: null,
  getContacts: null,
  getMatchRecords: null,
  listChangeSeqs: null,
  listContacts: {
    input: tenantRef.extend({
      afterId: id.exactOptional(),
      limit: z.number().int().min(1).max(1000),
    }),
    output: z.array(storedContactSchema.extend({ links: z.array(linkSchema) })),
  },
  localChangeHighWater: null,
  listLocalChanges: null,
  getFoldedImportLines: null,
  recordFoldedImportLines: null,
  replaceMatchKeys: null,
  findCandidates: null,
  refreshMatchKeys: null,
  getLinksByExternalIds: null,
  getLinksByContactIds: null,
  hasLinks: null,
  upsertLinks: null,
  dropLinks: null,
  goneLinks: null,
  unversionedLinks: null,
  markSuppressed: null,
  getSuppressed: null,
  ingestEngagementEvents: {
    input: tenantRef.extend({ events: z.array(engagementEventSchema).max(1000), now: z.date() }),
    output: z.strictObject({
      inserted: z.array(z.string()),
      duplicates: z.array(z.string()),
      unknownContact: z.array(z.string()),
    }),
  },
  planPushes: null,
  markPushSent: null,
  markPushAcknowledged: null,
  markPushDeferred: null,
  markPushUnsent: null,
  listPendingPushes: null,
  quarantineRecords: null,
  listQuarantine: null,
  releaseQuarantine: null,
  commitCycle: null,
  listAudit: {
    input: auditQuerySchema,
    output: z.strictObject({ entries: z.array(auditEntrySchema), nextBeforeId: z.number().int().nullable() }),
  },
  listAuditItems: { input: auditItemsQuerySchema, output: auditItemsPageSchema },
  pruneAudit: { input: auditPruneQuerySchema, output: z.array(auditPrunedSchema) },
  stageRecords: null,
  unstageRecords: null,
  listStaged: null,
  stagedAmong: null,
  stagedHighWater: null,
  addCycleNotes: null,
  latestCycleNote: null,
  cycleNoteTotals: null,
  creationCandidates: null,
  clearCycleWork: null,
};

/** Methods of a store handle that are not data methods: never served, whatever the caller sends. */
export const holderOnlyMethods: ReadonlySet<string> = new Set([
  'transaction',
  'close',
  'publishAdminUrl',
  'databaseTime',
]);

/** The wire body of a call: `{ input }`. */
export const callBodySchema = z.strictObject({ input: z.unknown() });

/** The wire answer of a call: the method's own `Result`, failures included. */
export const answerSchema = z.union([
  z.strictObject({ ok: z.literal(true), value: z.unknown() }),
  z.strictObject({ ok: z.literal(false), error: z.looseObject({ kind: z.string(), message: z.string() }) }),
]);

/**
 * Wire encoding. superjson rather than plain JSON because inputs and rows carry `Date`s (`now`, `nextRunAt`,
 * `createdAt`) and `undefined` (void results) that JSON would turn into strings and drop; rather than
 * `v8.serialize` because the body stays JSON, readable with curl and parsed by the same code paths as the
 * admin API, and a malformed one is a plain parse error.
 */
export const encodeWire = (value: unknown): string => stringify(value);

/** The decoded value; throws on text that is not JSON (the endpoint answers 400). */
export const decodeWire = (text: string): unknown => parse(text);
