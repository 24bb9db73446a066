import { createHash } from 'node:crypto';
import type { Platform } from '@reapit/foundations-ts-definitions';
import { simAccessTokens } from '../simulator/accessTokens.ts';
import { SimDb, type SimDialect } from '../simulator/db.ts';
import type { SeedContact } from '../simulator/generator.ts';
import {
  type RunningSimulator,
  type SimRequest,
  type SimResponse,
  type SimulatorOptions,
  serveSimulator,
} from '../simulator/server.ts';
import { digestTicks, noTicks, type SubMillisecondTicks, sevenDigitStamp } from '../simulator/ticks.ts';
import { REAPIT_API_VERSION } from './schemas.ts';
import { reapitSpec } from './spec.ts';

/**
 * Reapit Foundations contacts API on loopback, following docs/providers.md (Reapit) [R1][R3].
 * Records are kept as `Platform.ContactModel`, exactly what the real API returns.
 */

type Contact = Platform.ContactModel & { id: string; modified: string };

const CREDENTIALS = { clientId: 'sim-client', clientSecret: 'sim-secret', customerId: 'SBOX' } as const;
const OFFICE = 'OXF';
const NEGOTIATOR = 'JAS';

export interface ReapitSimulatorOptions extends SimulatorOptions {
  /**
   * Whether `created`/`modified` carry 100-ns ticks below the millisecond, as .NET writes them (a stable digest of
   * the record's id and time: ASSUMPTION). The API still filters and orders at the millisecond, so records of one
   * millisecond are listed in an order unrelated to their ticks. Default false: the four digits are 0.
   */
  subMillisecondTicks?: boolean | undefined;
}

/** .NET-style 7-digit fractions, as Reapit's timestamps are written (ASSUMPTION on precision). */
const timestampWith =
  (ticks: SubMillisecondTicks) =>
  (id: string, ms: number): string =>
    sevenDigitStamp(ms, ticks(id, ms), 'Z');
type Timestamp = ReturnType<typeof timestampWith>;

const eTag = (record: object) =>
  `"${createHash('md5').update(JSON.stringify(record)).digest('hex').toUpperCase()}"`;

const withETag = (record: Contact): Contact => {
  const { _eTag: _previous, ...rest } = record;
  return { ...rest, _eTag: eTag(rest) };
};

const reapitDialectWith = (timestamp: Timestamp): SimDialect<Contact> => ({
  newId: (n) => `${OFFICE}25${String(n).padStart(6, '0')}`,
  fromSeed: (contact, id, createdMs, modifiedMs) =>
    withETag({
      id,
      created: timestamp(id, createdMs),
      modified: timestamp(id, modifiedMs),
      ...seedFields(contact),
      active: true,
      officeIds: [OFFICE],
      negotiatorIds: [NEGOTIATOR],
      metadata: {},
    }),
  toSeed: (r) => ({
    title: r.title ?? null,
    firstName: r.forename ?? null,
    lastName: r.surname ?? '',
    email: r.email ?? null,
    mobilePhone: r.mobilePhone ?? null,
    homePhone: r.homePhone ?? null,
    workPhone: r.workPhone ?? null,
    address: r.primaryAddress?.line1
      ? {
          buildingNumber: r.primaryAddress.buildingNumber ?? '',
          street: r.primaryAddress.line1,
          locality: r.primaryAddress.line2 ?? null,
          town: r.primaryAddress.line3 ?? '',
          county: r.primaryAddress.line4 ?? null,
          postcode: r.primaryAddress.postcode ?? '',
        }
      : null,
    dateOfBirth: r.dateOfBirth ?? null,
    marketingConsent:
      r.marketingConsent === 'grant' || r.marketingConsent === 'deny' ? r.marketingConsent : 'notAsked',
    archived: r.fromArchive === true,
  }),
  withSeed: (r, contact, modifiedMs) =>
    withETag({ ...r, ...seedFields(contact), modified: timestamp(r.id, modifiedMs) }),
  // A consent value outside Reapit's enum: the adapter must quarantine this record alone.
  malformed: (r) => withETag({ ...r, marketingConsent: 'yesPlease' }),
  id: (r) => r.id,
  modified: (r) => r.modified,
});

export const reapitDialect = reapitDialectWith(timestampWith(noTicks));

