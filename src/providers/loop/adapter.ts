import { z } from 'zod';
import {
  type CursorPosition,
  compareModified,
  cursorPositionSchema,
  withinLowerBound,
} from '../../core/cursor.ts';
import { err, ok, type Result } from '../../core/result.ts';
import type { ContactPatch } from '../../core/schemas.ts';
import { createHttpTransport } from '../base.ts';
import { clearedSurname } from '../clearedSurname.ts';
import { type ConnectionLimiter, createLimiter } from '../limiter.ts';
import { idsAtInstant, listedInstantSchema, pastAnchor, seenAtAnchorSchema } from '../listingAnchor.ts';
import { decodePageToken, encodePageToken } from '../pageToken.ts';
import type { ChangePage, CrmProvider, FetchWindow, ProviderError } from '../provider.ts';
import { mapRecords, recordRead } from '../records.ts';
import type { ProviderSpec } from '../spec.ts';
import { clearingPromotes, needsCurrent, toInboundRecord, toLoopCreate, toLoopWrite } from './mapping.ts';
import {
  type LoopContact,
  type LoopCredentials,
  loopContactSchema,
  loopPageSchema,
  loopPositionSchema,
} from './schemas.ts';
import { loopSpec } from './spec.ts';

/**
 * Where a listing stands. The (ASSUMED) API filters by `modifiedSince` only (inclusive, no upper bound, no id
 * tie-break) and pages by number, results in (updatedAt, id) order. The token keyset-pages: `since` is the
 * query's lower bound, re-anchored at the last record of each page; `after` is the highest position handed
 * out, and only records past it are returned. Inside a run of equal timestamps longer than a page `since`
 * cannot advance, so `page` steps; then the previous page is read again with the next one, because a run
 * member edited meanwhile moves to the end and shifts later members back onto the page already read; a page or
 * more of members gone shifts some past it, and the run is read again from its first page (`shiftedPast`).
 */
const pageTokenSchema = z.strictObject({
  to: z.string(),
  since: z.string().nullable(),
  page: z.number().int().min(1),
  after: cursorPositionSchema.nullable(),
  /** `after` is the window's lower bound: keep records at its instant, whatever the ids; else only those past it. */
  inclusive: z.boolean(),
  /** Ids handed out at `after`'s instant by the last pages read (`seenAtAnchorSchema`). */
  seen: seenAtAnchorSchema,
  /** Stepping pages in a run: the ids of the page just read, to tell a shift of a page or more (`shiftedPast`). */
  previousIds: z.array(z.string()).optional(),
});
type PageToken = z.infer<typeof pageTokenSchema>;

export interface LoopProviderParams {
  baseUrl: string;
  credentials: LoopCredentials;
  /** The connection's limiter; defaults to one built from `spec`. */
  limiter?: ConnectionLimiter;
  /** Defaults to `loopSpec`; tests pass a scaled copy. */
  spec?: ProviderSpec;
  fetch?: typeof fetch;
}

const listedPositionSchema = loopPositionSchema.extend({ updatedAt: listedInstantSchema });

const positionOf = (raw: unknown): CursorPosition | null => {
  const at = listedPositionSchema.safeParse(raw);
  return at.success ? { modified: at.data.updatedAt, externalId: at.data.id } : null;
};

