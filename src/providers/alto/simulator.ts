import { simAccessTokens } from '../simulator/accessTokens.ts';
import { SimDb } from '../simulator/db.ts';
import { createRandom, generateContact } from '../simulator/generator.ts';
import {
  type RunningSimulator,
  type SimRequest,
  type SimResponse,
  type SimulatorOptions,
  serveSimulator,
} from '../simulator/server.ts';
import { digestTicks, noTicks } from '../simulator/ticks.ts';
import {
  ALTO_CATEGORIES,
  type AltoCategory,
  type AltoRecord,
  altoDialectWith,
  BRANCH,
  CREDENTIALS,
  failure,
  fullContact,
  listItem,
  NEGOTIATOR,
  personView,
  searchItem,
  type Timestamp,
  timestampWith,
} from './simulatorRecords.ts';
import { create, patchContact, patchPerson } from './simulatorWrites.ts';
import { altoSpec } from './spec.ts';

/**
 * Alto contacts API on loopback, following docs/providers.md (Alto) [A1][A2][A4]: the server, its routes and the
 * read routes; records and their views are in simulatorRecords.ts, the write routes in simulatorWrites.ts.
 */

export interface AltoSimulatorOptions extends SimulatorOptions {
  /**
   * Whether `createdAt`/`modifiedAt` carry 100-ns ticks below the millisecond (`digestTicks`). ASSUMPTION: Alto is
   * .NET and its example stamp shows 7 digits (`…30.0000000+00:00` [A1]); whether real stamps carry non-zero ones
   * is not documented. The API still filters and lists at the millisecond (`list`), so the records of one
   * millisecond come in no order of their ticks. Default false: the four digits are 0.
   */
  subMillisecondTicks?: boolean | undefined;
  /** The CRM's clock for the stamps it writes, in epoch ms; default `Date.now`. A test holds it on one millisecond. */
  clock?: (() => number) | undefined;
  /**
   * Contacts filed under other categories than `Client` (a solicitor, a guarantor, a previous client, a bank:
   * `OTHER_CATEGORIES`), added to the seeded clients, each saved at the instant of a client spread across the book.
   * Default 0.
   */
  nonClientContacts?: number | undefined;
}

/**
 * ASSUMPTION (the simulator's choice): the other categories an agency's book holds, in turn. A `ContactRelationship`
 * is "a non-marketable relationship contact, such as a guarantor" [A1].
 */
const OTHER_CATEGORIES: readonly AltoCategory[] = [
  'Solicitor',
  'ContactRelationship',
  'Bank',
  'Surveyor',
  'PreviousClient',
];

function addOtherCategories(db: SimDb<AltoRecord>, count: number, seed: number): void {
  const clients = db.list();
  const random = createRandom(seed + 7919);
  for (let k = 0; k < count; k++) {
    const beside = clients[Math.floor(((k + 0.5) * clients.length) / count)];
    const createdMs = beside ? Date.parse(beside.createdAt) : db.stamp();
    const modifiedMs = beside ? Date.parse(beside.modifiedAt) : createdMs;
    const category = OTHER_CATEGORIES[k % OTHER_CATEGORIES.length] as AltoCategory;
    db.insert((id) => ({
      ...db.dialect.fromSeed(generateContact(random), id, createdMs, modifiedMs),
      category,
      // ASSUMPTION: no persona: [A1] filters personas "within the Contact category of Client".
      contactType: { category, persona: [] },
    }));
  }
}

export function startAltoSimulator(options: AltoSimulatorOptions = {}): Promise<RunningSimulator> {
  const timestamp = timestampWith(options.subMillisecondTicks ? digestTicks : noTicks);
  const db = new SimDb(altoDialectWith(timestamp), options, options.clock);
  addOtherCategories(db, options.nonClientContacts ?? 0, options.seed ?? 1);
  // Client-credentials grant on the API host (secondary [A2]); not counted or limited.
  const tokens = simAccessTokens({
    prefix: 'sim-alto-access-token',
    clientId: CREDENTIALS.clientId,
    clientSecret: CREDENTIALS.clientSecret,
    ttlMs: options.tokenTtlMs,
  });
  return serveSimulator(
    'alto',
    {
      db,
      limits: { ...altoSpec.limits, ...options.limits },
      open: (req) => (req.path === '/token' ? tokens.grant(req) : null),
      authorize: (req) => {
        if (!tokens.accepts(req.headers.authorization))
          return failure(401, 'Unauthorized', 'Bearer token missing, invalid or expired');
        // [A1][A4]: AgencyRef is required on every contacts operation; wrong or missing → 403.
        if (req.headers.agencyref !== CREDENTIALS.agencyRef)
          return failure(403, 'Forbidden', 'AgencyRef header missing or not authorised for this integration');
        return null;
      },
      // [A1]: scopes are per route (`alto/route:get-contacts-all`): a client without a write route's scope is refused
      // that route alone. ASSUMPTION: 403 with the contacts error body, the code and wording.
      writeRefused: () => failure(403, 'Forbidden', 'The client is not authorised for this route'),
      // ASSUMPTION: Alto declares no 429 [A4]; the simulator answers its assumed budget with the contacts error body.
      rateLimited: () => failure(429, 'TooManyRequests', 'Too many requests'),
      serverError: () => failure(500, 'InternalServerError', 'An unexpected error occurred'),
      route: (req, baseUrl) => route(db, timestamp, req, baseUrl),
      credentials: (baseUrl) => ({
        ...CREDENTIALS,
        tokenUrl: `${baseUrl}/token`,
        branchId: BRANCH,
        negotiatorId: NEGOTIATOR,
      }),
    },
    options,
  );
}

