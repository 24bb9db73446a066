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
import type { ProviderLimits } from '../spec.ts';
import type { AgentosApplicant } from './schemas.ts';
import { AGENTOS_TIERS, type AgentosTier, agentosSpec } from './spec.ts';

/**
 * agentOS V4 contacts/applications on loopback, following docs/providers.md (agentOS) [G1]–[G5].
 * Records are stored as the applicant wire shape plus `_sim` bookkeeping (agentOS serves no modified value;
 * the shared store orders and edits by it). The API never serves `_sim`; `/_sim/records` shows it.
 */

type Applicant = Omit<AgentosApplicant, 'ThirdPartyMarketing'> & {
  /** `unknown` so a malformed record can hold a non-boolean. */
  ThirdPartyMarketing: unknown;
  _sim: { created: string; modified: string };
};

const CREDENTIALS = { apiKey: 'sim-agentos-key', shortName: 'simagency', branchId: 'BR0001' } as const;

/** ASSUMPTION: requests within one window after a 429 that the load balancer tolerates before blocking. */
const HAMMER_TOLERANCE = 10;
/** ASSUMPTION: a blocked key stays blocked for five windows (5 minutes at the documented 60-s window). */
const BLOCK_WINDOWS = 5;

const iso = (ms: number) => new Date(ms).toISOString();

export const agentosDialect: SimDialect<Applicant> = {
  // ASSUMPTION: OIDs are opaque strings; these sort in creation order.
  newId: (n) => `APL${String(n).padStart(8, '0')}`,
  fromSeed: (contact, id, createdMs, modifiedMs) => ({
    OID: id,
    BranchOID: CREDENTIALS.branchId,
    ...seedFields(contact),
    _sim: { created: iso(createdMs), modified: iso(modifiedMs) },
  }),
  toSeed: (r) => ({
    title: r.Title ?? null,
    firstName: r.Forename ?? null,
    lastName: r.Surname ?? '',
    email: r.EmailAddress ?? null,
    mobilePhone: r.MobilePhone ?? null,
    homePhone: r.HomePhone ?? null,
    workPhone: r.WorkPhone ?? null,
    address: r.Address?.Address1
      ? {
          buildingNumber: r.Address.AddressNumber ?? '',
          street: r.Address.Address1,
          locality: r.Address.Address2 ?? null,
          town: r.Address.Address3 ?? '',
          county: r.Address.Address4 ?? null,
          postcode: r.Address.Postcode ?? '',
        }
      : null,
    dateOfBirth: null,
    marketingConsent: r.ThirdPartyMarketing === true ? 'grant' : 'deny',
    archived: false,
  }),
  withSeed: (r, contact, modifiedMs) => ({
    OID: r.OID,
    BranchOID: r.BranchOID ?? null,
    ...seedFields(contact),
    _sim: { created: r._sim.created, modified: iso(modifiedMs) },
  }),
  // A consent flag that is not a boolean: the adapter must quarantine this record alone.
  malformed: (r) => ({ ...r, ThirdPartyMarketing: 'Yes' }),
  id: (r) => r.OID,
  modified: (r) => r._sim.modified,
};

/**
 * Seed → applicant fields; absent values are omitted. ASSUMPTION: agentOS keeps one consent flag, so the
 * seed's "deny" and "notAsked" both read back as no consent; date of birth and archiving are not modelled.
 */
function seedFields(c: SeedContact): Omit<Applicant, 'OID' | 'BranchOID' | '_sim'> {
  return {
    ThirdPartyMarketing: c.marketingConsent === 'grant',
    Surname: c.lastName,
    ...(c.title ? { Title: c.title } : {}),
    ...(c.firstName ? { Forename: c.firstName } : {}),
    ...(c.email ? { EmailAddress: c.email } : {}),
    ...(c.mobilePhone ? { MobilePhone: c.mobilePhone } : {}),
    ...(c.homePhone ? { HomePhone: c.homePhone } : {}),
    ...(c.workPhone ? { WorkPhone: c.workPhone } : {}),
    ...(c.address
      ? {
          Address: {
            AddressNumber: c.address.buildingNumber,
            Address1: c.address.street,
            ...(c.address.locality ? { Address2: c.address.locality } : {}),
            Address3: c.address.town,
            ...(c.address.county ? { Address4: c.address.county } : {}),
            Postcode: c.address.postcode,
            Country: 'GB',
          },
        }
      : {}),
  };
}

/** What the API serves: no bookkeeping, and no personal data without third-party-marketing consent [G2]. */
function served(r: Applicant): Record<string, unknown> {
  const { _sim: _bookkeeping, ...wire } = r;
  if (wire.ThirdPartyMarketing === false)
    return { OID: wire.OID, BranchOID: wire.BranchOID, ThirdPartyMarketing: false };
  return wire;
}

