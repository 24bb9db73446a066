import { SimDb, type SimDialect } from '../simulator/db.ts';
import type { SeedContact } from '../simulator/generator.ts';
import {
  type RunningSimulator,
  type SimRequest,
  type SimResponse,
  type SimulatorOptions,
  serveSimulator,
} from '../simulator/server.ts';
import { altoSpec } from './spec.ts';

/**
 * Alto contacts API on loopback, following docs/providers.md (Alto) [A1][A2][A4]. A stored record holds what
 * the list item, the full Contact, its Persons and its consent preferences are rendered from.
 */

type PhoneType = 'Unspecified' | 'Home' | 'Business' | 'Mobile' | 'Fax' | 'Work' | 'ISDN';
/** .NET enum order, for JSON Patch values that send `"Type": 1` as in the vendor example [A1]. */
const PHONE_TYPES: readonly PhoneType[] = [
  'Unspecified',
  'Home',
  'Business',
  'Mobile',
  'Fax',
  'Work',
  'ISDN',
];

interface AltoPhone {
  preferenceOrder: number;
  type: PhoneType;
  number: string;
  description: string | null;
}
interface AltoEmail {
  preferenceOrder: number;
  type: 'Unknown' | 'Personal' | 'Business';
  address: string;
}
interface AltoPerson {
  id: string;
  title: string | null;
  forename: string | null;
  surname: string;
  phoneNumbers: AltoPhone[];
  emailAddresses: AltoEmail[];
}
interface AltoAddress {
  subDwelling: string | null;
  nameNumber: string | null;
  street: string | null;
  locality: string | null;
  town: string | null;
  county: string | null;
  postcode: string | null;
  countryCode: string | null;
  uprn: string | null;
}
type OptIn = 'Denied' | 'Granted' | 'Unknown' | 'GrantedOrUnknown';
interface AltoPreference {
  id: number;
  contactId: number;
  versionNumber: number;
  dateActioned: string | null;
  optInStatus: OptIn;
  type: 'GeneralMarketing';
  actionedBy: string | null;
  additionalInformation: string | null;
}
/** The simulator's stored record (what `GET /_sim/records` returns). */
export interface AltoRecord {
  id: string;
  createdAt: string;
  modifiedAt: string;
  isActive: boolean;
  category: 'Client';
  contactType: { category: 'Client'; persona: string[] };
  branch: { id: string };
  address: AltoAddress | null;
  people: AltoPerson[];
  potentialVendor: boolean;
  potentialLandlord: boolean;
  notes: string | null;
  /** The separate consent resource `GET /contacts/{id}/preferences` [A1]. */
  preferences: AltoPreference[];
}

const CREDENTIALS = {
  clientId: 'sim-alto-client',
  clientSecret: 'sim-alto-secret',
  agencyRef: 'SIMAGY01',
} as const;
const ACCESS_TOKEN = 'sim-alto-access-token';
const BRANCH = '3156';
const NEGOTIATOR = '1234';

/** Alto writes .NET timestamps with 7 fractional digits and `+00:00` [A1]. */
const timestamp = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000+00:00');

const CONSENT: Record<SeedContact['marketingConsent'], OptIn> = {
  grant: 'Granted',
  deny: 'Denied',
  notAsked: 'Unknown',
};

function preferencesFor(
  id: string,
  consent: SeedContact['marketingConsent'],
  atMs: number,
): AltoPreference[] {
  return [
    {
      id: Number(id) * 10,
      contactId: Number(id),
      versionNumber: 1,
      dateActioned: consent === 'notAsked' ? null : timestamp(atMs),
      optInStatus: CONSENT[consent],
      type: 'GeneralMarketing',
      actionedBy: null,
      additionalInformation: null,
    },
  ];
}

function personFromSeed(c: SeedContact, id: string): AltoPerson {
  const phones = (
    [
      ['Mobile', c.mobilePhone],
      ['Home', c.homePhone],
      ['Work', c.workPhone],
    ] as const
  ).flatMap(([type, number]) => (number ? [{ type, number }] : []));
  return {
    id,
    title: c.title,
    forename: c.firstName,
    surname: c.lastName,
    // Stored as agency staff typed them: Alto validates the pattern on create, not on legacy data.
    phoneNumbers: phones.map((p, i) => ({ preferenceOrder: i + 1, ...p, description: null })),
    emailAddresses: c.email ? [{ preferenceOrder: 1, type: 'Personal', address: c.email }] : [],
  };
}

