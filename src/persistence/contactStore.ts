import type { MatchRecord } from '../core/dedup/matchRecord.ts';
import type {
  ContactUpsert,
  EngagementEvent,
  GoneLink,
  Link,
  LinkInput,
  MatchKeysInput,
  StoredContact,
  StoredSuppressedRecord,
  SuppressedRecord,
} from './records.ts';
import type { ConnectionRef, StoreResult } from './store.ts';

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
  /**
   * Inside a transaction: waits for, and holds until it ends, the lock every writer of the tenant's contacts takes
   * (`upsertContacts`, engagement ingest). Reads after it see every contact committed before and none written
   * meanwhile: a look-up for duplicates that then writes is not raced by another process's writes.
   */
  holdTenantChanges(params: { tenantId: string }): StoreResult<void>;
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
   * one record per connection: its link to any other record of the connection is dropped, and its gone link cleared.
   */
  upsertLinks(ref: ConnectionRef & { links: LinkInput[]; now: Date }): StoreResult<void>;
  /**
   * Forget the links of these records (ones the CRM no longer has): their contacts are no longer linked here. Each
   * is kept as its contact's gone link of the connection (`goneLinks`) until the contact is linked here again.
   */
  dropLinks(ref: ConnectionRef & { externalIds: string[]; now: Date }): StoreResult<void>;
  /** The gone links of these contacts (`dropLinks`), one at most per contact: the latest dropped. */
  goneLinks(ref: ConnectionRef & { contactIds: string[] }): StoreResult<GoneLink[]>;
  /**
   * Up to `limit` links of the connection without the CRM's version, written since `since`, the latest first. In a
   * CRM whose updates need a version they are the records a create made that no listing has shown since.
   */
  unversionedLinks(ref: ConnectionRef & { since: Date; limit: number }): StoreResult<Link[]>;
  /**
   * Remember records suppressed as duplicates with the content they had, replacing what was remembered. Rows
   * are written with the links of the same batch, so a connection without links has none.
   */
  markSuppressed(ref: ConnectionRef & { records: SuppressedRecord[]; now: Date }): StoreResult<void>;
  /** The remembered suppressions among `externalIds`, each with when it was last suppressed (`now` above). */
  getSuppressed(ref: ConnectionRef & { externalIds: string[] }): StoreResult<StoredSuppressedRecord[]>;
  /**
   * Of the `contact import` line ids given, those folded into a contact they matched (`recordFoldedImportLines`),
   * each with that contact.
   */
  getFoldedImportLines(params: {
    tenantId: string;
    lineIds: string[];
  }): StoreResult<Array<{ lineId: string; contactId: string }>>;
  /** Remembers `contact import` lines folded into the contacts they matched; a line recorded before keeps its own. */
  recordFoldedImportLines(params: {
    tenantId: string;
    lines: Array<{ lineId: string; contactId: string }>;
  }): StoreResult<void>;
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
