import { z } from 'zod';
import { type CursorPosition, cursorPositionSchema, withinLowerBound } from '../../core/cursor.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { engagementFields } from '../../core/schemas.ts';
import type { HttpTransport } from '../base.ts';
import { clearedSurname } from '../clearedSurname.ts';
import { type ClientCredentialsTokenCache, clientCredentialsTransport } from '../clientCredentials.ts';
import type { ConnectionLimiter } from '../limiter.ts';
import {
  compareAtGrain,
  idsAtInstant,
  pastAnchor,
  seenAtAnchorSchema,
  seenThrough,
} from '../listingAnchor.ts';
import { decodePageToken, encodePageToken } from '../pageToken.ts';
import type { ChangePage, CrmProvider, FetchWindow, ProviderError } from '../provider.ts';
import { mapRecords } from '../records.ts';
import { readByIds } from '../recordsById.ts';
import type { ProviderSpec } from '../spec.ts';
import { engagementKeys, engagementOf, toInboundRecord, toReapitCreate, toReapitUpdate } from './mapping.ts';
import {
  REAPIT_API_VERSION,
  type ReapitCredentials,
  reapitContactPageSchema,
  reapitPositionSchema,
} from './schemas.ts';
import { REAPIT_LISTING_GRAIN_MS, reapitSpec } from './spec.ts';

/**
 * Where a listing stands. Reapit pages by number inside a `modifiedFrom`/`modifiedTo` filter and has no id
 * tie-break, so the token re-anchors `modifiedFrom` at the last record seen and drops what precedes the
 * anchor; only inside a run of equal timestamps longer than a page does it step `pageNumber`, asking for the
 * run's millisecond alone (`runTo`), and if the run's `totalCount` changes meanwhile (a record left the window,
 * shifting later ones onto pages already read) it restarts the run from page 1. See docs/providers.md, "Reapit:
 * completeness".
 */
const pageTokenSchema = z.strictObject({
  to: z.string(),
  after: cursorPositionSchema.nullable(),
  /** `after` is the window's lower bound: keep records at its instant, whatever the ids; else only those past it. */
  inclusive: z.boolean(),
  /** Ids returned at `after`'s instant before re-anchoring there (`seenAtAnchorSchema`). */
  seen: seenAtAnchorSchema,
  page: z.number().int().min(1),
  /** `totalCount` seen on page 1 of this anchor. */
  total: z.number().int().nullable(),
  /**
   * Inside a run: the last instant of its millisecond, the `modifiedTo` its pages are asked with, so `totalCount`
   * counts the run alone. Absent: the window's `to` (and in a token written before it).
   */
  runTo: z.string().nullable().optional(),
  /**
   * The listing of the creates Reapit may have shown late (`firstToken`): records created on or after this
   * instant, up to `to`, the cursor's. Absent: the window's own listing (and in a token written before it).
   */
  createdFrom: z.string().optional(),
});
type PageToken = z.infer<typeof pageTokenSchema>;

/**
 * Instants as the listing sees them: one millisecond, whatever the ticks below it. Comparing the 7-digit stamps
 * in full re-anchored a page ending inside a millisecond at its last record's ticks, dropping the records of that
 * millisecond listed later with lower ticks; a page of them all below the anchor's ticks re-anchored backwards,
 * onto the same page, for ever.
 */
const compareListed = compareAtGrain(REAPIT_LISTING_GRAIN_MS);

/**
 * The last instant of the listing grain holding `modified`, in Reapit's 7 digits; `null` when it is no instant.
 * ASSUMPTION: `modifiedTo` is "on or before" at some precision down to the tick, so the run's every record is within.
 */
function endOfMillisecond(modified: string): string | null {
  const ms = Date.parse(modified);
  if (Number.isNaN(ms)) return null;
  const end =
    Math.floor(ms / REAPIT_LISTING_GRAIN_MS) * REAPIT_LISTING_GRAIN_MS + REAPIT_LISTING_GRAIN_MS - 1;
  return `${new Date(end).toISOString().slice(0, -1)}9999Z`;
}

/**
 * The first instant of the listing grain holding `modified`: the bound a listing is asked from. The anchor's own
 * ticks, sent as they are, would leave out the records of its millisecond stamped below them wherever Reapit
 * compares finer than the millisecond; `withinLowerBound` and `pastAnchor` drop what the anchor already covers.
 */
function startOfMillisecond(modified: string): string {
  const ms = Date.parse(modified);
  if (Number.isNaN(ms)) return modified;
  return new Date(Math.floor(ms / REAPIT_LISTING_GRAIN_MS) * REAPIT_LISTING_GRAIN_MS).toISOString();
}

