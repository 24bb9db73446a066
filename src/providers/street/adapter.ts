import { z } from 'zod';
import {
  type CursorPosition,
  compareModified,
  cursorPositionSchema,
  withinLowerBound,
} from '../../core/cursor.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { createHttpTransport, type HttpTransport } from '../base.ts';
import { type ConnectionLimiter, createLimiter } from '../limiter.ts';
import { idsAtInstant, pastAnchor, seenAtAnchorSchema } from '../listingAnchor.ts';
import { decodePageToken, encodePageToken } from '../pageToken.ts';
import type { ChangePage, CrmProvider, FetchWindow, ProviderError } from '../provider.ts';
import { mapRecords, recordRead } from '../records.ts';
import type { ProviderSpec } from '../spec.ts';
import { clearedName, toInboundRecord, toStreetUpdate, withBothNames } from './mapping.ts';
import {
  JSON_API,
  type StreetCredentials,
  type StreetPerson,
  type StreetPersonUpdate,
  streetPageSchema,
  streetPersonSchema,
  streetPositionSchema,
} from './schemas.ts';
import { streetSpec } from './spec.ts';

/**
 * Where a listing stands. A listing is two passes over the window: the people in it, then those trashed in it
 * (`filter[trashed]=only` [S3]), every one of them removed: the published Person carries no deletion attribute
 * [S3], so a person listed with `filter[trashed]=with` could not be told from a live one. Within a pass, Street
 * pages by number inside `filter[updated_from]`/`filter[updated_to]` [S3] with no id tie-break, so, as for Reapit,
 * the token re-anchors `updated_from` at the last record returned (`after`) and drops what precedes it; only while
 * a page brings nothing past the anchor's timestamp (a run of equal `updated_at` longer than a page) does it step
 * `page[number]`, and if `meta.pagination.total` changes meanwhile (a record left the window) it re-reads the run
 * from page 1. See docs/providers.md, "Street: completeness".
 */
const pageTokenSchema = z.strictObject({
  to: z.string(),
  /** The window's inclusive lower bound. */
  from: cursorPositionSchema.nullable(),
  /** The last record returned; `null` before the first. */
  after: cursorPositionSchema.nullable(),
  /** Ids returned at `after`'s instant before re-anchoring there (`seenAtAnchorSchema`). */
  seen: seenAtAnchorSchema,
  page: z.number().int().min(1),
  /** `meta.pagination.total` seen on page 1 of this anchor. */
  total: z.number().int().nullable(),
  /** The second pass: people in the trash. Absent from tokens of the single pass before it, which read the live. */
  trashed: z.boolean().default(false),
  /** Street served a page out of `updated_at` order: this pass steps `page[number]` alone, never re-anchoring. */
  unordered: z.boolean().default(false),
  /** Stepping `page[number]`: the ids of the page read last, which is read again with this one. */
  previousIds: z.array(z.string()).optional(),
});
type PageToken = z.infer<typeof pageTokenSchema>;

export interface StreetProviderParams {
  baseUrl: string;
  credentials: StreetCredentials;
  /** The connection's limiter; defaults to one built from `spec`. */
  limiter?: ConnectionLimiter;
  /** Defaults to the documented `streetSpec`; tests pass a scaled copy. */
  spec?: ProviderSpec;
  fetch?: typeof fetch;
}

/**
 * `filter[updated_from]` is documented as "updated after" [S3] and `updated_at` has whole seconds (the spec's
 * example `2019-08-24T14:15:22Z`). ASSUMPTION-proofing: the lower bound is sent one second early and the inclusive
 * bound (the cursor's whole millisecond, whatever the ids: `withinLowerBound`) is applied here, so neither an
 * exclusive filter nor truncation loses a record.
 */
const LOWER_BOUND_SLACK_MS = 1_000;
const earlier = (value: string) => new Date(Date.parse(value) - LOWER_BOUND_SLACK_MS).toISOString();