export function createLoopProvider(params: LoopProviderParams): CrmProvider {
  const spec = params.spec ?? loopSpec;
  const http = createHttpTransport({
    baseUrl: params.baseUrl,
    spec,
    limiter: params.limiter ?? createLimiter(spec),
    ...(params.fetch ? { fetch: params.fetch } : {}),
    headers: async () => ok({ 'x-api-key': params.credentials.apiKey }),
  });
  const pageSize = spec.pagination.maxPageSize;
  const writable = new Set<string>(spec.capabilities.writableFields);

  async function fetchPage(token: PageToken, page: number, signal: AbortSignal | undefined) {
    const query = new URLSearchParams({ pageSize: String(pageSize), pageNumber: String(page) });
    if (token.since !== null) query.set('modifiedSince', token.since);
    const response = await http.send({ method: 'GET', path: `/api/contacts?${query}`, signal });
    if (!response.ok) return response;
    const parsed = loopPageSchema.safeParse(response.value.json);
    return parsed.success
      ? ok(parsed.data)
      : err<ProviderError>({
          kind: 'validation',
          status: 200,
          message: `contacts page: ${parsed.error.message}`,
        });
  }

  async function listChanges(p: {
    window: FetchWindow;
    pageToken: string | null;
    signal?: AbortSignal;
  }): Promise<Result<ChangePage, ProviderError>> {
    const decoded =
      p.pageToken === null
        ? ok<PageToken>({
            to: p.window.to,
            since: p.window.from?.modified ?? null,
            page: 1,
            after: p.window.from,
            inclusive: true,
          })
        : decodePageToken(pageTokenSchema, p.pageToken);
    if (!decoded.ok) return decoded;
    const token = decoded.value;
    const current = await fetchPage(token, token.page, p.signal);
    if (!current.ok) return current;
    const raws = current.value.results;
    let candidates = raws;
    let shifted = false;
    if (token.page > 1) {
      const previous = await fetchPage(token, token.page - 1, p.signal);
      if (!previous.ok) return previous;
      shifted = token.previousIds !== undefined && shiftedPast(previous.value.results, token.previousIds);
      const ids = new Set(raws.map((raw) => positionOf(raw)?.externalId));
      candidates = [
        ...previous.value.results.filter((raw) => !ids.has(positionOf(raw)?.externalId)),
        ...raws,
      ];
    }
    const wanted = candidates.filter((raw) => {
      const at = positionOf(raw);
      if (at === null) return true;
      // No upper bound in the API: records saved after the cycle started are left for the next cycle.
      if (compareModified(at.modified, token.to) > 0) return false;
      if (token.after === null) return true;
      return token.inclusive ? withinLowerBound(at, token.after) : pastAnchor(at, token.after, token.seen);
    });
    const { records, errors } = mapRecords(wanted, toInboundRecord);
    const nextPageToken = shifted
      ? restartRun(token)
      : nextToken(token, raws, candidates, current.value.totalCount);
    return ok({ records, errors, nextPageToken });
  }

  function nextToken(
    token: PageToken,
    raws: unknown[],
    candidates: unknown[],
    totalCount: number,
  ): string | null {
    if (raws.length < pageSize || token.page * pageSize >= totalCount) return null;
    const last = raws.map(positionOf).findLast((at) => at !== null);
    if (last === undefined) return encodePageToken({ ...token, page: token.page + 1 } satisfies PageToken);
    // Sorted by updatedAt: once past `to`, nothing later is in the window.
    if (compareModified(last.modified, token.to) > 0) return null;
    const advanced = token.after === null || compareModified(last.modified, token.after.modified) >= 0;
    const after = advanced ? last : token.after;
    // Ties have no documented order: at the anchor's instant, drop by id what the pages just read handed out
    // (with the previous page read again, a member can only slide back onto the page before it).
    const seen = advanced ? idsAtInstant(candidates.map(positionOf), last.modified) : token.seen;
    const sameRun = token.since !== null && compareModified(last.modified, token.since) === 0;
    const previousIds = raws.flatMap((raw) => positionOf(raw)?.externalId ?? []);
    const next: PageToken = sameRun
      ? { ...token, page: token.page + 1, after, seen, inclusive: false, previousIds }
      : { to: token.to, since: last.modified, page: 1, after, seen, inclusive: false };
    return encodePageToken(next);
  }

  async function getContact(
    externalId: string,
    signal: AbortSignal | undefined,
  ): Promise<Result<LoopContact, ProviderError>> {
    const response = await http.send({
      method: 'GET',
      path: `/api/contacts/${encodeURIComponent(externalId)}`,
      signal,
    });
    if (!response.ok) return response;
    const record = loopContactSchema.safeParse(response.value.json);
    return record.success
      ? ok(record.data)
      : err({ kind: 'validation', status: 200, message: `contact ${externalId}: ${record.error.message}` });
  }

  return {
    name: 'loop',
    capabilities: spec.capabilities,
    listChanges,

    async create({ contact, signal }) {
      // ASSUMPTION: no field to keep our reference in and no e-mail search, so a create whose acknowledgement
      // was lost is looked for among the changes since the fetch (findLostCreate); see docs/providers.md, Loop.
      const response = await http.send({
        method: 'POST',
        path: '/api/contacts',
        body: toLoopCreate(contact),
        signal,
      });
      if (!response.ok) return response;
      const created = loopPositionSchema.safeParse(response.value.json);
      // The CRM accepted the create and may have made the record: as with no answer, the push looks for it.
      if (!created.success)
        return err({ kind: 'transient', status: response.value.status, message: 'Loop 201 without an id' });
      return ok({ externalId: created.data.id, version: null });
    },

    // ASSUMPTION: the listing shows every field a create sends (Loop documents neither [L1]).
    createdAsListed: (contact) => contact,

    async update({ externalId, patch, signal }) {
      // Last-write-wins, no ETag (ASSUMPTION): `version` is ignored; fields Loop cannot hold are skipped.
      const fields = Object.fromEntries(
        Object.entries(patch).filter(([field]) => writable.has(field)),
      ) as ContactPatch;
      if (Object.keys(fields).length === 0) return ok({ version: null });
      const surname = clearedSurname('Loop', fields);
      if (surname !== null) return err(surname);
      let current: LoopContact | null = null;
      if (needsCurrent(fields)) {
        // E-mails and phones are arrays written whole: read them so other entries survive. The read and
        // the write are not atomic; an edit in between is overwritten (last write wins, as for any PUT).
        const read = await getContact(externalId, signal);
        if (!read.ok) return read;
        current = read.value;
        const promotes = clearingPromotes(fields, current);
        if (promotes !== null) return err({ kind: 'validation', status: null, ...promotes });
      }
      const response = await http.send({
        method: 'PUT',
        path: `/api/contacts/${encodeURIComponent(externalId)}`,
        body: toLoopWrite(fields, current),
        signal,
      });
      if (!response.ok) return response;
      return ok({ version: null });
    },

    async findByEmail() {
      return err({
        kind: 'unsupported',
        status: null,
        message: 'Loop: no e-mail search is assumed (no public contacts API documentation)',
      });
    },

    async getRecord({ externalId, signal }) {
      // ASSUMPTION: one contact by id, as the listing serves it.
      const response = await http.send({
        method: 'GET',
        path: `/api/contacts/${encodeURIComponent(externalId)}`,
        signal,
      });
      if (!response.ok) return response;
      return recordRead(toInboundRecord(response.value.json), `contact ${externalId}`);
    },
  };
}

/**
 * Whether the run shifted back by a page or more since the page before was read: members saved meanwhile leave
 * the run for its end (or are deleted), and the rest move back. Up to a page, they slide onto the page read
 * again; a page or more and some slide past it, unread for good once the cursor passes the run. Then the page
 * read again no longer starts with a member the last request listed (or is empty).
 */
function shiftedPast(reread: unknown[], previousIds: string[]): boolean {
  if (reread.length === 0) return true;
  const first = reread.map(positionOf).find((at) => at !== null);
  return first !== undefined && !previousIds.includes(first.externalId);
}

/** The run read again from its first page: a member listed twice is staged once. */
function restartRun(token: PageToken): string {
  const { previousIds: _read, ...rest } = token;
  return encodePageToken({ ...rest, page: 1 } satisfies PageToken);
}