/** Seed → ContactModel fields; missing values are omitted, as Reapit omits them. */
function seedFields(c: SeedContact): Partial<Platform.ContactModel> {
  const fields: Partial<Platform.ContactModel> = {
    surname: c.lastName,
    marketingConsent: c.marketingConsent,
    fromArchive: c.archived,
    ...(c.title ? { title: c.title } : {}),
    ...(c.firstName ? { forename: c.firstName } : {}),
    ...(c.email ? { email: c.email } : {}),
    ...(c.mobilePhone ? { mobilePhone: c.mobilePhone } : {}),
    ...(c.homePhone ? { homePhone: c.homePhone } : {}),
    ...(c.workPhone ? { workPhone: c.workPhone } : {}),
    ...(c.dateOfBirth ? { dateOfBirth: c.dateOfBirth } : {}),
  };
  if (c.address) {
    fields.primaryAddress = {
      type: 'primary',
      buildingNumber: c.address.buildingNumber,
      line1: c.address.street,
      ...(c.address.locality ? { line2: c.address.locality } : {}),
      line3: c.address.town,
      ...(c.address.county ? { line4: c.address.county } : {}),
      postcode: c.address.postcode,
      countryId: 'GB',
    };
  }
  return fields;
}

/** Reapit's error body [R1]. */
const failure = (
  statusCode: number,
  description: string,
  errors?: Array<{ field: string; message: string }>,
): SimResponse => ({
  status: statusCode,
  body: { statusCode, dateTime: new Date().toISOString(), description, ...(errors ? { errors } : {}) },
});

const UPDATABLE = [
  'title',
  'forename',
  'surname',
  'dateOfBirth',
  'active',
  'marketingConsent',
  'homePhone',
  'workPhone',
  'mobilePhone',
  'email',
  'officeIds',
  'negotiatorIds',
  'categoryIds',
  'primaryAddress',
  'secondaryAddress',
  'workAddress',
  'communicationPreferenceLetter',
  'communicationPreferenceEmail',
  'communicationPreferencePhone',
  'communicationPreferenceSMS',
  'fromArchive',
  'additionalContactDetails',
  'source',
] as const;

export function startReapitSimulator(options: ReapitSimulatorOptions = {}): Promise<RunningSimulator> {
  const timestamp = timestampWith(options.subMillisecondTicks ? digestTicks : noTicks);
  const db = new SimDb(reapitDialectWith(timestamp), options);
  // Client-credentials grant [R1]; served on the API port for convenience (real: connect.reapit.cloud).
  const tokens = simAccessTokens({
    prefix: 'sim-reapit-access-token',
    clientId: CREDENTIALS.clientId,
    clientSecret: CREDENTIALS.clientSecret,
    ttlMs: options.tokenTtlMs,
  });
  return serveSimulator(
    'reapit',
    {
      db,
      limits: { ...reapitSpec.limits, ...options.limits },
      open: (req) => (req.path === '/token' ? tokens.grant(req) : null),
      authorize: (req) => {
        // [R1]: 401 for a missing or invalid Authorization, an expired token included.
        if (!tokens.accepts(req.headers.authorization))
          return failure(401, 'Authorization header missing or invalid');
        // ASSUMPTION: a reapit-customer other than the token's is refused with 401 (undocumented either way).
        if (req.headers['reapit-customer'] !== CREDENTIALS.customerId)
          return failure(401, 'Unknown reapit-customer');
        // ASSUMPTION: a missing api-version is refused with 400 (the docs only say the header is required).
        if (req.headers['api-version'] !== REAPIT_API_VERSION)
          return failure(400, 'api-version header is required');
        return null;
      },
      // [R1]: 403 is "scope": an app whose customer did not grant it the write scope, refused on POST and PATCH
      // while its GETs are served. ASSUMPTION: the wording of the description.
      writeRefused: () => failure(403, 'The app has not been granted the scope this request requires'),
      // ASSUMPTION: Reapit's 429 body is not documented; the documented error body [R1], no Retry-After [R1][R5].
      rateLimited: () => failure(429, 'Too Many Requests'),
      serverError: () => failure(500, 'An unexpected error occurred'),
      route: (req, baseUrl) => route(db, timestamp, req, baseUrl),
      credentials: (baseUrl) => ({
        ...CREDENTIALS,
        tokenUrl: `${baseUrl}/token`,
        officeId: OFFICE,
        negotiatorId: NEGOTIATOR,
      }),
    },
    options,
  );
}