function addressFromSeed(c: SeedContact): AltoAddress | null {
  if (!c.address) return null;
  const flat = c.address.buildingNumber.startsWith('Flat');
  return {
    subDwelling: flat ? c.address.buildingNumber : null,
    nameNumber: flat ? null : c.address.buildingNumber,
    street: c.address.street,
    locality: c.address.locality,
    town: c.address.town,
    county: c.address.county,
    postcode: c.address.postcode,
    countryCode: 'GB',
    uprn: null,
  };
}

export const altoDialect: SimDialect<AltoRecord> = {
  // Numeric string ids of one width, so string order and numeric order agree.
  newId: (n) => String(23_700_000 + n),
  fromSeed: (contact, id, createdMs, modifiedMs) => ({
    id,
    createdAt: timestamp(createdMs),
    modifiedAt: timestamp(modifiedMs),
    isActive: !contact.archived,
    category: 'Client',
    contactType: { category: 'Client', persona: ['Applicant'] },
    branch: { id: BRANCH },
    address: addressFromSeed(contact),
    // ASSUMPTION: person ids count within the contact ("The Person identifier within the Contact", example '1').
    people: [personFromSeed(contact, '1')],
    potentialVendor: false,
    potentialLandlord: false,
    notes: null,
    preferences: preferencesFor(id, contact.marketingConsent, modifiedMs),
  }),
  toSeed: (r) => {
    const person = r.people[0];
    const phone = (type: PhoneType) => person?.phoneNumbers.find((p) => p.type === type)?.number ?? null;
    const status = r.preferences.find((p) => p.type === 'GeneralMarketing')?.optInStatus;
    return {
      title: person?.title ?? null,
      firstName: person?.forename ?? null,
      lastName: person?.surname ?? '',
      email: person?.emailAddresses[0]?.address ?? null,
      mobilePhone: phone('Mobile'),
      homePhone: phone('Home'),
      workPhone: phone('Work'),
      address:
        r.address?.street && r.address.town && r.address.postcode
          ? {
              buildingNumber: r.address.nameNumber ?? r.address.subDwelling ?? '',
              street: r.address.street,
              locality: r.address.locality,
              town: r.address.town,
              county: r.address.county,
              postcode: r.address.postcode,
            }
          : null,
      // Alto holds no date of birth.
      dateOfBirth: null,
      marketingConsent: status === 'Granted' ? 'grant' : status === 'Denied' ? 'deny' : 'notAsked',
      archived: r.isActive !== true,
    };
  },
  withSeed: (r, contact, modifiedMs) => ({
    ...r,
    modifiedAt: timestamp(modifiedMs),
    isActive: !contact.archived,
    address: addressFromSeed(contact),
    people: [personFromSeed(contact, r.people[0]?.id ?? '1'), ...r.people.slice(1)],
    // ASSUMPTION: a consent change bumps the contact's modifiedAt (Alto does not say).
    preferences: preferencesFor(r.id, contact.marketingConsent, modifiedMs),
  }),
  // `isActive` is a boolean in ContactListItem [A1]: the adapter must quarantine this record alone.
  malformed: (r) => ({ ...r, isActive: 'Y' as unknown as boolean }),
  id: (r) => r.id,
  modified: (r) => r.modifiedAt,
};

/** Alto's error body on contacts operations [A1]. */
const failure = (status: number, code: string, message: string, headers?: Record<string, string>) => ({
  status,
  ...(headers ? { headers } : {}),
  body: { errors: [{ code, message }] },
});

const first = <T extends { preferenceOrder: number }>(items: readonly T[]): T | undefined =>
  [...items].sort((a, b) => a.preferenceOrder - b.preferenceOrder)[0];

const links = (r: AltoRecord) => [{ href: `/contacts/${r.id}`, rel: 'self' }];

