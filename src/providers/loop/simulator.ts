import { SimDb, type SimDialect } from '../simulator/db.ts';
import type { SeedContact } from '../simulator/generator.ts';
import {
  type RunningSimulator,
  type SimRequest,
  type SimResponse,
  type SimulatorOptions,
  serveSimulator,
} from '../simulator/server.ts';
import type { ProviderLimits } from '../spec.ts';
import type { LoopAddress, LoopContact, LoopPhone } from './schemas.ts';
import { loopSpec } from './spec.ts';

/**
 * An INVENTED Loop contacts API on loopback. Loop publishes no contacts documentation [L1]: every route,
 * shape, status and limit here is ASSUMPTION (docs/providers.md, Loop), isolated in this folder so it can be
 * replaced when the real spec is obtained. Host style from a third-party client [L1]: `/api`, `x-api-key`.
 */

/** `marketingConsent` is `unknown` so a malformed record can hold a non-boolean. */
type Contact = Omit<LoopContact, 'marketingConsent'> & { marketingConsent: unknown };

const CREDENTIALS = { apiKey: 'sim-loop-key' } as const;
const iso = (ms: number) => new Date(ms).toISOString();

export const loopDialect: SimDialect<Contact> = {
  newId: (n) => `ct_${String(n).padStart(7, '0')}`,
  fromSeed: (contact, id, createdMs, modifiedMs) => ({
    id,
    ...seedFields(contact),
    createdAt: iso(createdMs),
    updatedAt: iso(modifiedMs),
  }),
  toSeed: (r) => {
    const phone = (type: LoopPhone['type']) => r.phones.find((p) => p.type === type)?.number ?? null;
    const [buildingNumber = '', ...street] = (r.address?.line1 ?? '').split(' ');
    return {
      title: r.title ?? null,
      firstName: r.firstName ?? null,
      lastName: r.lastName ?? '',
      email: r.emails[0] ?? null,
      mobilePhone: phone('mobile'),
      homePhone: phone('home'),
      workPhone: phone('work'),
      address: r.address?.line1
        ? {
            buildingNumber,
            street: street.join(' '),
            locality: r.address.line2 ?? null,
            town: r.address.town ?? '',
            county: r.address.county ?? null,
            postcode: r.address.postcode ?? '',
          }
        : null,
      dateOfBirth: null,
      marketingConsent:
        r.marketingConsent === true ? 'grant' : r.marketingConsent === false ? 'deny' : 'notAsked',
      archived: false,
    };
  },
  withSeed: (r, contact, modifiedMs) => ({ ...r, ...seedFields(contact), updatedAt: iso(modifiedMs) }),
  // A consent that is not a boolean: the adapter must quarantine this record alone.
  malformed: (r) => ({ ...r, marketingConsent: 'yes' }),
  id: (r) => r.id,
  modified: (r) => r.updatedAt,
};

/** Seed → contact members. ASSUMPTION: no date of birth or archive flag in Loop's contact. */
function seedFields(c: SeedContact): Omit<Contact, 'id' | 'createdAt' | 'updatedAt'> {
  const phones: LoopPhone[] = [];
  if (c.mobilePhone) phones.push({ type: 'mobile', number: c.mobilePhone });
  if (c.homePhone) phones.push({ type: 'home', number: c.homePhone });
  if (c.workPhone) phones.push({ type: 'work', number: c.workPhone });
  const address: LoopAddress | null = c.address
    ? {
        line1: `${c.address.buildingNumber} ${c.address.street}`,
        line2: c.address.locality,
        town: c.address.town,
        county: c.address.county,
        postcode: c.address.postcode,
        country: 'GB',
      }
    : null;
  return {
    title: c.title,
    firstName: c.firstName,
    lastName: c.lastName,
    emails: c.email ? [c.email] : [],
    phones,
    address,
    marketingConsent: c.marketingConsent === 'grant' ? true : c.marketingConsent === 'deny' ? false : null,
  };
}

/** ASSUMPTION: error body `{ message }`. */
const failure = (status: number, message: string, headers?: Record<string, string>): SimResponse => ({
  status,
  body: { message },
  ...(headers ? { headers } : {}),
});

export function startLoopSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const db = new SimDb(loopDialect, options);
  const limits: ProviderLimits = { ...loopSpec.limits, ...options.limits };
  return serveSimulator(
    'loop',
    {
      db,
      limits,
      authorize: (req) =>
        req.headers['x-api-key'] === CREDENTIALS.apiKey ? null : failure(401, 'Invalid API key'),
      // ASSUMPTION: `Retry-After` (whole seconds, at least 1) says when the fullest window frees a slot, counting
      // every request the limits let through, whatever its answer; a 429 that is not a full window (an injected
      // burst, too many in flight) says 1.
      rateLimited: ({ freeInMs = 0 }) =>
        failure(429, 'Too Many Requests', { 'retry-after': String(Math.max(1, Math.ceil(freeInMs / 1000))) }),
      serverError: () => failure(500, 'Internal Server Error'),
      route: (req) => route(db, req),
      credentials: () => ({ ...CREDENTIALS }),
    },
    options,
  );
}