function route(db: SimDb<AltoRecord>, timestamp: Timestamp, req: SimRequest, baseUrl: string): SimResponse {
  const { method, path } = req;
  if (path === '/contacts/all' && method === 'GET') return list(db, req);
  if (path === '/contacts/search' && method === 'GET') return search(db, req);
  if (path === '/contacts' && method === 'GET') return byIds(db, req);
  if (path === '/contacts' && method === 'POST') return create(db, timestamp, req, baseUrl);
  const person = /^\/contacts\/([^/]+)\/persons\/([^/]+)$/.exec(path);
  if (person) {
    const record = db.get(decodeURIComponent(person[1] as string));
    const target = record?.people.find((p) => p.id === decodeURIComponent(person[2] as string));
    if (!record || !target) return failure(404, 'NotFound', 'Contact or Person not found');
    if (method === 'GET')
      return { status: 200, body: { ...personView(target), isContactArchived: !record.isActive } };
    if (method === 'PATCH') return patchPerson(db, timestamp, req, record, target);
  }
  const preferences = /^\/contacts\/([^/]+)\/preferences$/.exec(path);
  if (preferences && method === 'GET') {
    const record = db.get(decodeURIComponent(preferences[1] as string));
    return record ? { status: 200, body: record.preferences } : failure(404, 'NotFound', 'Contact not found');
  }
  const one = /^\/contacts\/([^/]+)$/.exec(path);
  if (one) {
    const record = db.get(decodeURIComponent(one[1] as string));
    if (!record) return failure(404, 'NotFound', 'Contact not found');
    if (method === 'GET') return { status: 200, body: fullContact(record) };
    if (method === 'PATCH') return patchContact(db, timestamp, req, record);
  }
  return failure(404, 'NotFound', `No route ${method} ${path}`);
}

/** `max-results` [A1]: default 50, 1–250. */
function pageSize(req: SimRequest): number | SimResponse {
  const size = Number(req.query.get('max-results') ?? 50);
  return Number.isInteger(size) && size >= 1 && size <= 250
    ? size
    : failure(400, 'InvalidRequest', 'max-results must be between 1 and 250');
}

/**
 * A category filter (`category` on `/contacts/all`, `contact-type` on search [A1]): null when absent. ASSUMPTION: a
 * value outside the enum is a 400, as ASP.NET's binding of an enum answers.
 */
function categoryFilter(req: SimRequest, name: string): AltoCategory | null | SimResponse {
  const value = req.query.get(name);
  if (value === null) return null;
  const category = ALTO_CATEGORIES.find((c) => c === value);
  return category ?? failure(400, 'InvalidRequest', `${name} is not a contact category`);
}

function instant(req: SimRequest, name: string): number | null | SimResponse {
  const value = req.query.get(name);
  if (value === null) return null;
  // ASSUMPTION: a date-time without a zone is read in the server's local time (`Date.parse`); [A1]: `date-time`.
  const at = Date.parse(value);
  return Number.isNaN(at) ? failure(400, 'InvalidRequest', `${name} must be an ISO-8601 date-time`) : at;
}

/**
 * ASSUMPTION: `next-token` encodes the last (modifiedAt, id) served, so paging is by keyset, not offset (ties
 * resume in the store's tie order, `SimDb.tieKey`).
 */
const encodeToken = (r: AltoRecord) =>
  Buffer.from(JSON.stringify({ m: r.modifiedAt, id: r.id }), 'utf8').toString('base64url');

function decodeToken(value: string): { m: number; id: string } | null {
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as {
      m?: unknown;
      id?: unknown;
    };
    if (typeof parsed.m !== 'string' || typeof parsed.id !== 'string') return null;
    const m = Date.parse(parsed.m);
    return Number.isNaN(m) ? null : { m, id: parsed.id };
  } catch {
    return null;
  }
}

