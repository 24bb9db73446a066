import { createHash } from 'node:crypto';
import { z } from 'zod';
import { compareCursor, compareModified, cursorPositionSchema } from '../../core/cursor.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { type CanonicalContactInput, canonicalContactSchema, contactFields } from '../../core/schemas.ts';
import { type AttemptOutcome, runPaced } from '../base.ts';
import { type CallKind, type ConnectionLimiter, createLimiter } from '../limiter.ts';
import { decodePageToken, encodePageToken } from '../pageToken.ts';
import type {
  CrmProvider,
  InboundRecord,
  InboundRecordError,
  ProviderError,
  ProviderName,
} from '../provider.ts';
import { recordError } from '../records.ts';
import { SimDb, type SimDialect } from '../simulator/db.ts';
import { SimGate } from '../simulator/gate.ts';
import type { SeedContact } from '../simulator/generator.ts';
import type { SimControl, SimulatorOptions } from '../simulator/server.ts';
import { defineSpec, type ProviderSpec } from '../spec.ts';

/**
 * An in-memory provider with the full feature set (modified-since delta with id tie-break, If-Match updates,
 * creates, e-mail search). It shares the simulators' seeded data, limits, faults and stats, and runs through
 * the same paced retry loop, so it passes the same conformance suite without a socket.
 */

export const fakeSpec = defineSpec({
  limits: { requestsPerSecond: 100, maxConcurrent: 10, rolling: true },
  retry: { waitAfter429Ms: 50, maxAttempts: 4, transientBaseMs: 10, transientMaxMs: 100, timeoutMs: 5_000 },
  pagination: { type: 'cursor', maxPageSize: 100, defaultPageSize: 50 },
  // In memory: no URLs and no error bodies.
  personalQueryParams: [],
  errorBody: { kind: [], fields: [] },
  capabilities: {
    deltaMode: 'modifiedSince',
    writeMode: 'patchIfMatch',
    canCreate: true,
    canUpdate: true,
    canSearchByEmail: true,
    createMergesByEmail: false,
    maxPageSize: 100,
    storedFields: contactFields,
    writableFields: contactFields,
  },
});

/** A fake record: the canonical contact as stored (possibly malformed) plus bookkeeping. */
export interface FakeRecord {
  id: string;
  modified: string;
  version: string;
  reference: string | null;
  contact: Record<string, unknown>;
}

const versionOf = (r: Omit<FakeRecord, 'version'>) =>
  createHash('sha1').update(JSON.stringify(r)).digest('hex').slice(0, 16);
const stamped = (r: Omit<FakeRecord, 'version'>): FakeRecord => ({ ...r, version: versionOf(r) });

export function seedToContact(c: SeedContact): CanonicalContactInput {
  return {
    title: c.title?.trim() || null,
    firstName: c.firstName?.trim() || null,
    lastName: c.lastName.trim() || null,
    email: c.email?.trim() || null,
    mobilePhone: c.mobilePhone,
    homePhone: c.homePhone,
    workPhone: c.workPhone,
    address: c.address && {
      line1: `${c.address.buildingNumber} ${c.address.street}`,
      line2: c.address.locality,
      line3: c.address.town,
      line4: c.address.county,
      postcode: c.address.postcode.trim(),
      countryCode: 'GB',
    },
    dateOfBirth: c.dateOfBirth,
    marketingConsent: c.marketingConsent,
    status: c.archived ? 'archived' : 'active',
  };
}

const fakeDialect: SimDialect<FakeRecord> = {
  newId: (n) => `fake-${String(n).padStart(6, '0')}`,
  fromSeed: (c, id, _createdMs, modifiedMs) =>
    stamped({ id, modified: new Date(modifiedMs).toISOString(), reference: null, contact: seedToContact(c) }),
  toSeed: (r) => {
    const c = r.contact as CanonicalContactInput;
    return {
      title: c.title ?? null,
      firstName: c.firstName ?? null,
      lastName: c.lastName ?? '',
      email: c.email ?? null,
      mobilePhone: c.mobilePhone ?? null,
      homePhone: c.homePhone ?? null,
      workPhone: c.workPhone ?? null,
      address: null,
      dateOfBirth: c.dateOfBirth ?? null,
      marketingConsent: c.marketingConsent ?? 'notAsked',
      archived: c.status === 'archived',
    };
  },
  withSeed: (r, c, modifiedMs) =>
    stamped({
      ...r,
      modified: new Date(modifiedMs).toISOString(),
      contact: { ...r.contact, ...seedToContact(c) },
    }),
  malformed: (r) => stamped({ ...r, contact: { ...r.contact, email: 'not-an-email' } }),
  id: (r) => r.id,
  modified: (r) => r.modified,
};

export interface FakeBackend {
  db: SimDb<FakeRecord>;
  gate: SimGate;
  /** The key a provider must present. */
  credentials: { apiKey: string };
  control: SimControl;
}

export function createFakeBackend(options: SimulatorOptions = {}): FakeBackend {
  const db = new SimDb(fakeDialect, options);
  const gate = new SimGate(
    { ...fakeSpec.limits, ...options.limits },
    {
      seed: options.seed ?? 1,
      latencyMs: options.latencyMs ?? 0,
      now: Date.now,
    },
  );
  return {
    db,
    gate,
    credentials: { apiKey: 'fake-api-key' },
    control: {
      records: async () => db.list(),
      edits: async (params) => ({ changed: db.applyEdits(params) }),
      remove: async (ids) => ({ removed: db.remove(ids) }),
      faults: async (faults) => {
        gate.faults = faults;
      },
      stats: async () => ({ ...gate.stats }),
      // Not a CRM: no documented refusal of writes alone.
      writeAccess: async () => false,
    },
  };
}