function route(db: SimDb<Contact>, req: SimRequest): SimResponse {
  const one = /^\/api\/contacts\/([^/]+)\/?$/.exec(req.path);
  const all = /^\/api\/contacts\/?$/.test(req.path);
  if (all && req.method === 'GET') return list(db, req);
  if (all && req.method === 'POST') return create(db, req);
  if (one && req.method === 'GET') {
    const record = db.get(decodeURIComponent(one[1] as string));
    return record ? { status: 200, body: record } : failure(404, 'Contact not found');
  }
  if (one && req.method === 'PUT') return put(db, req, decodeURIComponent(one[1] as string));
  return failure(404, `No route ${req.method} ${req.path}`);
}

function list(db: SimDb<Contact>, req: SimRequest): SimResponse {
  const q = req.query;
  const pageSize = Number(q.get('pageSize') ?? 25);
  const pageNumber = Number(q.get('pageNumber') ?? 1);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100)
    return failure(400, 'pageSize must be 1–100');
  if (!Number.isInteger(pageNumber) || pageNumber < 1) return failure(400, 'pageNumber must be 1 or more');
  const sinceText = q.get('modifiedSince');
  const since = sinceText === null ? null : Date.parse(sinceText);
  if (Number.isNaN(since)) return failure(400, 'modifiedSince must be an ISO-8601 date-time');
  // ASSUMPTION: inclusive at millisecond precision; results in (updatedAt, id) order (the shared store's).
  const rows = db.modifiedRange(since, null);
  return {
    status: 200,
    body: {
      results: rows.slice((pageNumber - 1) * pageSize, pageNumber * pageSize),
      totalCount: rows.count,
    },
  };
}

/** Members a POST or PUT may set, validated loosely (ASSUMPTION: 422 `{ message }` on a bad member). */
function members(body: Record<string, unknown>): Partial<Contact> | string {
  const out: Partial<Contact> = {};
  for (const key of ['title', 'firstName', 'lastName'] as const) {
    if (!(key in body)) continue;
    const value = body[key];
    if (value !== null && typeof value !== 'string') return `${key} must be text or null`;
    out[key] = value as string | null;
  }
  if ('emails' in body) {
    if (!Array.isArray(body.emails) || !body.emails.every((e) => typeof e === 'string'))
      return 'emails must be a list of text';
    out.emails = body.emails as string[];
  }
  if ('phones' in body) {
    const ok =
      Array.isArray(body.phones) &&
      body.phones.every(
        (p) =>
          p !== null &&
          typeof p === 'object' &&
          ['mobile', 'home', 'work', 'other'].includes((p as LoopPhone).type) &&
          typeof (p as LoopPhone).number === 'string',
      );
    if (!ok) return 'phones must be a list of {type, number}';
    out.phones = body.phones as LoopPhone[];
  }
  if ('address' in body) {
    if (body.address !== null && (typeof body.address !== 'object' || Array.isArray(body.address)))
      return 'address must be an object or null';
    out.address = body.address as LoopAddress | null;
  }
  if ('marketingConsent' in body) {
    if (body.marketingConsent !== null && typeof body.marketingConsent !== 'boolean')
      return 'marketingConsent must be true, false or null';
    out.marketingConsent = body.marketingConsent;
  }
  return out;
}

function create(db: SimDb<Contact>, req: SimRequest): SimResponse {
  if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body))
    return failure(400, 'Body must be a JSON object');
  const fields = members(req.body as Record<string, unknown>);
  if (typeof fields === 'string') return failure(422, fields);
  // ASSUMPTION: a surname is required.
  if (!fields.lastName?.trim()) return failure(422, 'lastName is required');
  const at = iso(db.stamp());
  const record = db.insert((id) => ({
    id,
    title: null,
    firstName: null,
    lastName: null,
    emails: [],
    phones: [],
    address: null,
    marketingConsent: null,
    ...fields,
    createdAt: at,
    updatedAt: at,
  }));
  // ASSUMPTION (as all of Loop's API): `Location` is a path; the adapter takes the id from the body.
  return { status: 201, headers: { location: `/api/contacts/${record.id}` }, body: record, effect: 'create' };
}

/** ASSUMPTION: last write wins, no ETag; members absent from the body keep their values. */
function put(db: SimDb<Contact>, req: SimRequest, id: string): SimResponse {
  const current = db.get(id);
  if (!current) return failure(404, 'Contact not found');
  if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body))
    return failure(400, 'Body must be a JSON object');
  const fields = members(req.body as Record<string, unknown>);
  if (typeof fields === 'string') return failure(422, fields);
  if ('lastName' in fields && !fields.lastName?.trim()) return failure(422, 'lastName cannot be cleared');
  const record: Contact = { ...current, ...fields, updatedAt: iso(db.stamp()) };
  db.put(record);
  return { status: 200, body: record, effect: 'update' };
}
