import type { FetchWindow } from '../core/cursor.ts';
import type { ProviderName } from '../core/providerName.ts';
import type { Result } from '../core/result.ts';
import type { CanonicalContact, ContactField, ContactPatch } from '../core/schemas.ts';

export { type ProviderName, providerNameSchema, providerNames } from '../core/providerName.ts';

/**
 * Expected provider failures, as values. `status` is the HTTP status when there was a response.
 * The machine maps kinds to behaviour: rate_limited/transient → backoff; quota_exhausted → park until
 * `resumeAt`; auth_failed → error; write_forbidden → hold the writes, not the reads; precondition_failed/conflict →
 * defer the record to the next cycle.
 */
export type ProviderError =
  | {
      kind: 'rate_limited';
      status: number;
      message: string /** ms to wait before the next call */;
      retryAfterMs: number;
    }
  | {
      kind: 'quota_exhausted';
      status: number;
      message: string /** ISO instant the quota resets */;
      resumeAt: string;
    }
  | { kind: 'auth_failed'; status: number; message: string }
  /**
   * The credentials read but may not write (agentOS: the key lacks the write tier; a spec's `writeScope`: Reapit's
   * 403 "scope"). Only writes return it; the push
   * holds its writes until a later cycle's are accepted, while reads go on.
   */
  | { kind: 'write_forbidden'; status: number; message: string }
  | { kind: 'precondition_failed'; status: number; message: string }
  | {
      kind: 'conflict';
      status: number;
      message: string /** the existing record, when the provider says */;
      location?: string;
    }
  | { kind: 'validation'; status: number | null; message: string; field?: string }
  | { kind: 'not_found'; status: number; message: string }
  | { kind: 'unsupported'; status: null; message: string }
  /**
   * The connection's base URL is not one its credentials may be sent to (plain http to another host, stored by an
   * earlier version): nothing was sent (`status` null). Or the CRM answered with a redirect (`status` 3xx), which is
   * not followed. The machine stops in error until the URL is changed.
   */
  | { kind: 'endpoint_refused'; status: number | null; message: string }
  /**
   * `retryAfterMs`: the server's Retry-After with a 5xx, when longer than a call waits; the backoff's least wait.
   * `unsent`: the caller stopped before the call went out, and no earlier attempt of it may have been applied.
   */
  | { kind: 'transient'; status: number | null; message: string; retryAfterMs?: number; unsent?: true };

export type ProviderErrorKind = ProviderError['kind'];

export {
  type CursorPosition,
  cursorPositionSchema,
  type FetchWindow,
  fetchWindowSchema,
} from '../core/cursor.ts';

/** One inbound record, mapped and validated. */
export interface InboundRecord {
  /** The provider's id for the record. */
  externalId: string;
  /** The provider's raw modified value (string as sent); the cursor is built from it. */
  modified: string;
  /** Concurrency token for updates (Reapit `_eTag`), `null` where the provider has none. */
  version: string | null;
  /** The record in canonical form; fields the provider cannot hold are at their defaults. */
  contact: CanonicalContact;
  /** Whether the provider marks the record deleted/trashed (soft: we archive, never hard-delete). */
  removed: boolean;
  /**
   * The `reference` our create wrote, where the CRM keeps it on the record (Reapit's `metadata.nurturehubId`):
   * the record is that contact's own create, whatever has been edited in it since.
   */
  reference?: string;
}

/** One record read by id (`CrmProvider.getRecord`). */
export type RecordRead = Omit<InboundRecord, 'modified'>;

/**
 * What a read of several records by id (`CrmProvider.getRecords`) answers for each id asked: what `getRecord`
 * would have answered for it.
 */
export type RecordsById = ReadonlyMap<string, Result<RecordRead, ProviderError>>;

/** A record the provider returned that failed its schema: quarantined, the rest of the page goes on. */
export interface InboundRecordError {
  /** The id if one could be read from the raw payload. */
  externalId: string | null;
  raw: unknown;
  message: string;
  /** Dotted paths of the failing fields. */
  fields: string[];
}

export interface ChangePage {
  records: InboundRecord[];
  errors: InboundRecordError[];
  /** Opaque token for the next page of the same window; `null` when the window is exhausted. */
  nextPageToken: string | null;
}

export type DeltaMode = 'modifiedSince' | 'cursorToken' | 'snapshotDiff';
export type WriteMode = 'patchIfMatch' | 'jsonPatch' | 'limitedFields' | 'postOnly' | 'put';