/** ASSUMPTION: ASP.NET Web API error body `{ Message }`. */
const failure = (status: number, message: string): SimResponse => ({ status, body: { Message: message } });

/**
 * ASSUMPTION: a prospect that fails validation gets ASP.NET Web API's answer, `ModelState` keyed by the parameter
 * and field; its messages, like the framework's, may quote the value sent.
 */
const invalidProspect = (field: string, message: string): SimResponse => ({
  status: 400,
  body: { Message: 'The request is invalid.', ModelState: { [`prospect.${field}`]: [message] } },
});

/** The window a client must rest for after a 429: the tightest declared (60 s documented). */
function restWindowMs(limits: ProviderLimits): number {
  if (limits.requestsPerMinute !== undefined) return 60_000;
  return limits.requestsPerSecond !== undefined ? 1_000 : 60_000;
}

const agentosTierSchema = z.enum([AGENTOS_TIERS.read, AGENTOS_TIERS.write]);
const keyTiersSchema = z.strictObject({ tiers: z.array(agentosTierSchema) });
/** `PUT /_sim/third-party-marketing`: people giving or withdrawing their consent, as the agency records it. */
const consentChangeSchema = z.strictObject({ ids: z.array(z.string().min(1)).min(1), granted: z.boolean() });

export interface AgentosSimulatorOptions extends SimulatorOptions {
  /**
   * The API tiers the agency enabled for the key this simulator hands out [G1]; default both. `PUT /_sim/tiers`
   * `{"tiers": [...]}` changes them while it runs (the agency enabling or withdrawing a tier; the key stays).
   */
  tiers?: readonly AgentosTier[] | undefined;
}

export function startAgentosSimulator(options: AgentosSimulatorOptions = {}): Promise<RunningSimulator> {
  const db = new SimDb(agentosDialect, options);
  let keyTiers = new Set<string>(options.tiers ?? [AGENTOS_TIERS.read, AGENTOS_TIERS.write]);
  const limits: ProviderLimits = { ...agentosSpec.limits, ...options.limits };
  const restMs = restWindowMs(limits);
  // [G3]: calls that keep coming after a 429 are treated as an attack and the key is blocked with 403.
  let lastLimitedAt: number | null = null;
  let strikes = 0;
  let blockedUntil = 0;

  return serveSimulator(
    'agentos',
    {
      db,
      limits,
      authorize: (req) => {
        const key = req.headers.api_key ?? req.query.get('api_key');
        const [, , tier = '', shortName] = req.path.split('/');
        // [G1]: a key that does not reach the tier (or organisation) → 401. ASSUMPTION: the same ASP.NET body
        // whatever was wrong, so a client cannot tell a missing tier from a bad key by the answer alone.
        if (key !== CREDENTIALS.apiKey || shortName !== CREDENTIALS.shortName || !keyTiers.has(tier))
          return failure(401, 'Authorization has been denied for this request.');
        const now = Date.now();
        if (now < blockedUntil) return failure(403, 'Forbidden: API key temporarily blocked');
        if (lastLimitedAt !== null && now - lastLimitedAt < restMs) {
          strikes += 1;
          if (strikes > HAMMER_TOLERANCE) {
            blockedUntil = now + BLOCK_WINDOWS * restMs;
            lastLimitedAt = null;
            strikes = 0;
            return failure(403, 'Forbidden: API key temporarily blocked');
          }
        }
        return null;
      },
      rateLimited: () => {
        const now = Date.now();
        if (lastLimitedAt === null || now - lastLimitedAt >= restMs) strikes = 0;
        lastLimitedAt = now;
        // [G3]: 429, no Retry-After or rate-limit headers documented.
        return failure(429, 'Too many requests: wait 60 seconds before calling again');
      },
      // [G1]: a key without the write tier ("applications") → 401, as `PUT /_sim/tiers` without it.
      writeRefused: () => failure(401, 'Authorization has been denied for this request.'),
      serverError: () => failure(500, 'An error has occurred.'),
      route: (req) => route(db, req),
      credentials: () => ({ ...CREDENTIALS }),
      control: (req) => {
        const key = `${req.method} ${req.path}`;
        if (key === 'PUT /_sim/third-party-marketing') return changeConsent(db, req.body);
        if (key !== 'PUT /_sim/tiers') return null;
        const parsed = keyTiersSchema.safeParse(req.body);
        if (!parsed.success) return { status: 400, body: { error: z.prettifyError(parsed.error) } };
        keyTiers = new Set(parsed.data.tiers);
        return { status: 200, body: parsed.data };
      },
    },
    options,
  );
}

