import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SimDb, type SimDialect } from '../simulator/db.ts';
import type { SeedContact } from '../simulator/generator.ts';
import {
  type RunningSimulator,
  type SimRequest,
  type SimResponse,
  type SimulatorOptions,
  serveSimulator,
} from '../simulator/server.ts';
import { JSON_API } from './schemas.ts';
import { streetSpec } from './spec.ts';

/**
 * Street Open API people endpoints on loopback, following docs/providers.md (Street) [S1][S2][S3].
 * Records are kept as JSON:API `person` resources, exactly as the API returns them.
 */

interface ContactPoint {
  value: string;
  notes: string | null;
  primary: boolean;
}
interface StreetAddress {
  single_line: string;
  anon_single_line: string;
  building_number: string | null;
  building_name: string | null;
  street: string;
  line_1: string;
  line_2: string | null;
  line_3: string | null;
  line_4: string | null;
  town: string;
  country: string;
  postcode: string;
  udprn: string | null;
}
export interface StreetRecord {
  id: string;
  type: 'person';
  attributes: {
    full_name: string;
    title: string | null;
    first_name: string | null;
    last_name: string;
    address: StreetAddress | null;
    telephone_numbers: ContactPoint[];
    email_addresses: ContactPoint[];
    marketing_consent: boolean | null;
    contact_preferences: { email: boolean; post: boolean; text: boolean; phone: boolean };
    statuses: { vendor: string | null; landlord: string | null; tenant: string | null };
    created_at: string;
    updated_at: string;
    /**
     * When the person went to the trash. The simulator's own: [S3]'s Person has no deletion attribute, so it is left
     * off the wire (`onTheWire`); only `filter[trashed]` tells a trashed person.
     */
    deleted_at: string | null;
  };
  relationships: Record<string, { data: unknown[] }>;
}

const API_TOKEN = 'sim-street-api-token';