/**
 * The upper bound is sent cut to the whole second. `updated_at` has whole seconds, so a record saved during
 * the cycle in the same second as `to` would otherwise still match the filter and, moved to the end of the
 * listing, shift a run being paged by number. With the documented "before" (strict) reading it now lies outside;
 * records of that second that predate the cycle come in the next window (the cursor stays below them).
 */
const wholeSecond = (value: string) => new Date(Math.floor(Date.parse(value) / 1000) * 1000).toISOString();

const positionOf = (raw: unknown): CursorPosition | null => {
  const at = streetPositionSchema.safeParse(raw);
  return at.success ? { modified: at.data.attributes.updated_at, externalId: at.data.id } : null;
};

/** Whether a page's readable positions are in ascending `updated_at`, ties in any order. */
function ascending(positions: ReadonlyArray<CursorPosition | null>): boolean {
  const present = positions.filter((position) => position !== null);
  return present.every(
    (position, i) =>
      i === 0 || compareModified((present[i - 1] as CursorPosition).modified, position.modified) <= 0,
  );
}

export function createStreetProvider(params: StreetProviderParams): CrmProvider {
  const spec = params.spec ?? streetSpec;
  const http: HttpTransport = createHttpTransport({
    baseUrl: params.baseUrl,
    spec,
    limiter: params.limiter ?? createLimiter(spec),
    ...(params.fetch ? { fetch: params.fetch } : {}),
    // [S1][S3]: bearer token; JSON:API media type on every response [S3].
    headers: async () => ok({ authorization: `Bearer ${params.credentials.apiToken}`, accept: JSON_API }),
  });
  const pageSize = spec.pagination.maxPageSize;

  async function listChanges(p: {
    window: FetchWindow;
    pageToken: string | null;
    signal?: AbortSignal;
  }): Promise<Result<ChangePage, ProviderError>> {
    const decoded =
      p.pageToken === null
        ? ok<PageToken>({
            to: p.window.to,
            from: p.window.from,
            after: null,
            page: 1,
            total: null,
            trashed: false,
            unordered: false,
          })
        : decodePageToken(pageTokenSchema, p.pageToken);
    if (!decoded.ok) return decoded;
    const token = decoded.value;
    const anchor = token.after ?? token.from;
    const page = await fetchPeople(token, token.page, p.signal);
    if (!page.ok) return page;
    // The window ends no later than the end of Street's own second when its listing begins (the answer's `Date`).
    // With our clock ahead, Street went on stamping seconds inside the window while we listed: a person trashed after
    // the live pass, listed by the trash pass, moved the cursor past the second of a live edit saved after the live
    // pass read its place, never read. Saves of that last second are read again with the cursor's second.
    // ASSUMPTION: Street's `Date` and `updated_at` come from one clock (an HTTP server sends `Date`, RFC 9110).
    const streetNow = page.value.date === null ? Number.NaN : Date.parse(page.value.date);
    if (p.pageToken === null && !Number.isNaN(streetNow)) {
      // Street stamped the cursor, so a `Date` before the cursor's second is no clock of its stamps (a proxy's, a
      // cached answer): ignored, as a missing one is. Taken, the window ended before it began, cycle after cycle.
      const endMs = Math.floor(streetNow / 1000) * 1000 + 1000;
      const behindCursor = token.from !== null && endMs <= Date.parse(token.from.modified);
      const end = new Date(endMs).toISOString();
      if (!behindCursor && compareModified(end, wholeSecond(token.to)) < 0)
        return ok({ records: [], errors: [], nextPageToken: encodePageToken({ ...token, to: end }) });
    }
    const { data: raws, meta } = page.value.page;
    if (token.total !== null && meta.pagination.total !== token.total) {
      return ok({
        records: [],
        errors: [],
        nextPageToken: encodePageToken({ ...token, page: 1, total: null }),
      });
    }
    // Stepping pages within a run of one second: a member saved meanwhile moves to the end of the listing and shifts
    // later members back onto the page already read (unseen when it stays in the window, so the total holds, as
    // when our clock runs ahead of Street's). That page is read again with this one, as Loop's listing does.
    let candidates = raws;
    if (token.page > 1 && token.previousIds !== undefined) {
      const previous = await fetchPeople(token, token.page - 1, p.signal);
      if (!previous.ok) return previous;
      const read = new Set([
        ...token.previousIds,
        ...raws.flatMap((raw) => positionOf(raw)?.externalId ?? []),
      ]);
      candidates = [
        ...previous.value.page.data.filter((raw) => {
          const id = positionOf(raw)?.externalId;
          return id === undefined || !read.has(id);
        }),
        ...raws,
      ];
    }
    const positions = raws.map(positionOf);
    const wanted = candidates.filter((raw) => {
      const position = positionOf(raw);
      if (!position) return true;
      // The bound's own second is left out, as the filter's documented "before" reads it: a Street comparing
      // inclusively would bring saves of a second still being stamped.
      if (compareModified(position.modified, wholeSecond(token.to)) >= 0) return false;
      // The cursor's whole second (Street stamps whole seconds) is read again, whatever the ids.
      if (!withinLowerBound(position, token.from)) return false;
      return pastAnchor(position, token.after, token.seen);
    });
    const { records, errors } = mapRecords(wanted, (raw) => toInboundRecord(raw, token.trashed));
    const trashPass: PageToken | null = token.trashed
      ? null
      : {
          to: token.to,
          from: token.from,
          after: null,
          page: 1,
          total: null,
          trashed: true,
          unordered: false,
        };
    // [S3] documents no order for `GET /people`; re-anchoring at a page's last record assumes ascending
    // `updated_at` (the simulator's, an ASSUMPTION). A page out of that order (say, by id) would have the
    // re-anchored pass skip what sorts after it: the pass is read again from its start, by page number alone.
    if (!token.unordered && !ascending(positions)) {
      const restart: PageToken = {
        ...token,
        after: null,
        seen: undefined,
        page: 1,
        total: null,
        unordered: true,
      };
      return ok({ records, errors, nextPageToken: encodePageToken(restart) });
    }

    // The page size served, not the one asked for: Street caps `page[size]` at 100 [S2] (its OpenAPI says 250 [S3]).
    const { current_page, total_pages, total, per_page } = meta.pagination;
    if (raws.length < per_page || current_page >= total_pages)
      return ok({ records, errors, nextPageToken: trashPass && encodePageToken(trashPass) });
    const last = positions.findLast((position) => position !== null) ?? undefined;
    const progressed =
      !token.unordered &&
      last !== undefined &&
      (anchor === null || compareModified(last.modified, anchor.modified) > 0);
    const next: PageToken = progressed
      ? // Ties have no documented order: drop what this page returned at the new anchor's second, by id.
        {
          ...token,
          after: last,
          seen: idsAtInstant(positions, last.modified),
          page: 1,
          total: null,
          previousIds: undefined,
        }
      : {
          ...token,
          page: token.page + 1,
          total: token.total ?? total,
          previousIds: positions.flatMap((position) => (position === null ? [] : [position.externalId])),
        };
    return ok({ records, errors, nextPageToken: encodePageToken(next) });
  }

  /** One page of `GET /people` for the pass and anchor `token` holds [S3], with the answer's `Date`. */
  async function fetchPeople(
    token: PageToken,
    number: number,
    signal: AbortSignal | undefined,
  ): Promise<Result<{ page: z.infer<typeof streetPageSchema>; date: string | null }, ProviderError>> {
    const anchor = token.after ?? token.from;
    const query = new URLSearchParams({
      'filter[updated_to]': wholeSecond(token.to),
      'page[number]': String(number),
      'page[size]': String(pageSize),
    });
    if (anchor) query.set('filter[updated_from]', earlier(anchor.modified));
    if (token.trashed) query.set('filter[trashed]', 'only');
    const response = await http.send({ method: 'GET', path: `/people?${query}`, signal });
    if (!response.ok) return response;
    const page = streetPageSchema.safeParse(response.value.json);
    return page.success
      ? ok({ page: page.data, date: response.value.headers.get('date') })
      : err({ kind: 'validation', status: 200, message: `people page: ${page.error.message}` });
  }

  /** `changed` with the names it lacks as the person holds them now (`withBothNames`): one read first. */
  async function withNamesListed(
    externalId: string,
    changed: StreetPersonUpdate,
    signal: AbortSignal | undefined,
  ): Promise<Result<StreetPersonUpdate, ProviderError>> {
    if (changed.first_name !== undefined && changed.last_name !== undefined) return ok(changed);
    const person = await getPerson(externalId, signal);
    if (!person.ok) return person;
    const named = withBothNames(changed, person.value.attributes);
    return named.ok ? named : err({ kind: 'validation', status: null, ...named.error });
  }

  /** `GET /people/{person_id}` [S3]; a trashed person answers 404 (an ASSUMPTION of the simulator's). */
  async function getPerson(
    externalId: string,
    signal: AbortSignal | undefined,
  ): Promise<Result<StreetPerson, ProviderError>> {
    const response = await http.send({
      method: 'GET',
      path: `/people/${encodeURIComponent(externalId)}`,
      signal,
    });
    if (!response.ok) return response;
    const person = z.object({ data: streetPersonSchema }).safeParse(response.value.json);
    return person.success
      ? ok(person.data.data)
      : err({ kind: 'validation', status: 200, message: `person: ${person.error.message}` });
  }

  return {
    name: 'street',
    capabilities: spec.capabilities,
    listChanges,

    async create() {
      return err({
        kind: 'unsupported',
        status: null,
        message: 'Street has no person create in its Open API',
      });
    },

    // Street cannot create people.
    createdAsListed: (contact) => contact,

    async update({ externalId, patch, signal }) {
      // No ETag/If-Match [S3]: `version` is ignored; fields Street cannot write are skipped. A name clear is refused,
      // not left out: an update acknowledged without it moved the link's base to no name, and the next read-back
      // took Street's name for an agency edit and undid NurtureHub's.
      const cleared = clearedName(patch);
      if (cleared !== null) return err({ kind: 'validation', status: null, ...cleared });
      // Refused for the same reason: acknowledged without it, the base took `notAsked`, and the next agency edit
      // of the person read Street's consent as a change and undid NurtureHub's.
      if (patch.marketingConsent === 'notAsked')
        return err({
          kind: 'validation',
          status: null,
          field: 'marketingConsent',
          message: 'Street holds marketing consent as yes or no; it cannot record it as not asked',
        });
      const changed = toStreetUpdate(patch);
      if (Object.keys(changed).length === 0) return ok({ version: null });
      const attributes = await withNamesListed(externalId, changed, signal);
      if (!attributes.ok) return attributes;
      const response = await http.send({
        method: 'PATCH',
        path: `/people/${encodeURIComponent(externalId)}`,
        body: { data: { type: 'person', id: externalId, attributes: attributes.value } },
        contentType: JSON_API,
        signal,
      });
      if (!response.ok) return response;
      return ok({ version: null });
    },

    async findByEmail({ email, signal }) {
      const query = new URLSearchParams({
        'filter[email_address]': email.trim(),
        'page[size]': String(pageSize),
      });
      const response = await http.send({ method: 'GET', path: `/people?${query}`, signal });
      if (!response.ok) return response;
      const page = streetPageSchema.safeParse(response.value.json);
      if (!page.success)
        return err({ kind: 'validation', status: 200, message: `people page: ${page.error.message}` });
      // A live listing: trashed people are not in it.
      const { records } = mapRecords(page.data.data, (raw) => toInboundRecord(raw, false));
      const wanted = email.trim().toLowerCase();
      return ok(records.filter((r) => r.contact.email?.toLowerCase() === wanted));
    },

    async getRecord({ externalId, signal }) {
      const person = await getPerson(externalId, signal);
      if (!person.ok) return person;
      return recordRead(toInboundRecord(person.value, false), `person ${externalId}`);
    },
  };
}
