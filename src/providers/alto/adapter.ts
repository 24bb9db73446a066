import { z } from 'zod';
import { compareModified, cursorPositionSchema, withinLowerBound } from '../../core/cursor.ts';
import { err, ok, type Result } from '../../core/result.ts';
import type { HttpTransport } from '../base.ts';
import { clearedSurname } from '../clearedSurname.ts';
import { type ClientCredentialsTokenCache, clientCredentialsTransport } from '../clientCredentials.ts';
import type { ConnectionLimiter } from '../limiter.ts';
import { compareAtGrain, pastAnchor, seenAtAnchorSchema, seenThrough } from '../listingAnchor.ts';
import { decodePageToken, encodePageToken } from '../pageToken.ts';
import type { ChangePage, CrmProvider, FetchWindow, InboundRecord, ProviderError } from '../provider.ts';
import { mapRecords, recordError } from '../records.ts';
import { readByIds } from '../recordsById.ts';
import type { ProviderSpec } from '../spec.ts';
import {
  clearingEmailPromotes,
  contactOperations,
  filedUnder,
  fromContact,
  fromListItem,
  fromSearchItem,
  isSyncedContact,
  listedCreate,
  overLongName,
  personOperations,
  toAltoCreate,
  touchesPerson,
} from './mapping.ts';
import {
  type AltoContact,
  type AltoCredentials,
  altoContactSchema,
  altoPageSchema,
  altoPositionSchema,
} from './schemas.ts';
import { ALTO_LISTING_GRAIN_MS, altoSpec } from './spec.ts';

/**
 * Where a listing stands. Alto pages `GET /contacts/all` with its own opaque `next-token` [A1]; the query
 * (window bounds) stays fixed and the token moves through it. `after` is the last (modifiedAt, id) returned:
 * records at or before it are dropped, so a token that re-delivers never duplicates, and if Alto refuses a
 * token (400; ASSUMPTION: tokens may expire) the listing restarts from `after` instead of from the window start.
 * See docs/providers.md, "Alto: completeness".
 */
const pageTokenSchema = z.strictObject({
  to: z.string(),
  /** The window's inclusive lower bound. */
  from: cursorPositionSchema.nullable(),
  /** Alto's `meta.nextToken`; `null` to (re)start the query at `modified-from`. */
  next: z.string().nullable(),
  after: cursorPositionSchema.nullable(),
  /** Ids the last page returned at `after`'s instant (`seenAtAnchorSchema`). */
  seen: seenAtAnchorSchema,
  /**
   * The lower bound the running query was started with (the window's, or after a refused token the anchor's): each
   * `next-token` goes with the query that issued it. Absent in a token written before it: the window's.
   */
  queryFrom: cursorPositionSchema.nullable().optional(),
});
type PageToken = z.infer<typeof pageTokenSchema>;

/**
 * Instants as the listing sees them: one millisecond, whatever the ticks below it. Comparing the 7-digit stamps in
 * full dropped, after a page ending inside a millisecond, the records of it listed next with lower ticks (41–174
 * of 1,000 with 400 in one millisecond), lost for good as the cursor passed them.
 */
const compareListed = compareAtGrain(ALTO_LISTING_GRAIN_MS);

/** JSON Patch media type of Alto's PATCH operations [A1]. */
const JSON_PATCH = 'application/json-patch+json';
/** Pages of an e-mail search read before it answers that it cannot tell (250 matches a page). */
const SEARCH_PAGES = 10;

export interface AltoProviderParams {
  baseUrl: string;
  credentials: AltoCredentials;
  /** The connection's limiter; defaults to one built from `spec`. */
  limiter?: ConnectionLimiter;
  /** Defaults to the assumed `altoSpec`; tests pass a scaled copy. */
  spec?: ProviderSpec;
  fetch?: typeof fetch;
  /** The process's OAuth tokens; without it the provider keeps its own. */
  tokenCache?: ClientCredentialsTokenCache;
}