/**
 * The listing after a run: from the next millisecond on, to the window's end (every record of the run returned).
 * Inclusive, that bound keeps its whole millisecond whatever the ids; the anchor's id stands in for one.
 */
function pastRun(token: PageToken): PageToken {
  const modified = new Date(Date.parse(token.runTo ?? '') + 1).toISOString();
  const after = { modified, externalId: token.after?.externalId ?? 'past-run' };
  return { to: token.to, after, inclusive: true, page: 1, total: null, ...listingOf(token) };
}

/** Which listing a token pages through, carried to every token after it. */
function listingOf(token: PageToken): Pick<PageToken, 'createdFrom'> {
  return token.createdFrom === undefined ? {} : { createdFrom: token.createdFrom };
}

/** A window's listing from its lower bound, as the listing of creates ends with (`firstToken`). */
function windowToken(window: FetchWindow): PageToken {
  return { to: window.to, after: window.from, inclusive: true, page: 1, total: null };
}

/**
 * Where a delta begins. Reapit applies a create in the background [R1] and may show the record up to
 * `createSettleMs` after the instant it is stamped with, whoever created it (a portal's lead importer, the agency's
 * website): a cycle that passed that instant before the record showed moved the cursor past it, and no listing from
 * the cursor would bring it. So a delta first lists the records created in that span before the cursor
 * (`createdFrom`, up to the cursor), then the window from the cursor. Listing the span by `modified` instead read
 * every record edited in it again, each cycle. The records read twice are dropped at fetch, unchanged.
 */
function firstToken(window: FetchWindow, settleMs: number): PageToken {
  const from = window.from;
  const at = from === null ? Number.NaN : Date.parse(from.modified);
  if (from === null || settleMs === 0 || Number.isNaN(at)) return windowToken(window);
  const createdFrom = new Date(at - settleMs).toISOString();
  // Inclusive, the bound keeps its whole millisecond whatever the ids; the id stands in for one.
  const after = { modified: createdFrom, externalId: 'created-from' };
  return { to: from.modified, after, inclusive: true, page: 1, total: null, createdFrom };
}

export interface ReapitProviderParams {
  baseUrl: string;
  credentials: ReapitCredentials;
  /** The connection's limiter; defaults to one built from `spec`. */
  limiter?: ConnectionLimiter;
  /** Defaults to the documented `reapitSpec`; tests pass a scaled copy. */
  spec?: ProviderSpec;
  fetch?: typeof fetch;
  /** The process's OAuth tokens; without it the provider keeps its own. */
  tokenCache?: ClientCredentialsTokenCache;
}