const pageTokenSchema = z.strictObject({
  to: z.string(),
  after: cursorPositionSchema.nullable(),
  inclusive: z.boolean(),
});

export function createFakeProvider(params: {
  backend: FakeBackend;
  credentials: { apiKey: string };
  /** The provider this fake stands in for. Default `reapit`. */
  name?: ProviderName;
  spec?: ProviderSpec;
  limiter?: ConnectionLimiter;
}): CrmProvider {
  const { backend } = params;
  const spec = params.spec ?? fakeSpec;
  const limiter = params.limiter ?? createLimiter(spec);
  const { timeoutMs: _unused, ...retry } = spec.retry;

  /** One call: credentials, then the gate's limits and faults, then `op` — the fake's "HTTP". */
  function call<T>(kind: CallKind, op: () => AttemptOutcome<T>): Promise<Result<T, ProviderError>> {
    return runPaced({
      limiter,
      retry,
      kind,
      attempt: async (): Promise<AttemptOutcome<T>> => {
        const fail = (status: number | null, message: string) => ({
          ok: false as const,
          status,
          retryAfter: null,
          message,
        });
        if (params.credentials.apiKey !== backend.credentials.apiKey) return fail(401, 'invalid api key');
        const admission = backend.gate.admit(kind);
        if (admission.kind === 'rate_limited') return fail(429, `rate limited (${admission.reason})`);
        if (admission.kind !== 'ok')
          return fail(admission.kind === 'error' ? 500 : null, `fault: ${admission.kind}`);
        try {
          if (admission.latencyMs > 0) await new Promise((r) => setTimeout(r, admission.latencyMs));
          const outcome = await op();
          // Applied, its answer lost on the way back (`lostAnswerRate`), as the HTTP simulators cut the connection.
          return admission.loseAnswer ? fail(null, 'fault: answer lost') : outcome;
        } finally {
          admission.release();
        }
      },
    });
  }

  const toInbound = (raw: FakeRecord): Result<InboundRecord, InboundRecordError> => {
    const contact = canonicalContactSchema.safeParse(raw.contact);
    if (!contact.success) return err(recordError(raw, contact.error));
    return ok({
      externalId: raw.id,
      modified: raw.modified,
      version: raw.version,
      contact: contact.data,
      removed: contact.data.status === 'archived',
    });
  };

  return {
    name: params.name ?? 'reapit',
    capabilities: spec.capabilities,

    async listChanges({ window, pageToken }) {
      const token =
        pageToken === null
          ? ok({ to: window.to, after: window.from, inclusive: true })
          : decodePageToken(pageTokenSchema, pageToken);
      if (!token.ok) return token;
      const { to, after, inclusive } = token.value;
      const size = spec.pagination.maxPageSize;
      return call('read', () => {
        const position = (r: FakeRecord) => ({ modified: r.modified, externalId: r.id });
        const rows = backend.db
          .list()
          .filter((r) => {
            const order = after === null ? 1 : compareCursor(position(r), after);
            return compareModified(r.modified, to) <= 0 && (order > 0 || (inclusive && order === 0));
          })
          // The fake's API is keyset on (modified, id), whatever order its store keeps ties in.
          .sort((a, b) => compareCursor(position(a), position(b)));
        const page = rows.slice(0, size);
        const records: InboundRecord[] = [];
        const errors: InboundRecordError[] = [];
        for (const row of page) {
          const mapped = toInbound(row);
          if (mapped.ok) records.push(mapped.value);
          else errors.push(mapped.error);
        }
        const last = page.at(-1);
        const nextPageToken =
          rows.length > size && last
            ? encodePageToken({
                to,
                after: { modified: last.modified, externalId: last.id },
                inclusive: false,
              })
            : null;
        return { ok: true, value: { records, errors, nextPageToken } };
      });
    },

    create({ contact, reference }) {
      return call('write', () => {
        const at = new Date(backend.db.stamp()).toISOString();
        const record = backend.db.insert((id) =>
          stamped({ id, modified: at, reference, contact: { ...contact } }),
        );
        backend.gate.wrote('create');
        return { ok: true, value: { externalId: record.id, version: record.version } };
      });
    },

    createdAsListed: (contact) => contact,

    update({ externalId, patch, version }) {
      return call('write', () => {
        const current = backend.db.get(externalId);
        if (!current) return { ok: false, status: 404, retryAfter: null, message: `${externalId} not found` };
        if (version !== current.version)
          return { ok: false, status: 412, retryAfter: null, message: 'version mismatch' };
        const next = stamped({
          id: current.id,
          reference: current.reference,
          modified: new Date(backend.db.stamp()).toISOString(),
          contact: { ...current.contact, ...patch },
        });
        backend.db.put(next);
        backend.gate.wrote('update');
        return { ok: true, value: { version: next.version } };
      });
    },

    findByEmail({ email }) {
      const wanted = email.trim().toLowerCase();
      return call('read', () => {
        const found = backend.db
          .list()
          .map(toInbound)
          .flatMap((r) => (r.ok && r.value.contact.email?.toLowerCase() === wanted ? [r.value] : []));
        return { ok: true, value: found };
      });
    },

    async getRecord() {
      return err({
        kind: 'unsupported',
        status: null,
        message: 'fake: getRecord is not needed (its creates never answer with a record it already holds)',
      });
    },
  };
}
