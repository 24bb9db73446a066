import { contentHash } from '../core/canonicalJson.ts';
import { type FetchWindow, latestPerRecord, withinLowerBound } from '../core/cursor.ts';
import { ok } from '../core/result.ts';
import { toStorableJson, toStorableText } from '../core/storableText.ts';
import type { FetchPhaseInput, FetchPhaseOutput } from '../machines/phases.ts';
import type { CycleWorkStore, StagedRecordInput } from '../persistence/cycleWork.ts';
import type { QuarantineInput } from '../persistence/records.ts';
import type { StoreResult } from '../persistence/store.ts';
import type { InboundRecord } from '../providers/provider.ts';
import type { PhaseCall, PhaseDeps } from './context.ts';
import { providerFailure, storeFailure } from './failures.ts';
import { must } from './storeCall.ts';
import { versionUnlistedCreates } from './unlistedCreates.ts';

/** Key prefix of the meta note of what each fetched page added to the cycle's staged records. */
const FETCHED_PAGE_KEY = 'fetched-page:';
/** Key prefix of the meta note of how many records each fetched page quarantined that the cycle had not before. */
const QUARANTINED_PAGE_KEY = 'quarantined-page:';

/**
 * Fetches ONE page of the window and stages it, with the page's malformed records quarantined, in one
 * transaction. Records already seen with the same content (the lower bound re-reads the cursor's instant;
 * snapshot-diff providers list everything) are dropped here, so later phases see only changes.
 * Re-running with the same input re-stages the same page: staging is keyed by (cycle, external id).
 * With `fetchMode: 'full'` the listing starts from the beginning and every record is staged (benchmark baseline).
 */
export function createFetchPhase(deps: PhaseDeps) {
  // A connection with no link when its cycle's fetch starts gets none before reconcile (links are written by
  // its own reconcile and push, after the fetch, under its lease), so a first sync skips the look-ups.
  let linkless: { cycleId: string; value: boolean } | null = null;
  // Whether the connection may hold quarantined records, which leave the quarantine once listed valid: asked once
  // a cycle (most connections hold none, and their pages skip the release), and so from a page that adds one.
  let quarantining: { cycleId: string; value: boolean } | null = null;
  return async ({ input, signal }: PhaseCall<FetchPhaseInput>): Promise<FetchPhaseOutput> => {
    const { store, provider, clock } = deps;
    const ref = { tenantId: input.connection.tenantId, connectionId: input.connection.connectionId };
    const full = deps.fetchMode === 'full';
    const window = full ? { ...input.window, from: null } : input.window;
    const page = await provider.listChanges({ window, pageToken: input.pageToken, signal });
    if (!page.ok) throw providerFailure(page.error, clock());

    const { from } = listedWindow(window, provider.capabilities.createSettleMs);
    const inWindow = page.value.records.filter((record) =>
      withinLowerBound({ modified: record.modified, externalId: record.externalId }, from),
    );
    // A page listing a record twice is read as its latest listing, before it is compared with the link.
    const candidates = latestPerRecord(inWindow).map(toStaged);
    if (linkless?.cycleId !== input.cycleId) {
      linkless = { cycleId: input.cycleId, value: !(await must(store.hasLinks(ref), clock)) };
    }
    const links =
      full || linkless.value || candidates.length === 0
        ? []
        : await must(
            store.getLinksByExternalIds({ ...ref, externalIds: candidates.map((r) => r.externalId) }),
            clock,
          );
    const seen = new Map<string, { remoteHash: string | null; remoteVersion: string | null }>(
      links.map((link) => [link.externalId, link]),
    );
    // Records suppressed as duplicates have no link; the content they were suppressed with stands in for one.
    // They are written with the links of the same batch, so a linkless connection has none.
    const unlinked = candidates.filter((r) => !seen.has(r.externalId)).map((r) => r.externalId);
    const suppressed =
      full || linkless.value || unlinked.length === 0
        ? []
        : await must(store.getSuppressed({ ...ref, externalIds: unlinked }), clock);
    for (const s of suppressed)
      seen.set(s.externalId, { remoteHash: s.contentHash, remoteVersion: s.remoteVersion });
    const isChanged = (record: StagedRecordInput) => {
      if (full) return true;
      const link = seen.get(record.externalId);
      // Same content but a new version (an edit to a field we do not map) still refreshes the link's ETag.
      return link?.remoteHash !== record.contentHash || link.remoteVersion !== record.version;
    };
    const changed: StagedRecordInput[] = [];
    // Listed as its link holds it: a change an earlier page of the cycle staged for it is one the CRM no longer
    // holds (saved and set back while the window was listed). Left staged, reconcile applied it, NurtureHub and the
    // CRM apart until the next edit.
    const unchanged: string[] = [];
    for (const record of candidates) {
      if (isChanged(record)) changed.push(record);
      else unchanged.push(record.externalId);
    }

    const errors = page.value.errors;
    if (quarantining?.cycleId !== input.cycleId) {
      const held = await must(store.listQuarantine({ ...ref, limit: 1 }), clock);
      quarantining = { cycleId: input.cycleId, value: held.length > 0 };
    }
    const valid = quarantining.value ? page.value.records.map((r) => r.externalId) : [];
    if (errors.length > 0) quarantining.value = true;
    const now = clock();
    // A page's figure, noted per page with its first run's kept: a page run again (its snapshot lost after this
    // commit) finds its records staged and quarantined already, and counted 0 of them, though the cycle fetched
    // every one.
    const firstPageFigure = async (
      tx: Pick<CycleWorkStore, 'addCycleNotes' | 'latestCycleNote'>,
      prefix: string,
      figure: number,
    ): StoreResult<number> => {
      const key = `${prefix}${input.page}:`;
      const noted = await tx.addCycleNotes({
        ...ref,
        cycleId: input.cycleId,
        notes: [{ kind: 'meta', key, body: figure }],
      });
      if (!noted.ok) return noted;
      const first = await tx.latestCycleNote({
        ...ref,
        cycleId: input.cycleId,
        kind: 'meta',
        keyPrefix: key,
      });
      if (!first.ok) return first;
      return ok(typeof first.value?.body === 'number' ? first.value.body : figure);
    };
    const committed = await store.transaction(async (tx) => {
      const staged = await tx.stageRecords({ ...ref, cycleId: input.cycleId, records: changed });
      if (!staged.ok) return staged;
      const overtaken = await tx.unstageRecords({ ...ref, cycleId: input.cycleId, externalIds: unchanged });
      if (!overtaken.ok) return overtaken;
      // The records the cycle holds staged now that it did not before: a record listed again is not counted twice.
      const stagedMore = await firstPageFigure(tx, FETCHED_PAGE_KEY, staged.value - overtaken.value);
      if (!stagedMore.ok) return stagedMore;
      if (valid.length > 0) {
        const released = await tx.releaseQuarantine({ ...ref, externalIds: valid });
        if (!released.ok) return released;
      }
      if (errors.length === 0) return ok({ stagedMore: stagedMore.value, quarantinedMore: 0 });
      const quarantined = await tx.quarantineRecords({
        ...ref,
        now,
        records: errors.map((e) => ({
          externalId: e.externalId === null ? null : toStorableText(e.externalId),
          payload: toJson(e.raw),
          error: toStorableText(e.message),
          fields: e.fields,
        })),
      });
      if (!quarantined.ok) return quarantined;
      const noted = await tx.addCycleNotes({
        ...ref,
        cycleId: input.cycleId,
        notes: errors.map((e, index) => ({
          kind: 'error' as const,
          key: toStorableText(`quarantine:${e.externalId ?? `${input.page}:${index}`}`),
          body: {
            status: null,
            message: toStorableText(`quarantined ${e.externalId ?? 'a record without an id'}: ${e.message}`),
            retry: false,
          },
        })),
      });
      if (!noted.ok) return noted;
      // A record read again within the cycle (a page re-read with the next, a run restarted) is one quarantined
      // record, as its audit error is noted once.
      const quarantinedMore = await firstPageFigure(tx, QUARANTINED_PAGE_KEY, noted.value);
      if (!quarantinedMore.ok) return quarantinedMore;
      return ok({ stagedMore: stagedMore.value, quarantinedMore: quarantinedMore.value });
    });
    if (!committed.ok) throw storeFailure(committed.error, clock());
    if (page.value.nextPageToken === null && !full) {
      await versionUnlistedCreates(deps, ref, new Set(page.value.records.map((r) => r.externalId)), signal);
    }
    return {
      nextPageToken: page.value.nextPageToken,
      records: committed.value.stagedMore,
      quarantined: committed.value.quarantinedMore,
    };
  };
}