/** Sets the consent flag of the people named; answers the ids it holds. Their details stay held, hidden while denied. */
function changeConsent(db: SimDb<Applicant>, body: unknown): SimResponse {
  const parsed = consentChangeSchema.safeParse(body);
  if (!parsed.success) return { status: 400, body: { error: z.prettifyError(parsed.error) } };
  const changed: string[] = [];
  for (const id of parsed.data.ids) {
    const record = db.get(id);
    if (record === undefined) continue;
    db.put({
      ...record,
      ThirdPartyMarketing: parsed.data.granted,
      _sim: { ...record._sim, modified: iso(db.stamp()) },
    });
    changed.push(id);
  }
  return { status: 200, body: { changed } };
}

function route(db: SimDb<Applicant>, req: SimRequest): SimResponse {
  const list = /^\/v4\/contacts\/[^/]+\/applicants\/lettings\/([^/]+)\/([^/]+)\/?$/.exec(req.path);
  if (list && req.method === 'GET') return listing(db, list[1] as string, list[2] as string);
  const one = /^\/v4\/contacts\/[^/]+\/applicants\/lettings\/([^/]+)\/?$/.exec(req.path);
  if (one && req.method === 'GET') {
    // [G2] names the route; ASSUMPTION: the applicant as listed, 404 for an OID it does not hold.
    const record = db.get(decodeURIComponent(one[1] as string));
    return record ? { status: 200, body: served(record) } : failure(404, 'Applicant not found');
  }
  const post = /^\/v4\/applications\/[^/]+\/prospects\/([^/]+)\/?$/.exec(req.path);
  if (post && req.method === 'POST') return prospect(db, req, decodeURIComponent(post[1] as string));
  return failure(404, `No HTTP resource was found that matches ${req.method} ${req.path}`);
}

function listing(db: SimDb<Applicant>, offsetText: string, countText: string): SimResponse {
  const offset = Number(offsetText);
  const count = Number(countText);
  if (!Number.isInteger(offset) || offset < 0) return failure(400, 'offset must be 0 or more');
  // [G1]: count ≤ 1,000.
  if (!Number.isInteger(count) || count < 1 || count > 1_000) return failure(400, 'count must be 1–1000');
  // ASSUMPTION: the listing is in OID (creation) order, so new people append and edits do not reorder it.
  const rows = db.list().sort((a, b) => (a.OID < b.OID ? -1 : a.OID > b.OID ? 1 : 0));
  return { status: 200, body: { Count: rows.length, Data: rows.slice(offset, offset + count).map(served) } };
}

const PROSPECT_TEXT = [
  'Title',
  'Forename',
  'Surname',
  'EmailAddress',
  'MobilePhone',
  'HomePhone',
  'WorkPhone',
];

function prospect(db: SimDb<Applicant>, req: SimRequest, branchId: string): SimResponse {
  if (branchId !== CREDENTIALS.branchId) return failure(404, `Branch ${branchId} not found`);
  if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body))
    return failure(400, 'The request is invalid.');
  const body = req.body as Record<string, unknown>;
  for (const key of PROSPECT_TEXT) {
    if (body[key] !== undefined && typeof body[key] !== 'string')
      return invalidProspect(
        key,
        `Error converting value ${JSON.stringify(body[key])} to type 'System.String'.`,
      );
  }
  // ASSUMPTION: a surname is required, as for any person record.
  if (typeof body.Surname !== 'string' || body.Surname.trim() === '')
    return invalidProspect('Surname', 'The Surname field is required.');
  const email = typeof body.EmailAddress === 'string' ? body.EmailAddress.trim().toLowerCase() : '';
  // [G4]: a prospect whose e-mail exists links to that contact instead of creating a duplicate.
  // ASSUMPTION: the existing contact is left unchanged and its OID returned with 200.
  const existing =
    email === '' ? undefined : db.list().find((r) => (r.EmailAddress ?? '').trim().toLowerCase() === email);
  if (existing) return { status: 200, body: existing.OID };
  const at = db.stamp();
  const text = (key: string) =>
    typeof body[key] === 'string' && (body[key] as string).trim() !== '' ? { [key]: body[key] } : {};
  const record = db.insert((id) => ({
    OID: id,
    BranchOID: branchId,
    ThirdPartyMarketing: body.ThirdPartyMarketing === true,
    ...Object.assign({}, ...PROSPECT_TEXT.map(text)),
    _sim: { created: iso(at), modified: iso(at) },
  }));
  return { status: 201, body: record.OID, effect: 'create' };
}