/** `ContactListItem` [A1]: one `contactInformation` entry per person, first phone and e-mail only. */
function listItem(r: AltoRecord) {
  return {
    id: r.id,
    links: links(r),
    contactType: r.contactType,
    contactInformation: r.people.map((p) => ({
      title: p.title,
      foreName: p.forename,
      surname: p.surname,
      phoneNumber: first(p.phoneNumbers)?.number ?? null,
      emailAddress: first(p.emailAddresses)?.address ?? null,
    })),
    position: null,
    intention: null,
    disposal: null,
    branch: r.branch,
    leadSource: null,
    isActive: r.isActive,
    potentialVendor: r.potentialVendor,
    potentialLandlord: r.potentialLandlord,
    createdAt: r.createdAt,
    modifiedAt: r.modifiedAt,
    notes: r.notes,
    companyName: null,
    applicantRequirements: [],
  };
}

const personView = (p: AltoPerson) => ({ ...p, links: [] });

/** The full `Contact` [A1]. */
function fullContact(r: AltoRecord) {
  return {
    id: r.id,
    links: links(r),
    address: r.address,
    branch: r.branch,
    people: r.people.map(personView),
    category: r.category,
    lead: null,
    position: null,
    intention: null,
    disposal: null,
    notes: r.notes,
    archived: r.isActive !== true,
    companyName: null,
    potentialVendor: r.potentialVendor,
    potentialLandlord: r.potentialLandlord,
    applicantRequirements: [],
    modifiedDate: r.modifiedAt,
  };
}

/** `ContactSearchItemResponse` [A1]. */
function searchItem(r: AltoRecord) {
  return {
    id: r.id,
    links: links(r),
    contactId: r.id,
    displayName: r.people.map((p) => [p.title, p.forename, p.surname].filter(Boolean).join(' ')).join(' & '),
    archived: r.isActive !== true,
    potentialVendor: r.potentialVendor,
    potentialLandlord: r.potentialLandlord,
    notes: r.notes,
    category: r.category,
    registeredOn: r.createdAt,
    lastContactedOn: null,
    address: r.address,
    people: r.people.map((p) => ({
      personId: p.id,
      title: p.title,
      forename: p.forename,
      surname: p.surname,
      emails: [...p.emailAddresses]
        .sort((a, b) => a.preferenceOrder - b.preferenceOrder)
        .map((e, i) => ({ emailAddressId: `${r.id}-${p.id}-e${i}`, emailAddress: e.address })),
      phoneNumbers: [...p.phoneNumbers]
        .sort((a, b) => a.preferenceOrder - b.preferenceOrder)
        .map((n, i) => ({ phoneNumberId: `${r.id}-${p.id}-p${i}`, phoneNumber: n.number })),
    })),
    properties: [],
    applicantRequirements: [],
    modifiedDate: r.modifiedAt,
  };
}