/** Why a contact read by id is answered `not_found`: Alto holds it, under a category NurtureHub does not sync. */
const notAClient = (externalId: string, raw: unknown) =>
  `Alto files contact ${externalId} under ${filedUnder(raw)}, not as a client: not synced`;

/** ISO instant `ms` earlier than `value`: a lower bound sent early, applied exactly on our side. */
const earlier = (value: string, ms: number) => new Date(Date.parse(value) - ms).toISOString();

export function createAltoProvider(params: AltoProviderParams): CrmProvider {
  const spec = params.spec ?? altoSpec;
  const credentials = params.credentials;
  const http: HttpTransport = clientCredentialsTransport({
    label: 'Alto',
    baseUrl: params.baseUrl,
    spec,
    credentials,
    // [A1]: `AgencyRef` is required on every contacts operation (wrong/missing → 403 [A4]).
    headers: { agencyref: credentials.agencyRef },
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
        ? ok<PageToken>({ to: p.window.to, from: p.window.from, next: null, after: null })
        : decodePageToken(pageTokenSchema, p.pageToken);
    if (!decoded.ok) return decoded;
    const token = decoded.value;
    const lower = token.next === null ? (token.after ?? token.from) : (token.queryFrom ?? token.from);
    // Every category: `category` takes one, and previous clients are synced with clients (`ALTO_SYNCED_CATEGORIES`).
    const query = new URLSearchParams({ 'max-results': String(pageSize), 'modified-to': token.to });
    // ASSUMPTION: `modified-from` is inclusive at some precision; sent 1 s early, the exact inclusive
    // (modified, id) bound is applied below, so neither an exclusive bound nor a coarser one loses a record.
    if (lower) query.set('modified-from', earlier(lower.modified, 1_000));
    if (token.next !== null) query.set('next-token', token.next);
    const response = await http.send({
      method: 'GET',
      path: `/contacts/all?${query}`,
      ...(token.next !== null && token.after !== null ? { accept: [400] } : {}),
      signal: p.signal,
    });
    if (!response.ok) return response;
    if (response.value.status === 400) {
      // The token was refused: restart the query from the last record returned.
      return ok({ records: [], errors: [], nextPageToken: encodePageToken({ ...token, next: null }) });
    }
    const page = altoPageSchema.safeParse(response.value.json);
    if (!page.success)
      return err({ kind: 'validation', status: 200, message: `contacts page: ${page.error.message}` });
    const raws = page.data.items ?? [];
    const positions = raws.map((raw) => {
      const at = altoPositionSchema.safeParse(raw);
      return at.success ? { modified: at.data.modifiedAt, externalId: at.data.id } : null;
    });
    const wanted = raws.filter((raw, i) => {
      // Filed under another category than a client's: not ours.
      if (!isSyncedContact(raw)) return false;
      const position = positions[i];
      if (!position) return true;
      if (compareModified(position.modified, token.to) > 0) return false;
      if (!withinLowerBound(position, token.from)) return false;
      return pastAnchor(position, token.after, token.seen, compareListed);
    });
    const { records, errors } = mapRecords(wanted, fromListItem);
    const reached = positions.findLast((position) => position !== null) ?? undefined;
    const advanced =
      reached !== undefined &&
      (token.after === null || compareListed(reached.modified, token.after.modified) >= 0);
    // Ties have no documented order: at the last instant, what this page returned is dropped by id, not by
    // comparing ids (a page that continues a tie holds records whose ids sort before the last one's).
    const { after, seen } = advanced
      ? { after: reached, seen: seenThrough(token, positions, reached.modified, compareListed) }
      : token;
    const next = page.data.meta?.nextToken ?? null;
    return ok({
      records,
      errors,
      nextPageToken:
        next === null ? null : encodePageToken({ ...token, next, after, seen, queryFrom: lower }),
    });
  }

  /** The full contact: its first person's id and e-mail list for an update, the record for `getRecord`. */
  async function getContact(
    externalId: string,
    signal: AbortSignal | undefined,
  ): Promise<Result<AltoContact, ProviderError>> {
    const response = await http.send({
      method: 'GET',
      path: `/contacts/${encodeURIComponent(externalId)}`,
      signal,
    });
    if (!response.ok) return response;
    const contact = altoContactSchema.safeParse(response.value.json);
    // Not ours, as the listing does not show it: a linked record the agency refiled (say, as a previous client) reads
    // as one Alto no longer holds for us, so a client record of the person keyed in again takes its link.
    if (contact.success && !isSyncedContact(response.value.json)) {
      const message = notAClient(externalId, response.value.json);
      return err({ kind: 'not_found', status: response.value.status, message });
    }
    return contact.success
      ? ok(contact.data)
      : err({ kind: 'validation', status: 200, message: `contact ${externalId}: ${contact.error.message}` });
  }

  return {
    name: 'alto',
    capabilities: spec.capabilities,
    listChanges,

    async create({ contact, signal }) {
      if (!credentials.branchId) {
        return err({
          kind: 'validation',
          status: null,
          message: 'Alto creates need branchId in the credentials',
        });
      }
      if (!contact.lastName) {
        return err({
          kind: 'validation',
          status: null,
          message: 'Alto requires a surname',
          field: 'lastName',
        });
      }
      const tooLong = overLongName(contact);
      if (tooLong !== null) return err({ kind: 'validation', status: null, ...tooLong });
      // Our reference is not written: Alto has no app-data field, and `notes` are read by agency staff.
      // A create whose acknowledgement was lost is found again by Alto's own duplicate check (409 below).
      const body = toAltoCreate({
        contact,
        branchId: credentials.branchId,
        negotiatorId: credentials.negotiatorId,
      });
      const response = await http.send({ method: 'POST', path: '/contacts', body, accept: [409], signal });
      if (!response.ok) return response;
      if (response.value.status === 409) {
        // [A1]: "Duplicate contacts found. Check Location response headers for URI." The engine links to it.
        const location = response.value.headers.get('location');
        return err({
          kind: 'conflict',
          status: 409,
          message: 'Alto found a duplicate contact',
          ...(location ? { location } : {}),
        });
      }
      // [A1]: 201 with the created Contact as the body.
      const created = altoContactSchema.safeParse(response.value.json);
      if (!created.success)
        return err({
          kind: 'transient',
          status: response.value.status,
          message: 'Alto 201 without a Contact',
        });
      return ok({ externalId: created.data.id, version: null });
    },

    createdAsListed: (contact) =>
      listedCreate(
        toAltoCreate({
          contact,
          branchId: credentials.branchId ?? '',
          negotiatorId: credentials.negotiatorId,
        }),
      ) ?? contact,

    async update({ externalId, patch, signal }) {
      // No ETag/If-Match on Alto [A1]: `version` is ignored; fields outside writableFields are skipped.
      const id = encodeURIComponent(externalId);
      const surname = clearedSurname('Alto', patch);
      if (surname !== null) return err(surname);
      const tooLong = overLongName(patch);
      if (tooLong !== null) return err({ kind: 'validation', status: null, ...tooLong });
      if (touchesPerson(patch)) {
        const current = await getContact(externalId, signal);
        if (!current.ok) return current;
        const person = current.value.people[0] as AltoContact['people'][number];
        const promotes = clearingEmailPromotes(patch, person);
        if (promotes !== null) return err({ kind: 'validation', status: null, ...promotes });
        const ops = personOperations(patch, person);
        if (ops.length > 0) {
          const response = await http.send({
            method: 'PATCH',
            path: `/contacts/${id}/persons/${encodeURIComponent(person.id)}`,
            body: ops,
            contentType: JSON_PATCH,
            signal,
          });
          if (!response.ok) return response;
        }
      }
      const ops = contactOperations(patch);
      if (ops.length > 0) {
        const response = await http.send({
          method: 'PATCH',
          path: `/contacts/${id}`,
          body: ops,
          contentType: JSON_PATCH,
          signal,
        });
        if (!response.ok) return response;
      }
      return ok({ version: null });
    },

    async findByEmail({ email, signal }) {
      const wanted = email.trim().toLowerCase();
      const records: InboundRecord[] = [];
      // The search pages as the listing does [A1]: a match past the first page is still the address held.
      let token: string | null = null;
      for (let pages = 0; pages < SEARCH_PAGES; pages++) {
        const query = new URLSearchParams({ query: email.trim(), 'max-results': String(pageSize) });
        if (token !== null) query.set('next-token', token);
        const response = await http.send({ method: 'GET', path: `/contacts/search?${query}`, signal });
        if (!response.ok) return response;
        const page = altoPageSchema.safeParse(response.value.json);
        if (!page.success)
          return err({ kind: 'validation', status: 200, message: `search page: ${page.error.message}` });
        // The search matches names, addresses, phones and ids too [A1]: keep exact e-mail matches only.
        for (const raw of page.data.items ?? []) {
          if (!isSyncedContact(raw)) continue;
          const mapped = fromSearchItem(raw);
          if (!mapped.ok) {
            // Skipped, an unreadable contact holding the address answered "none", and its create was sent again.
            if (JSON.stringify(raw).toLowerCase().includes(JSON.stringify(wanted).slice(1, -1)))
              return err({
                kind: 'validation',
                status: 200,
                message: `search: a contact mentioning the address searched for cannot be read: ${mapped.error.message}`,
              });
            continue;
          }
          const emails = (mapped.value.item.people ?? []).flatMap((person) =>
            (person.emails ?? []).map((e) => e.emailAddress?.trim().toLowerCase()),
          );
          if (emails.includes(wanted)) records.push(mapped.value.record);
        }
        token = page.data.meta?.nextToken ?? null;
        if (token === null) return ok(records);
      }
      // Not "none": a create sent on that answer would be a duplicate if the address is held past the pages read.
      return err({
        kind: 'validation',
        status: 200,
        message: `search: more than ${SEARCH_PAGES} pages of contacts match the address searched for; whether one holds it was not read`,
      });
    },

    async getRecord({ externalId, signal }) {
      const contact = await getContact(externalId, signal);
      if (!contact.ok) return contact;
      const read = fromContact(contact.value);
      return read.ok
        ? read
        : err({ kind: 'validation', status: 200, message: `contact ${externalId}: ${read.error.message}` });
    },

    getRecords: ({ externalIds, signal }) =>
      readByIds({
        externalIds,
        maxIds: spec.capabilities.maxIdsPerRead,
        what: 'Alto GET /contacts?id=',
        send: async (ids) => {
          const query = new URLSearchParams(ids.map((id): [string, string] => ['id', id]));
          const response = await http.send({ method: 'GET', path: `/contacts?${query}`, signal });
          if (!response.ok) return response;
          // ASSUMPTION: an array of full Contacts, archived ones included as `GET /contacts/{id}` serves them (the
          // OpenAPI declares one Contact): any other answer is refused, so no record is taken for absent.
          const contacts = z.array(z.unknown()).safeParse(response.value.json);
          // A contact filed under another category is left out, so its id is `not_found`, as `getRecord` answers it.
          return contacts.success
            ? ok({ status: response.value.status, raws: contacts.data.filter(isSyncedContact) })
            : err({ kind: 'validation', status: 200, message: 'contacts by id: not an array' });
        },
        read: (raw) => {
          const contact = altoContactSchema.safeParse(raw);
          return contact.success ? fromContact(contact.data) : err(recordError(raw, contact.error));
        },
      }),
  };
}