function list(db: SimDb<AltoRecord>, req: SimRequest): SimResponse {
  const size = pageSize(req);
  if (typeof size !== 'number') return size;
  const bounds = ['modified-from', 'modified-to', 'created-from', 'created-to'].map((n) => instant(req, n));
  const bad = bounds.find((b) => b !== null && typeof b === 'object');
  if (bad) return bad as SimResponse;
  const [mFrom = null, mTo = null, cFrom = null, cTo = null] = bounds as Array<number | null>;
  const category = categoryFilter(req, 'category');
  if (typeof category === 'object' && category !== null) return category;
  const active = req.query.get('active');
  const tokenValue = req.query.get('next-token');
  const after = tokenValue === null ? null : decodeToken(tokenValue);
  if (tokenValue !== null && after === null) return failure(400, 'InvalidRequest', 'next-token is not valid');
  // ASSUMPTION: the date filters are inclusive at millisecond precision; results come in (modifiedAt, id) order with
  // modifiedAt cut to the millisecond, ticks below it (`subMillisecondTicks`) playing no part.
  // A page starts at the token's instant: the window is read from there, not from the first record.
  const from = after === null ? mFrom : Math.max(mFrom ?? after.m, after.m);
  const rows = db.modifiedBetween(from, mTo).filter((r) => {
    const m = Date.parse(r.modifiedAt);
    const c = Date.parse(r.createdAt);
    if (cFrom !== null && c < cFrom) return false;
    if (cTo !== null && c > cTo) return false;
    if (active !== null && String(r.isActive) !== active) return false;
    if (category !== null && r.contactType.category !== category) return false;
    return after === null || m > after.m || (m === after.m && db.tieKey(r.id) > db.tieKey(after.id));
  });
  const items = rows.slice(0, size);
  const last = items.at(-1);
  return {
    status: 200,
    body: {
      meta: { nextToken: rows.length > size && last ? encodeToken(last) : null },
      items: items.map(listItem),
    },
  };
}

function search(db: SimDb<AltoRecord>, req: SimRequest): SimResponse {
  const query = req.query.get('query')?.trim().toLowerCase();
  if (!query) return failure(400, 'InvalidRequest', 'query is required');
  const size = pageSize(req);
  if (typeof size !== 'number') return size;
  const archived = req.query.get('archived');
  const contactType = categoryFilter(req, 'contact-type');
  if (typeof contactType === 'object' && contactType !== null) return contactType;
  const digits = query.replace(/\D/g, '');
  // ASSUMPTION: a case-insensitive substring match over names, e-mails, phone digits, postcode and id.
  const rows = db.list().filter((r) => {
    if (archived !== null && String(r.isActive !== true) !== archived) return false;
    if (contactType !== null && r.category !== contactType) return false;
    const texts = [
      r.id,
      r.address?.postcode ?? '',
      ...r.people.flatMap((p) => [p.forename ?? '', p.surname, ...p.emailAddresses.map((e) => e.address)]),
    ].map((t) => t.toLowerCase());
    const phones = r.people.flatMap((p) => p.phoneNumbers.map((n) => n.number.replace(/\D/g, '')));
    return (
      texts.some((t) => t.includes(query)) || (digits.length >= 6 && phones.some((n) => n.includes(digits)))
    );
  });
  // ASSUMPTION: the search pages as [A1] says ("same token/size/date params"), its `next-token` holding the last id
  // served, the matches in id order.
  const tokenValue = req.query.get('next-token');
  const after = tokenValue === null ? null : decodeSearchToken(tokenValue);
  if (tokenValue !== null && after === null) return failure(400, 'InvalidRequest', 'next-token is not valid');
  const ordered = rows.filter((r) => after === null || r.id > after).sort((a, b) => (a.id < b.id ? -1 : 1));
  const items = ordered.slice(0, size);
  const last = items.at(-1);
  const nextToken =
    ordered.length > size && last
      ? Buffer.from(JSON.stringify({ after: last.id }), 'utf8').toString('base64url')
      : null;
  return { status: 200, body: { meta: { nextToken }, items: items.map(searchItem) } };
}

function decodeSearchToken(value: string): string | null {
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { after?: unknown };
    return typeof parsed.after === 'string' ? parsed.after : null;
  } catch {
    return null;
  }
}

function byIds(db: SimDb<AltoRecord>, req: SimRequest): SimResponse {
  const ids = req.query.getAll('id');
  if (ids.length === 0 || ids.length > 50) return failure(400, 'InvalidRequest', 'between 1 and 50 ids');
  // ASSUMPTION: an array of Contacts (the OpenAPI declares a single Contact for this multi-id call).
  return { status: 200, body: ids.flatMap((id) => db.get(id) ?? []).map(fullContact) };
}