export function startAltoSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const db = new SimDb(altoDialect, options);
  return serveSimulator(
    'alto',
    {
      db,
      limits: { ...altoSpec.limits, ...options.limits },
      open: (req) => (req.path === '/token' ? token(req) : null),
      authorize: (req) => {
        if (req.headers.authorization !== `Bearer ${ACCESS_TOKEN}`)
          return failure(401, 'Unauthorized', 'Bearer token missing, invalid or expired');
        // [A1][A4]: AgencyRef is required on every contacts operation; wrong or missing → 403.
        if (req.headers.agencyref !== CREDENTIALS.agencyRef)
          return failure(403, 'Forbidden', 'AgencyRef header missing or not authorised for this integration');
        return null;
      },
      // ASSUMPTION: Alto declares no 429 [A4]; the simulator answers its assumed budget with the contacts error body.
      rateLimited: () => failure(429, 'TooManyRequests', 'Too many requests'),
      serverError: () => failure(500, 'InternalServerError', 'An unexpected error occurred'),
      route: (req, baseUrl) => route(db, req, baseUrl),
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

/** Client-credentials grant on the API host (secondary [A2]); not counted or limited. */
function token(req: SimRequest): SimResponse {
  const expected = `Basic ${Buffer.from(`${CREDENTIALS.clientId}:${CREDENTIALS.clientSecret}`).toString('base64')}`;
  if (req.method !== 'POST' || req.headers.authorization !== expected)
    return { status: 401, body: { error: 'invalid_client' } };
  return { status: 200, body: { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 3600 } };
}

function route(db: SimDb<AltoRecord>, req: SimRequest, baseUrl: string): SimResponse {
  const { method, path } = req;
  if (path === '/contacts/all' && method === 'GET') return list(db, req);
  if (path === '/contacts/search' && method === 'GET') return search(db, req);
  if (path === '/contacts' && method === 'GET') return byIds(db, req);
  if (path === '/contacts' && method === 'POST') return create(db, req, baseUrl);
  const person = /^\/contacts\/([^/]+)\/persons\/([^/]+)$/.exec(path);
  if (person) {
    const record = db.get(decodeURIComponent(person[1] as string));
    const target = record?.people.find((p) => p.id === decodeURIComponent(person[2] as string));
    if (!record || !target) return failure(404, 'NotFound', 'Contact or Person not found');
    if (method === 'GET')
      return { status: 200, body: { ...personView(target), isContactArchived: !record.isActive } };
    if (method === 'PATCH') return patchPerson(db, req, record, target);
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
    if (method === 'PATCH') return patchContact(db, req, record);
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

function instant(req: SimRequest, name: string): number | null | SimResponse {
  const value = req.query.get(name);
  if (value === null) return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? failure(400, 'InvalidRequest', `${name} must be an ISO-8601 date-time`) : at;
}

/** ASSUMPTION: `next-token` encodes the last (modifiedAt, id) served, so paging is by keyset, not offset. */
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
  const active = req.query.get('active');
  const tokenValue = req.query.get('next-token');
  const after = tokenValue === null ? null : decodeToken(tokenValue);
  if (tokenValue !== null && after === null) return failure(400, 'InvalidRequest', 'next-token is not valid');
  // ASSUMPTION: the date filters are inclusive at millisecond precision; results come in (modifiedAt, id) order.
  // A page starts at the token's instant: the window is read from there, not from the first record.
  const from = after === null ? mFrom : Math.max(mFrom ?? after.m, after.m);
  const rows = db.modifiedBetween(from, mTo).filter((r) => {
    const m = Date.parse(r.modifiedAt);
    const c = Date.parse(r.createdAt);
    if (cFrom !== null && c < cFrom) return false;
    if (cTo !== null && c > cTo) return false;
    if (active !== null && String(r.isActive) !== active) return false;
    return after === null || m > after.m || (m === after.m && r.id > after.id);
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
  const digits = query.replace(/\D/g, '');
  // ASSUMPTION: a case-insensitive substring match over names, e-mails, phone digits, postcode and id.
  const rows = db.list().filter((r) => {
    if (archived !== null && String(r.isActive !== true) !== archived) return false;
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
  return { status: 200, body: { meta: { nextToken: null }, items: rows.slice(0, size).map(searchItem) } };
}

function byIds(db: SimDb<AltoRecord>, req: SimRequest): SimResponse {
  const ids = req.query.getAll('id');
  if (ids.length === 0 || ids.length > 50) return failure(400, 'InvalidRequest', 'between 1 and 50 ids');
  // ASSUMPTION: an array of Contacts (the OpenAPI declares a single Contact for this multi-id call).
  return { status: 200, body: ids.flatMap((id) => db.get(id) ?? []).map(fullContact) };
}

const PHONE_PATTERN = /^[+]?[0-9\s]{10,20}$/;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
const str = (v: unknown) => (typeof v === 'string' ? v : null);

function create(db: SimDb<AltoRecord>, req: SimRequest, baseUrl: string): SimResponse {
  if (!isObject(req.body)) return failure(400, 'InvalidRequest', 'Body must be a JSON object');
  const body = req.body;
  const errors: string[] = [];
  if (!str(body.branchId)) errors.push('branchId is required');
  const people = Array.isArray(body.people) ? body.people : [];
  if (people.length < 1 || people.length > 2) errors.push('people must hold 1 or 2 people');
  for (const p of people) {
    if (!isObject(p) || !str(p.surname)) {
      errors.push('people[].surname is required');
      continue;
    }
    const phones = Array.isArray(p.phoneNumbers) ? p.phoneNumbers : [];
    const emails = Array.isArray(p.emailAddresses) ? p.emailAddresses : [];
    if (phones.length > 4) errors.push('at most 4 phone numbers per person');
    if (emails.length > 2) errors.push('at most 2 e-mail addresses per person');
    for (const n of phones)
      if (!isObject(n) || !PHONE_PATTERN.test(str(n.number) ?? ''))
        errors.push('phoneNumbers[].number is invalid');
    for (const e of emails)
      if (!isObject(e) || !(str(e.address) ?? '').includes('@'))
        errors.push('emailAddresses[].address is invalid');
  }
  if (errors.length > 0)
    return { status: 400, body: { errors: errors.map((message) => ({ code: 'ValidationError', message })) } };

  const parsed = people as Array<Record<string, unknown>>;
  const emailsOf = (p: Record<string, unknown>) =>
    (Array.isArray(p.emailAddresses) ? p.emailAddresses : []).map((e) =>
      String((e as Record<string, unknown>).address)
        .trim()
        .toLowerCase(),
    );
  // ASSUMPTION (Alto does not publish its rule): a duplicate is an active contact with a person of the same
  // surname sharing an e-mail address.
  const duplicate = db
    .list()
    .find(
      (r) =>
        r.isActive === true &&
        parsed.some((p) =>
          r.people.some(
            (q) =>
              q.surname.trim().toLowerCase() === String(p.surname).trim().toLowerCase() &&
              q.emailAddresses.some((e) => emailsOf(p).includes(e.address.trim().toLowerCase())),
          ),
        ),
    );
  if (duplicate) {
    return failure(409, 'Conflict', 'Duplicate contacts found. Check Location response headers for URI.', {
      location: `${baseUrl}/contacts/${duplicate.id}`,
    });
  }
  const at = db.stamp();
  const address = isObject(body.address) ? body.address : null;
  const record = db.insert((id) => ({
    id,
    createdAt: timestamp(at),
    modifiedAt: timestamp(at),
    isActive: true,
    category: 'Client',
    contactType: { category: 'Client', persona: [] },
    branch: { id: String(body.branchId) },
    address: address && {
      subDwelling: str(address.subDwelling),
      nameNumber: str(address.nameNumber),
      street: str(address.street),
      locality: str(address.locality),
      town: str(address.town),
      county: str(address.county),
      postcode: str(address.postcode),
      countryCode: str(address.countryCode) ?? 'GB',
      uprn: str(address.uprn),
    },
    people: parsed.map((p, i) => ({
      id: String(i + 1),
      title: str(p.title),
      forename: str(p.forename),
      surname: String(p.surname),
      phoneNumbers: (Array.isArray(p.phoneNumbers) ? p.phoneNumbers : []).map((n, k) => ({
        preferenceOrder: k + 1,
        type: phoneType((n as Record<string, unknown>).type) ?? 'Home',
        number: String((n as Record<string, unknown>).number),
        description: str((n as Record<string, unknown>).description),
      })),
      emailAddresses: (Array.isArray(p.emailAddresses) ? p.emailAddresses : []).map((e, k) => ({
        preferenceOrder: k + 1,
        type: 'Unknown' as const,
        address: String((e as Record<string, unknown>).address),
      })),
    })),
    potentialVendor: body.potentialVendor === true,
    potentialLandlord: body.potentialLandlord === true,
    notes: str(body.notes),
    preferences: preferencesFor(id, 'notAsked', at),
  }));
  return { status: 201, body: fullContact(record), effect: 'create' };
}

function phoneType(value: unknown): PhoneType | null {
  if (typeof value === 'number') return PHONE_TYPES[value] ?? null;
  const name = PHONE_TYPES.find((t) => t.toLowerCase() === String(value).toLowerCase());
  return name ?? null;
}

/** JSON Patch body checks shared by both PATCH routes [A1]. */
function operations(req: SimRequest): Array<{ op: string; path: string; value: unknown }> | SimResponse {
  // ASSUMPTION: another media type is refused with 415 (the OpenAPI lists only application/json-patch+json).
  if (!String(req.headers['content-type'] ?? '').startsWith('application/json-patch+json'))
    return failure(415, 'UnsupportedMediaType', 'Content-Type must be application/json-patch+json');
  if (!Array.isArray(req.body) || req.body.length === 0)
    return failure(400, 'InvalidPatch', 'Body must be a non-empty JSON Patch array');
  const ops = req.body.filter(isObject);
  if (ops.length !== req.body.length || ops.some((o) => !['replace', 'add'].includes(String(o.op))))
    return failure(400, 'InvalidPatch', 'Only replace and add operations are supported');
  return ops.map((o) => ({ op: String(o.op), path: String(o.path).toLowerCase(), value: o.value }));
}

const bool = (v: unknown) =>
  v === true || v === 'true' ? true : v === false || v === 'false' ? false : null;

function patchContact(db: SimDb<AltoRecord>, req: SimRequest, record: AltoRecord): SimResponse {
  const ops = operations(req);
  if (!Array.isArray(ops)) return ops;
  const next = { ...record };
  for (const o of ops) {
    if (o.path === '/active' || o.path === '/potentialvendor' || o.path === '/potentiallandlord') {
      const value = bool(o.value);
      if (value === null) return failure(400, 'InvalidPatch', `${o.path} must be a boolean`);
      if (o.path === '/active') next.isActive = value;
      else if (o.path === '/potentialvendor') next.potentialVendor = value;
      else next.potentialLandlord = value;
    } else if (!['/positionid', '/intentionid', '/disposalid'].includes(o.path)) {
      return failure(400, 'InvalidPatch', `Path ${o.path} cannot be patched`);
    }
  }
  next.modifiedAt = timestamp(db.stamp());
  db.put(next);
  return { status: 200, body: fullContact(next), effect: 'update' };
}

function patchPerson(
  db: SimDb<AltoRecord>,
  req: SimRequest,
  record: AltoRecord,
  target: AltoPerson,
): SimResponse {
  const ops = operations(req);
  if (!Array.isArray(ops)) return ops;
  const person: AltoPerson = { ...target };
  for (const o of ops) {
    if (o.path === '/title' || o.path === '/forename') {
      if (o.value !== null && typeof o.value !== 'string')
        return failure(400, 'InvalidPatch', `${o.path} must be text`);
      const value = o.value === '' ? null : (o.value as string | null);
      if (o.path === '/title') person.title = value;
      else person.forename = value;
    } else if (o.path === '/surname') {
      if (typeof o.value !== 'string' || o.value.trim() === '')
        return failure(400, 'InvalidPatch', 'Surname cannot be empty');
      person.surname = o.value;
    } else if (o.path === '/emailaddresses' || o.path === '/emailaddresses/-') {
      const values = o.path.endsWith('/-') ? [o.value] : Array.isArray(o.value) ? o.value : null;
      const addresses = values?.map((v) => (isObject(v) ? str(v.Address ?? v.address) : null));
      if (!addresses || addresses.some((a) => !a?.includes('@')))
        return failure(400, 'InvalidPatch', 'EmailAddresses values need an Address');
      const list = [
        ...(o.path.endsWith('/-') ? person.emailAddresses.map((e) => e.address) : []),
        ...(addresses as string[]),
      ];
      if (list.length > 2) return failure(400, 'InvalidPatch', 'At most 2 e-mail addresses per person');
      person.emailAddresses = list.map((address, i) => ({
        preferenceOrder: i + 1,
        type: 'Unknown',
        address,
      }));
    } else if (o.path === '/phonenumbers' || o.path === '/phonenumbers/-') {
      const values = o.path.endsWith('/-') ? [o.value] : Array.isArray(o.value) ? o.value : null;
      const phones = values?.map((v) =>
        isObject(v) && PHONE_PATTERN.test(str(v.Number ?? v.number) ?? '')
          ? {
              type: phoneType(v.Type ?? v.type) ?? 'Home',
              number: String(v.Number ?? v.number),
              description: str(v.Description ?? v.description),
            }
          : null,
      );
      if (!phones || phones.some((p) => p === null))
        return failure(400, 'InvalidPatch', 'PhoneNumbers values are invalid');
      const list = [
        ...(o.path.endsWith('/-') ? person.phoneNumbers : []),
        ...(phones as Omit<AltoPhone, 'preferenceOrder'>[]),
      ];
      if (list.length > 4) return failure(400, 'InvalidPatch', 'At most 4 phone numbers per person');
      person.phoneNumbers = list.map((p, i) => ({ ...p, preferenceOrder: i + 1 }));
    } else {
      return failure(400, 'InvalidPatch', `Path ${o.path} cannot be patched`);
    }
  }
  db.put({
    ...record,
    people: record.people.map((p) => (p.id === person.id ? person : p)),
    modifiedAt: timestamp(db.stamp()),
  });
  return { status: 200, body: personView(person), effect: 'update' };
}