/** Whole seconds, as in the spec's examples (`2019-08-24T14:15:22Z` [S3]). */
const timestamp = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** A UUID (v4 layout) derived from the record number, so ids are stable per seed [S3: ids are UUIDs]. */
function uuidFor(n: number): string {
  const h = createHash('sha1').update(`street-person-${n}`).digest('hex');
  const variant = ((Number.parseInt(h[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const CONSENT = { grant: true, deny: false, notAsked: null } as const;

function addressFromSeed(c: SeedContact): StreetAddress | null {
  const a = c.address;
  if (!a) return null;
  const line1 = `${a.buildingNumber} ${a.street}`;
  const parts = [line1, a.locality, a.town, a.postcode].filter((p): p is string => !!p);
  return {
    single_line: parts.join(', '),
    anon_single_line: parts.slice(1).join(', '),
    building_number: /^\d+$/.test(a.buildingNumber) ? a.buildingNumber : null,
    building_name: /^\d+$/.test(a.buildingNumber) ? null : a.buildingNumber,
    street: a.street,
    line_1: line1,
    line_2: a.locality,
    line_3: a.town,
    line_4: a.county,
    town: a.town,
    country: 'United Kingdom',
    postcode: a.postcode,
    udprn: null,
  };
}

function attributesFromSeed(c: SeedContact) {
  const phones = [c.mobilePhone, c.homePhone, c.workPhone].filter((p): p is string => p !== null);
  return {
    full_name: [c.title, c.firstName, c.lastName].filter(Boolean).join(' '),
    title: c.title,
    first_name: c.firstName,
    last_name: c.lastName,
    address: addressFromSeed(c),
    telephone_numbers: phones.map((value, i) => ({ value, notes: null, primary: i === 0 })),
    email_addresses: c.email ? [{ value: c.email, notes: null, primary: true }] : [],
    marketing_consent: CONSENT[c.marketingConsent],
  };
}

const isMobile = (v: string) => /^(\+44|0044|0|\(0)\s*\(?7/.test(v.replace(/\s+/g, '').replace(/^\(/, ''));

export const streetDialect: SimDialect<StreetRecord> = {
  newId: uuidFor,
  fromSeed: (contact, id, createdMs, modifiedMs) => ({
    id,
    type: 'person',
    attributes: {
      ...attributesFromSeed(contact),
      contact_preferences: { email: true, post: true, text: false, phone: true },
      statuses: { vendor: null, landlord: null, tenant: null },
      created_at: timestamp(createdMs),
      updated_at: timestamp(modifiedMs),
      deleted_at: contact.archived ? timestamp(modifiedMs) : null,
    },
    relationships: { properties: { data: [] }, applicants: { data: [] }, notes: { data: [] } },
  }),
  toSeed: (r) => {
    const a = r.attributes;
    const numbers = a.telephone_numbers.map((t) => t.value);
    const others = numbers.filter((n) => !isMobile(n));
    return {
      title: a.title,
      firstName: a.first_name,
      lastName: a.last_name,
      email: a.email_addresses.find((e) => e.primary)?.value ?? a.email_addresses[0]?.value ?? null,
      mobilePhone: numbers.find(isMobile) ?? null,
      homePhone: others[0] ?? null,
      workPhone: others[1] ?? null,
      address: a.address
        ? {
            buildingNumber: a.address.building_number ?? a.address.building_name ?? '',
            street: a.address.street,
            locality: a.address.line_2,
            town: a.address.town,
            county: a.address.line_4,
            postcode: a.address.postcode,
          }
        : null,
      // Street holds no date of birth.
      dateOfBirth: null,
      marketingConsent:
        a.marketing_consent === true ? 'grant' : a.marketing_consent === false ? 'deny' : 'notAsked',
      archived: a.deleted_at !== null,
    };
  },
  withSeed: (r, contact, modifiedMs) => ({
    ...r,
    attributes: {
      ...r.attributes,
      ...attributesFromSeed(contact),
      // ASSUMPTION: trashing a person moves its `updated_at` ([S3] does not say), so a delta brings it as removed.
      updated_at: timestamp(modifiedMs),
      deleted_at: contact.archived ? (r.attributes.deleted_at ?? timestamp(modifiedMs)) : null,
    },
  }),
  // `marketing_consent` is boolean|null [S3]: the adapter must quarantine this record alone.
  malformed: (r) => ({
    ...r,
    attributes: { ...r.attributes, marketing_consent: 'yes' as unknown as boolean },
  }),
  id: (r) => r.id,
  modified: (r) => r.attributes.updated_at,
};

/** A person as Street's API shows it [S3]: without the simulator's own `deleted_at`. */
function onTheWire(record: StreetRecord): Omit<StreetRecord, 'attributes'> & {
  attributes: Omit<StreetRecord['attributes'], 'deleted_at'>;
} {
  const { deleted_at: _trashedAt, ...attributes } = record.attributes;
  return { ...record, attributes };
}

/** A JSON:API error document [S3]. */
function failure(status: number, title: string, detail?: string, pointer?: string): SimResponse {
  return {
    status,
    headers: { 'content-type': JSON_API },
    body: {
      errors: [
        {
          title,
          ...(detail ? { detail } : {}),
          code: String(status),
          ...(pointer ? { source: { pointer } } : {}),
        },
      ],
    },
  };
}

const document = (body: unknown, status = 200, effect?: 'update'): SimResponse => ({
  status,
  headers: { 'content-type': JSON_API },
  body,
  ...(effect ? { effect } : {}),
});

export interface StreetSimulatorOptions extends SimulatorOptions {
  /** The CRM's clock for the stamps it writes, in epoch ms; default `Date.now`. A test holds it in one second. */
  clock?: (() => number) | undefined;
}

export function startStreetSimulator(options: StreetSimulatorOptions = {}): Promise<RunningSimulator> {
  const db = new SimDb(streetDialect, options, options.clock);
  return serveSimulator(
    'street',
    {
      db,
      limits: { ...streetSpec.limits, ...options.limits },
      authorize: (req) =>
        req.headers.authorization === `Bearer ${API_TOKEN}`
          ? null
          : failure(401, '401 Unauthorized', 'The API token is missing or invalid.'),
      // [S3]: PATCH /people/{id} declares 403. ASSUMPTION: a token that may read people but not edit them, answered
      // with a JSON:API error document.
      writeRefused: () =>
        failure(403, '403 Forbidden', 'This application is not permitted to perform this action.'),
      // [S3] documents no 429; ASSUMPTION: a JSON:API error document, no Retry-After.
      rateLimited: () => failure(429, 'Too Many Requests'),
      serverError: () => failure(500, '500 Internal Server Error'),
      route: (req, baseUrl) => route(db, req, baseUrl),
      credentials: () => ({ apiToken: API_TOKEN }),
      control: (req) =>
        `${req.method} ${req.path}` === 'POST /_sim/trash-and-key-in-again' ? keyInAgain(db, req.body) : null,
    },
    options,
  );
}

function route(db: SimDb<StreetRecord>, req: SimRequest, baseUrl: string): SimResponse {
  // [S3]: 406 when the client does not accept JSON:API.
  const accept = String(req.headers.accept ?? '*/*');
  if (!accept.includes(JSON_API) && !accept.includes('*/*'))
    return failure(406, 'Not Acceptable', `Accept must include ${JSON_API}`);
  if (req.path === '/people' && req.method === 'GET') return list(db, req, baseUrl);
  const one = /^\/people\/([^/]+)$/.exec(req.path);
  if (one) {
    const id = decodeURIComponent(one[1] as string);
    const record = db.get(id);
    // ASSUMPTION: a trashed person is not found by id (only listings take `filter[trashed]`).
    if (!record || record.attributes.deleted_at !== null)
      return failure(404, '404 Not Found', 'Person not found.');
    if (req.method === 'GET')
      return document({ data: onTheWire(record), included: [], links: { self: `${baseUrl}/people/${id}` } });
    if (req.method === 'PATCH') return patch(db, req, record);
  }
  return failure(404, '404 Not Found', `No route ${req.method} ${req.path}`);
}

function list(db: SimDb<StreetRecord>, req: SimRequest, baseUrl: string): SimResponse {
  const q = req.query;
  const bounds: Record<string, number | null> = {};
  for (const name of ['updated_from', 'updated_to', 'created_from', 'created_to']) {
    const value = q.get(`filter[${name}]`);
    // ASSUMPTION: a date-time without a zone is read in the server's local time (`Date.parse`); [S3]: `date-time`.
    const at = value === null ? null : Date.parse(value);
    if (at !== null && Number.isNaN(at))
      return failure(400, '400 Bad Request', `filter[${name}] must be a date-time`, undefined);
    bounds[name] = at;
  }
  const trashed = q.get('filter[trashed]');
  if (trashed !== null && trashed !== 'with' && trashed !== 'only')
    return failure(400, '400 Bad Request', 'filter[trashed] must be with or only');
  const number = Number(q.get('page[number]') ?? 1);
  const requested = Number(q.get('page[size]') ?? 25);
  if (!Number.isInteger(number) || number < 1 || !Number.isInteger(requested) || requested < 1)
    return failure(400, '400 Bad Request', 'page[number] and page[size] must be positive integers');
  // [S2]: page size is capped at 100 (larger values are served as 100).
  const size = Math.min(requested, 100);
  const email = q.get('filter[email_address]')?.trim().toLowerCase();
  const phone = q.get('filter[telephone_number]')?.replace(/\D/g, '');
  const after = (value: string, bound: number | null | undefined) =>
    bound == null || Date.parse(value) > bound;
  const before = (value: string, bound: number | null | undefined) =>
    bound == null || Date.parse(value) < bound;
  // ASSUMPTION: "updated after/before the provided date" [S3] is strict on both ends; results come in
  // (updated_at, id) order (no sort parameter is documented).
  const updated = db.modifiedBetween(bounds.updated_from ?? null, bounds.updated_to ?? null, {
    from: true,
    to: true,
  });
  const rows = updated.filter((r) => {
    const a = r.attributes;
    if (trashed === null && a.deleted_at !== null) return false;
    if (trashed === 'only' && a.deleted_at === null) return false;
    if (!after(a.created_at, bounds.created_from) || !before(a.created_at, bounds.created_to)) return false;
    // ASSUMPTION: e-mail matches exactly, case-insensitive; phone on its digits (Street asks for +44… form).
    if (email && !a.email_addresses.some((e) => e.value.trim().toLowerCase() === email)) return false;
    if (
      phone &&
      !a.telephone_numbers.some((t) => t.value.replace(/\D/g, '').endsWith(phone.replace(/^44/, '')))
    )
      return false;
    return true;
  });
  const total = rows.length;
  const totalPages = Math.ceil(total / size);
  const data = rows.slice((number - 1) * size, number * size);
  const link = (n: number) => {
    const params = new URLSearchParams(q);
    params.set('page[number]', String(n));
    params.set('page[size]', String(size));
    return `${baseUrl}/people?${params}`;
  };
  return document({
    data: data.map(onTheWire),
    included: [],
    meta: {
      pagination: {
        total,
        count: data.length,
        per_page: size,
        current_page: number,
        total_pages: totalPages,
      },
    },
    links: {
      self: link(number),
      first: link(1),
      prev: number > 1 ? link(number - 1) : null,
      next: number < totalPages ? link(number + 1) : null,
      last: link(Math.max(1, totalPages)),
    },
    jsonapi: { version: '1.0' },
  });
}

const WRITABLE = new Set(['title', 'first_name', 'last_name', 'marketing_consent', 'contact_preferences']);
const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function patch(db: SimDb<StreetRecord>, req: SimRequest, record: StreetRecord): SimResponse {
  if (!String(req.headers['content-type'] ?? '').startsWith(JSON_API))
    return failure(415, 'Unsupported Media Type', `Content-Type must be ${JSON_API}`);
  const data = isObject(req.body) ? req.body.data : undefined;
  if (!isObject(data) || !isObject(data.attributes))
    return failure(400, '400 Bad Request', 'Body must be a JSON:API document with data.attributes');
  // JSON:API: a type or id that does not match the endpoint is a 409 Conflict [S3 declares 409].
  if (data.type !== 'person' || data.id !== record.id)
    return failure(409, '409 Conflict', 'data.type/data.id do not match the resource');
  const attributes = data.attributes;
  // [S3]: the request body (`PersonRequestBody`) requires both names, whatever else the update changes.
  for (const name of ['first_name', 'last_name']) {
    if (!(name in attributes))
      return failure(422, 'Unprocessable Entity', `${name} is required`, `/data/attributes/${name}`);
  }
  const next = { ...record.attributes };
  for (const [key, value] of Object.entries(attributes)) {
    const pointer = `/data/attributes/${key}`;
    if (!WRITABLE.has(key)) return failure(422, 'Unprocessable Entity', `${key} cannot be updated`, pointer);
    if (key === 'marketing_consent') {
      if (typeof value !== 'boolean')
        return failure(422, 'Unprocessable Entity', 'must be a boolean', pointer);
      next.marketing_consent = value;
    } else if (key === 'contact_preferences') {
      if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'boolean'))
        return failure(422, 'Unprocessable Entity', 'must hold booleans', pointer);
      next.contact_preferences = { ...next.contact_preferences, ...(value as Record<string, boolean>) };
    } else if (key === 'last_name') {
      // ASSUMPTION: a surname is required.
      if (typeof value !== 'string' || value.trim() === '')
        return failure(422, 'Unprocessable Entity', 'last_name is required', pointer);
      next.last_name = value;
    } else if (key === 'first_name') {
      // [S3]: the request's `first_name` is a string (only `title` may be null). ASSUMPTION: an empty one is refused.
      if (typeof value !== 'string' || value.trim() === '')
        return failure(422, 'Unprocessable Entity', 'first_name is required', pointer);
      next.first_name = value;
    } else {
      if (value !== null && typeof value !== 'string')
        return failure(422, 'Unprocessable Entity', 'must be a string or null', pointer);
      next.title = value;
    }
  }
  next.full_name = [next.title, next.first_name, next.last_name].filter(Boolean).join(' ');
  next.updated_at = timestamp(db.stamp());
  const updated = { ...record, attributes: next };
  db.put(updated);
  return document({ data: onTheWire(updated) }, 200, 'update');
}

/**
 * An agency deleting a person, which in Street moves them to the trash, and keying them in again: a new person with
 * the same details, in one save. Answers the new ids, by the trashed ones.
 */
function keyInAgain(db: SimDb<StreetRecord>, body: unknown): SimResponse {
  const parsed = z.strictObject({ ids: z.array(z.string()) }).safeParse(body);
  if (!parsed.success) return { status: 400, body: { error: z.prettifyError(parsed.error) } };
  const keyedIn: Record<string, string> = {};
  const at = db.stamp();
  for (const id of parsed.data.ids) {
    const person = db.get(id);
    if (person === undefined || person.attributes.deleted_at !== null) continue;
    const details = streetDialect.toSeed(person);
    db.put(streetDialect.withSeed(person, { ...details, archived: true }, at));
    keyedIn[id] = db.insert((newId) => streetDialect.fromSeed(details, newId, at, at)).id;
  }
  return { status: 200, body: { keyedIn } };
}