/**
 * The window whose records a page may bring. A CRM that applies creates in the background (Reapit) may show a
 * record up to its `createSettleMs` after the instant it is stamped with, whoever created it (a portal's lead
 * importer, the agency's website): a cycle run before it showed moved the cursor past that instant. Its adapter
 * lists the records created that long before the cursor too (Reapit's `createdFrom`), so the lower bound is that
 * much before the cursor. The records read again unchanged are dropped at fetch, as at the cursor's own instant;
 * the cursor never moves back.
 */
export function listedWindow(window: FetchWindow, lookBackMs: number): FetchWindow {
  const { from } = window;
  const at = from === null ? Number.NaN : Date.parse(from.modified);
  if (from === null || lookBackMs === 0 || Number.isNaN(at)) return window;
  return { ...window, from: { ...from, modified: new Date(at - lookBackMs).toISOString() } };
}

function toStaged(record: InboundRecord): StagedRecordInput {
  // A record the provider reports removed is archived here, never deleted.
  const contact = record.removed ? { ...record.contact, status: 'archived' as const } : record.contact;
  return {
    externalId: record.externalId,
    modified: record.modified,
    version: record.version,
    removed: record.removed,
    contact,
    contentHash: contentHash(contact),
  };
}

/**
 * Raw payloads may hold values JSON cannot (undefined, functions) and text the store cannot (U+0000); the
 * quarantine keeps what it can.
 */
function toJson(raw: unknown): QuarantineInput['payload'] {
  try {
    return toStorableJson(JSON.parse(JSON.stringify(raw ?? null))) as QuarantineInput['payload'];
  } catch {
    return toStorableText(String(raw));
  }
}