function route(db: SimDb<Contact>, timestamp: Timestamp, req: SimRequest, baseUrl: string): SimResponse {
  const one = /^\/contacts\/([^/]+)\/?$/.exec(req.path);
  if ((req.path === '/contacts/' || req.path === '/contacts') && req.method === 'GET') return list(db, req);
  if ((req.path === '/contacts/' || req.path === '/contacts') && req.method === 'POST')
    return create(db, timestamp, req, baseUrl);
  if (one && req.method === 'GET') {
    const record = db.get(decodeURIComponent(one[1] as string));
    return record
      ? { status: 200, headers: { etag: record._eTag ?? '' }, body: record }
      : failure(404, 'Contact not found');
  }
  if (one && req.method === 'PATCH') return patch(db, timestamp, req, decodeURIComponent(one[1] as string));
  return failure(404, `No route ${req.method} ${req.path}`);
}

function list(db: SimDb<Contact>, req: SimRequest): SimResponse {
  const q = req.query;
  const pageSize = Number(q.get('pageSize') ?? 25);
  const pageNumber = Number(q.get('pageNumber') ?? 1);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100)
    return failure(400, 'pageSize must be 1–100');
  if (!Number.isInteger(pageNumber) || pageNumber < 1)
    return failure(400, 'pageNumber must be greater than 0');
  const instant = (name: string) => {
    const value = q.get(name);
    if (value === null) return null;
    // [R1]: a time component must carry a zone designator.
    return /(Z|[+-]\d{2}:?\d{2})$/.test(value) ? Date.parse(value) : Number.NaN;
  };
  const from = instant('modifiedFrom');
  const to = instant('modifiedTo');
  if (Number.isNaN(from) || Number.isNaN(to))
    return failure(400, 'modifiedFrom/modifiedTo must be ISO-8601 with a zone');
  // ASSUMPTION: Reapit may refuse a range that ends before it begins ([R3] says nothing); the simulator does, so no
  // test passes with an adapter that sends one.
  if (from !== null && to !== null && from > to)
    return failure(400, 'modifiedFrom must not be after modifiedTo');
  // [R3]: array filters are repeated keys of their own name (form, explode: `?id=A&id=B`). ASSUMPTION: a key the
  // OpenAPI does not declare, such as a bracketed `id[]` or `email[]`, is ignored, so the listing comes unfiltered.
  const emails = q.getAll('email').map((e) => e.trim().toLowerCase());
  const ids = q.getAll('id');
  // ASSUMPTION: `modifiedFrom`/`modifiedTo` compare at millisecond precision ("on or after" / "on or before"), and
  // the listing is ordered at the millisecond too: ticks below it, if any, play no part.
  const range = db.modifiedRange(from, to);
  // [R3]: `createdFrom`/`createdTo` as "on or after" / "on or before", compared as `modified` is (ASSUMPTION above).
  const createdFrom = instant('createdFrom');
  const createdTo = instant('createdTo');
  if (Number.isNaN(createdFrom) || Number.isNaN(createdTo))
    return failure(400, 'createdFrom/createdTo must be ISO-8601 with a zone');
  const createdIn = (r: Contact) => {
    const at = Date.parse(r.created ?? '');
    return (createdFrom === null || at >= createdFrom) && (createdTo === null || at <= createdTo);
  };
  // ASSUMPTION (a simplification): only the filters the adapter sends are served; `active`, `fromArchive`, the
  // other filters [R3] and any `sortBy` but `-modified` are ignored.
  const reversed = q.get('sortBy') === '-modified';
  // Every row of the window only when a filter or the reverse order needs them; a plain page is sliced alone.
  let rows: Contact[] | null = null;
  if (emails.length > 0 || ids.length > 0 || createdFrom !== null || createdTo !== null || reversed) {
    rows = range.slice(0, range.count);
    if (emails.length > 0) rows = rows.filter((r) => emails.includes((r.email ?? '').trim().toLowerCase()));
    if (ids.length > 0) rows = rows.filter((r) => ids.includes(r.id));
    if (createdFrom !== null || createdTo !== null) rows = rows.filter(createdIn);
    // The window is in (modified, id) order; other sort keys are not needed by the adapter.
    if (reversed) rows.reverse();
  }
  const totalCount = rows?.length ?? range.count;
  const totalPageCount = Math.ceil(totalCount / pageSize);
  const pageStart = (pageNumber - 1) * pageSize;
  const embedded = (rows ?? range).slice(pageStart, pageStart + pageSize);
  const link = (n: number) => {
    const params = new URLSearchParams(q);
    params.set('pageNumber', String(n));
    params.set('pageSize', String(pageSize));
    return { href: `/contacts/?${params}` };
  };
  return {
    status: 200,
    body: {
      _embedded: embedded,
      pageNumber,
      pageSize,
      pageCount: embedded.length,
      totalPageCount,
      totalCount,
      _links: {
        self: link(pageNumber),
        first: link(1),
        ...(pageNumber < totalPageCount ? { next: link(pageNumber + 1) } : {}),
        last: link(Math.max(1, totalPageCount)),
      },
    },
  };
}