export function createReapitProvider(params: ReapitProviderParams): CrmProvider {
  const spec = params.spec ?? reapitSpec;
  const credentials = params.credentials;
  const http: HttpTransport = clientCredentialsTransport({
    label: 'Reapit',
    baseUrl: params.baseUrl,
    spec,
    credentials,
    extraBody: { client_id: credentials.clientId },
    headers: { 'reapit-customer': credentials.customerId, 'api-version': REAPIT_API_VERSION },
    limiter: params.limiter,
    fetch: params.fetch,
    tokenCache: params.tokenCache,
  });
  const pageSize = spec.pagination.maxPageSize;

  async function listChanges(p: {
    window: FetchWindow;
    pageToken: string | null;
    signal?: AbortSignal;
  }): Promise<Result<ChangePage, ProviderError>> {
    const decoded =
      p.pageToken === null
        ? ok(firstToken(p.window, spec.capabilities.createSettleMs))
        : decodePageToken(pageTokenSchema, p.pageToken);
    if (!decoded.ok) return decoded;
    const token = decoded.value;
    // A window whose cursor is past its end (this host's clock behind the one that ran the cycle before), or a run
    // past a listing's last millisecond, holds nothing to list: not asked, as Reapit may refuse a range that ends
    // before it begins.
    if (token.after !== null && Date.parse(token.after.modified) > Date.parse(token.runTo ?? token.to))
      return ok({ records: [], errors: [], nextPageToken: listingAfter(token, p.window) });
    const query = new URLSearchParams({
      pageSize: String(pageSize),
      pageNumber: String(token.page),
      sortBy: 'modified',
      modifiedTo: token.runTo ?? token.to,
    });
    if (token.after) query.set('modifiedFrom', startOfMillisecond(token.after.modified));
    if (token.createdFrom !== undefined) query.set('createdFrom', token.createdFrom);
    const response = await http.send({ method: 'GET', path: `/contacts/?${query}`, signal: p.signal });
    if (!response.ok) return response;
    const page = reapitContactPageSchema.safeParse(response.value.json);
    if (!page.success)
      return err({ kind: 'validation', status: 200, message: `contacts page: ${page.error.message}` });
    const { _embedded: raws, totalCount, totalPageCount } = page.data;

    if (token.total !== null && totalCount !== token.total) {
      return ok({
        records: [],
        errors: [],
        nextPageToken: encodePageToken({ ...token, page: 1, total: null }),
      });
    }
    const positions = raws.map((raw) => {
      const at = reapitPositionSchema.safeParse(raw);
      return at.success ? { modified: at.data.modified, externalId: at.data.id } : null;
    });
    const wanted = raws.filter((_, i) => {
      const position = positions[i];
      if (!position || token.after === null) return true;
      return token.inclusive
        ? withinLowerBound(position, token.after)
        : pastAnchor(position, token.after, token.seen, compareListed);
    });
    const { records, errors } = mapRecords(wanted, toInboundRecord);
    const next = nextToken(token, positions, totalCount, totalPageCount);
    return ok({ records, errors, nextPageToken: next ?? listingAfter(token, p.window) });
  }

  /** What follows a listing that has ended: the creates listed, the window's own listing; else nothing. */
  function listingAfter(token: PageToken, window: FetchWindow): string | null {
    return token.createdFrom === undefined ? null : encodePageToken(windowToken(window));
  }

  function nextToken(
    token: PageToken,
    positions: Array<CursorPosition | null>,
    totalCount: number,
    totalPageCount: number,
  ): string | null {
    const lastPage = positions.length < pageSize || token.page >= totalPageCount;
    const stepPage = (): PageToken => ({ ...token, page: token.page + 1, total: token.total ?? totalCount });
    // A run's pages are asked for its millisecond alone: past its last page the listing goes on after it.
    if (token.runTo != null) {
      // A run at the listing's last millisecond goes on past its end, which listChanges answers empty, unasked.
      return encodePageToken(lastPage ? pastRun(token) : stepPage());
    }
    if (lastPage) return null;
    const last = positions.findLast((position) => position !== null) ?? undefined;
    if (last === undefined) return encodePageToken(stepPage());
    const anchor = token.after;
    const runTo = anchor === null ? null : endOfMillisecond(anchor.modified);
    // A page that brings nothing past the anchor's millisecond begins a run longer than a page; re-anchoring could
    // not advance. Its pages are asked for that millisecond alone (`runTo`), from page 1 again: asked to the
    // window's end, `totalCount` counted every record after the run too, and any agency save among them restarted
    // the run, which on a busy first sync never finished. Page 1 comes again, its records dropped as seen.
    if (anchor !== null && runTo !== null && compareListed(last.modified, anchor.modified) <= 0)
      return encodePageToken({
        ...token,
        inclusive: false,
        seen: seenThrough(token, positions, anchor.modified, compareListed),
        page: 1,
        total: null,
        runTo,
      });
    return encodePageToken({
      to: token.to,
      after: last,
      inclusive: false,
      // Ties have no documented order: drop what this page returned at the new anchor's instant, by id.
      seen: idsAtInstant(positions, last.modified, compareListed),
      page: 1,
      total: null,
      ...listingOf(token),
    });
  }

  return {
    name: 'reapit',
    capabilities: spec.capabilities,
    listChanges,

    async create({ contact, reference, signal }) {
      if (!credentials.officeId || !credentials.negotiatorId) {
        return err({
          kind: 'validation',
          status: null,
          message: 'Reapit creates need officeId and negotiatorId in the credentials',
        });
      }
      if (!contact.lastName)
        return err({
          kind: 'validation',
          status: null,
          message: 'Reapit requires a surname',
          field: 'lastName',
        });
      if (!contact.email && !contact.mobilePhone && !contact.homePhone && !contact.workPhone) {
        return err({
          kind: 'validation',
          status: null,
          message: 'Reapit requires an e-mail or a phone number',
          field: 'email',
        });
      }
      const body = toReapitCreate({
        contact,
        reference,
        officeId: credentials.officeId,
        negotiatorId: credentials.negotiatorId,
      });
      const response = await http.send({ method: 'POST', path: '/contacts/', body, signal });
      if (!response.ok) return response;
      // 201 with an empty body; the new id is the last segment of Location [R1].
      const externalId = response.value.headers.get('location')?.split('/').filter(Boolean).at(-1);
      if (!externalId)
        return err({
          kind: 'transient',
          status: response.value.status,
          message: 'Reapit 201 without Location',
        });
      return ok({ externalId: decodeURIComponent(externalId), version: null });
    },

    // Every field a create sends is listed.
    createdAsListed: (contact) => contact,

    async update({ externalId, patch, version, signal }) {
      if (version === null) {
        // A record we created and have not listed since: its _eTag comes with the next delta. One the agency deleted
        // meanwhile never will; the read tells, so its 404 reaches the engine as any update's would (link dropped).
        const current = await getContact(externalId, signal);
        if (!current.ok) return current;
        return err({
          kind: 'precondition_failed',
          status: 428,
          message: 'Reapit updates need the record _eTag (If-Match)',
        });
      }
      const surname = clearedSurname('Reapit', patch);
      if (surname !== null) return err(surname);
      const body = toReapitUpdate(patch);
      const touched = engagementKeys(patch);
      if (touched.length > 0) {
        // `metadata.nurturehub` is written whole; fill fields the patch leaves out from the current record.
        let base = patch;
        if (touched.length < engagementFields.length) {
          const current = await getContact(externalId, signal);
          if (!current.ok) return current;
          if (current.value.version !== version) {
            return err({
              kind: 'precondition_failed',
              status: 412,
              message: `${externalId} changed since it was read`,
            });
          }
          base = { ...current.value.contact, ...patch };
        }
        body.metadata = { nurturehub: engagementOf(base) };
      }
      const response = await http.send({
        method: 'PATCH',
        path: `/contacts/${encodeURIComponent(externalId)}`,
        headers: { 'if-match': version },
        body,
        signal,
      });
      if (!response.ok) return response;
      // 204 without a body [R1]: the new _eTag arrives with the next delta unless an ETag header is sent.
      return ok({ version: response.value.headers.get('etag') });
    },

    async findByEmail({ email, signal }) {
      // [R3]: the filter is the array parameter `email`, sent as repeated keys (form, explode), not `email[]`.
      const query = new URLSearchParams({ pageSize: String(pageSize), email });
      const response = await http.send({ method: 'GET', path: `/contacts/?${query}`, signal });
      if (!response.ok) return response;
      const page = reapitContactPageSchema.safeParse(response.value.json);
      if (!page.success)
        return err({ kind: 'validation', status: 200, message: `contacts page: ${page.error.message}` });
      const { records } = mapRecords(page.data._embedded, toInboundRecord);
      const wanted = email.trim().toLowerCase();
      return ok(records.filter((r) => r.contact.email?.toLowerCase() === wanted));
    },

    async getRecord({ externalId, signal }) {
      // [R1]: one contact by id, as the listing serves it; a read of one record drops its `modified`.
      const read = await getContact(externalId, signal);
      if (!read.ok) return read;
      const { modified: _, ...record } = read.value;
      return ok(record);
    },

    getRecords: ({ externalIds, signal }) =>
      readByIds({
        externalIds,
        maxIds: spec.capabilities.maxIdsPerRead,
        what: 'Reapit GET /contacts/?id=',
        // [R3]: the array parameter `id` as repeated keys (form, explode), one page of as many; no `fromArchive`/
        // `active` filter, which omitted means none [R1], so an archived contact is answered as its GET answers it.
        send: async (ids) => {
          const query = new URLSearchParams({ pageSize: String(ids.length) });
          for (const id of ids) query.append('id', id);
          const response = await http.send({ method: 'GET', path: `/contacts/?${query}`, signal });
          if (!response.ok) return response;
          const page = reapitContactPageSchema.safeParse(response.value.json);
          if (!page.success)
            return err({ kind: 'validation', status: 200, message: `contacts page: ${page.error.message}` });
          // A record on another page would be taken for absent: such an answer says nothing of any id.
          if (page.data.totalCount > page.data._embedded.length)
            return err({ kind: 'validation', status: 200, message: 'contacts by id: more than one page' });
          return ok({ status: response.value.status, raws: page.data._embedded });
        },
        read: (raw) => {
          const read = toInboundRecord(raw);
          if (!read.ok) return read;
          const { modified: _, ...record } = read.value;
          return ok(record);
        },
      }),
  };

  async function getContact(externalId: string, signal: AbortSignal | undefined) {
    const response = await http.send({
      method: 'GET',
      path: `/contacts/${encodeURIComponent(externalId)}`,
      signal,
    });
    if (!response.ok) return response;
    const record = toInboundRecord(response.value.json);
    if (!record.ok)
      return err<ProviderError>({ kind: 'validation', status: 200, message: record.error.message });
    return record;
  }
}