/** What a provider can do; declared, not discovered. */
export interface ProviderCapabilities {
  /** How changes are found: a modified-since filter, an opaque cursor token, or diffing a full listing. */
  deltaMode: DeltaMode;
  /** How updates are written and guarded. */
  writeMode: WriteMode;
  canCreate: boolean;
  canUpdate: boolean;
  canSearchByEmail: boolean;
  /**
   * A create whose e-mail the CRM already holds answers with that record instead of making another, so a create
   * whose answer was lost can simply be sent again.
   */
  createMergesByEmail: boolean;
  /**
   * `getRecord` reads one record by id. Required where a create can be answered with a record the CRM already
   * holds (agentOS's e-mail match, Alto's 409): the engine reads that record to tell whether it is the same person.
   * Elsewhere it lets the engine tell a linked record the CRM deleted (404) from one it still holds.
   */
  canGetRecord: boolean;
  /**
   * `getRecords` reads up to this many records by id in one request (Reapit's `id` filter, Alto's
   * `GET /contacts?id=`); `null` where the CRM documents no such read, and the engine reads one at a time.
   */
  maxIdsPerRead: number | null;
  /**
   * How long after a create is sent the CRM may still not show the record (listing, search, GET), in ms; 0 when a
   * create is applied before it is answered. A lost create is not sent again before this has passed. A delta's
   * page may hold records modified this long before the window's lower bound: the adapter of such a CRM lists the
   * records created in that span too, since one may have shown after a cycle passed its instant.
   */
  createSettleMs: number;
  /** Largest page the API accepts. */
  maxPageSize: number;
  /** Canonical fields the provider stores (read side). Others stay at their defaults inbound. */
  storedFields: readonly ContactField[];
  /** Canonical fields an update may change. Changes to other fields are skipped, not errors. */
  writableFields: readonly ContactField[];
}

/**
 * The one interface every CRM adapter implements. Every method takes one object parameter and
 * returns a Result; adapters never throw for expected failures.
 */
export interface CrmProvider {
  readonly name: ProviderName;
  readonly capabilities: ProviderCapabilities;

  /** One page of changes in `window`; pass the previous page's `nextPageToken` to continue. */
  listChanges(params: {
    window: FetchWindow;
    pageToken: string | null;
    signal?: AbortSignal;
  }): Promise<Result<ChangePage, ProviderError>>;

  /**
   * Create a contact; `reference` is our stable id, stored where the provider allows for later look-up.
   * `existing`: the CRM answered with a record it already held instead of making one (agentOS: 200 for a prospect
   * whose e-mail it knows); the engine links to it only if it is the same person (`getRecord`). A CRM that refuses
   * such a create instead answers `conflict` with the record's `location` (Alto's 409).
   */
  create(params: {
    contact: CanonicalContact;
    reference: string;
    signal?: AbortSignal;
  }): Promise<Result<{ externalId: string; version: string | null; existing?: boolean }, ProviderError>>;

  /**
   * The record a create of `contact` makes, as the provider's listing will show it. Pure. It differs from
   * `contact` where a field the create cannot send (agentOS: the address) or the listing does not show (Alto: one
   * phone) reads back empty. The engine records it as the link's base — whether the create was answered or, its
   * answer lost, found later — so the first read-back is not taken for an agency clearing those fields.
   */
  createdAsListed(contact: CanonicalContact): CanonicalContact;

  /** Change the given fields; `version` is the concurrency token read with the record, if any. */
  update(params: {
    externalId: string;
    patch: ContactPatch;
    version: string | null;
    signal?: AbortSignal;
  }): Promise<Result<{ version: string | null }, ProviderError>>;

  /** Records whose e-mail matches (case-insensitive). `unsupported` where the provider cannot search. */
  findByEmail(params: {
    email: string;
    signal?: AbortSignal;
  }): Promise<Result<InboundRecord[], ProviderError>>;

  /**
   * One record by its id, as the listing shows it (a listing's `modified` aside: a read of one record has no
   * place in a window). `not_found` when the CRM has no such record; `unsupported` where `canGetRecord` is false.
   */
  getRecord(params: { externalId: string; signal?: AbortSignal }): Promise<Result<RecordRead, ProviderError>>;

  /**
   * Up to `capabilities.maxIdsPerRead` records by id in one request, present where that is set. Each id is answered
   * as `getRecord` answers it, archived records included: the read, `not_found` when the CRM's answer lacks it,
   * `validation` when its record fails the schema. A failure of the request itself is the whole answer.
   */
  getRecords?(params: {
    externalIds: readonly string[];
    signal?: AbortSignal;
  }): Promise<Result<RecordsById, ProviderError>>;
}