function invalid(
  body: Record<string, unknown>,
  required: boolean,
): Array<{ field: string; message: string }> {
  const errors: Array<{ field: string; message: string }> = [];
  const consent = body.marketingConsent;
  if ((required || consent !== undefined) && !['grant', 'deny', 'notAsked'].includes(String(consent))) {
    errors.push({ field: 'marketingConsent', message: 'must be grant, deny or notAsked' });
  }
  if (required && !(typeof body.surname === 'string' && body.surname.length > 0))
    errors.push({ field: 'surname', message: 'required' });
  // ASSUMPTION: an update may not clear what a create requires (the surname); Reapit documents neither way.
  if (!required && body.surname === '') errors.push({ field: 'surname', message: 'cannot be cleared' });
  for (const key of ['officeIds', 'negotiatorIds'] as const) {
    if (required && !(Array.isArray(body[key]) && body[key].length > 0))
      errors.push({ field: key, message: 'required' });
  }
  if (
    required &&
    !['email', 'mobilePhone', 'homePhone', 'workPhone'].some(
      (k) => typeof body[k] === 'string' && body[k] !== '',
    )
  ) {
    errors.push({ field: 'email', message: 'at least one of email or a phone number is required' });
  }
  return errors;
}

function create(db: SimDb<Contact>, timestamp: Timestamp, req: SimRequest, baseUrl: string): SimResponse {
  if (req.body === null || typeof req.body !== 'object') return failure(400, 'Body must be JSON');
  const body = req.body as Record<string, unknown>;
  const errors = invalid(body, true);
  if (errors.length > 0) return failure(422, 'One or more validation failures have occurred', errors);
  const at = db.stamp();
  // [R1]: creation "is often asynchronous"; `createVisibleAfterMs` keeps the record out of view that long.
  const record = db.insertCreated((id) =>
    withETag({
      ...pick(body),
      id,
      created: timestamp(id, at),
      modified: timestamp(id, at),
      active: true,
      metadata: objectOr(body.metadata),
    }),
  );
  // ASSUMPTION: `Location` is an absolute URL ([R1] shows none); the adapter reads only its last path segment.
  return { status: 201, headers: { location: `${baseUrl}/contacts/${record.id}` }, effect: 'create' };
}

function patch(db: SimDb<Contact>, timestamp: Timestamp, req: SimRequest, id: string): SimResponse {
  const current = db.get(id);
  if (!current) return failure(404, 'Contact not found');
  // [R1]: If-Match is mandatory and must equal the current ETag, quotes included; otherwise 412.
  if (req.headers['if-match'] !== current._eTag)
    return failure(412, 'The ETag supplied does not match the current version');
  if (req.body === null || typeof req.body !== 'object') return failure(400, 'Body must be JSON');
  const body = req.body as Record<string, unknown>;
  const errors = invalid(body, false);
  if (errors.length > 0) return failure(422, 'One or more validation failures have occurred', errors);
  // ASSUMPTION: metadata keys merge shallowly into the stored metadata (Reapit does not document it).
  const metadata = { ...objectOr(current.metadata), ...objectOr(body.metadata) };
  db.put(withETag({ ...current, ...pick(body), metadata, modified: timestamp(id, db.stamp()) }));
  return { status: 204, effect: 'update' };
}

/**
 * The members of a create or update the simulator keeps. ASSUMPTION (a simplification): any other is dropped without
 * a word and the kept ones take any value type, where Reapit validates its model (400/422).
 */
function pick(body: Record<string, unknown>): Partial<Platform.ContactModel> {
  return Object.fromEntries(UPDATABLE.filter((k) => k in body).map((k) => [k, body[k]]));
}

const objectOr = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
