import { describe, expect, it } from 'vitest';
import { type CursorPosition, compareCursor } from '../../core/cursor.ts';
import { canonicalContactSchema } from '../../core/schemas.ts';
import { createLimiter } from '../limiter.ts';
import type { CrmProvider, FetchWindow, InboundRecord } from '../provider.ts';
import { simControlClient } from '../simulator/server.ts';
import { defineSpec, type ProviderSpec, withSpec } from '../spec.ts';
import { createAgentosProvider, snapshotStamp } from './adapter.ts';
import { startAgentosSimulator } from './simulator.ts';
import { agentosSpec } from './spec.ts';

/** Documented spec with fast waits, 100 per page and a per-second window, so tests neither wait nor need 1,000s. */
const testSpec = (changes: Parameters<typeof withSpec>[1] = {}) =>
  withSpec(defineSpec({ ...agentosSpec, pagination: { ...agentosSpec.pagination, defaultPageSize: 100 } }), {
    limits: { requestsPerMinute: undefined, requestsPerSecond: 50, ...changes.limits },
    retry: { waitAfter429Ms: 20, transientBaseMs: 5, timeoutMs: 2_000, ...changes.retry },
  });

async function withSim(
  options: Parameters<typeof startAgentosSimulator>[0],
  run: (sim: {
    make: (spec?: ProviderSpec, fetcher?: typeof fetch) => CrmProvider;
    baseUrl: string;
  }) => Promise<void>,
) {
  const sim = await startAgentosSimulator({
    limits: { requestsPerMinute: undefined, requestsPerSecond: 50 },
    ...options,
  });
  const make = (spec = testSpec(), fetcher?: typeof fetch) =>
    createAgentosProvider({
      baseUrl: sim.baseUrl,
      credentials: sim.credentials as { apiKey: string; shortName: string; branchId: string },
      spec,
      limiter: createLimiter(spec),
      ...(fetcher === undefined ? {} : { fetch: fetcher }),
    });
  try {
    await run({ make, baseUrl: sim.baseUrl });
  } finally {
    await sim.close();
  }
}

async function drain(provider: CrmProvider, window: FetchWindow, start: string | null = null) {
  const records: InboundRecord[] = [];
  let token = start;
  for (let i = 0; i < 50; i++) {
    const page = await provider.listChanges({ window, pageToken: token });
    if (!page.ok) throw new Error(page.error.message);
    records.push(...page.value.records);
    token = page.value.nextPageToken;
    if (token === null) return records;
  }
  throw new Error('listing did not terminate');
}

const highest = (records: InboundRecord[]): CursorPosition =>
  records
    .map((r) => ({ modified: r.modified, externalId: r.externalId }))
    .reduce((a, b) => (compareCursor(a, b) >= 0 ? a : b));

describe('agentOS adapter', () => {
  it('pages the full listing by offset: 250 records over 100-record pages, resumable from a token', async () => {
    await withSim({ contacts: 250, seed: 3 }, async ({ make }) => {
      const provider = make();
      const window = { from: null, to: new Date().toISOString() };
      const first = await provider.listChanges({ window, pageToken: null });
      if (!first.ok) throw new Error(first.error.message);
      expect(first.value.records).toHaveLength(100);
      // A fresh client resumes from the persisted token alone.
      const rest = await drain(make(), window, first.value.nextPageToken);
      const ids = [...first.value.records, ...rest].map((r) => r.externalId);
      expect(ids).toHaveLength(250);
      expect(new Set(ids).size).toBe(250);
    });
  });

  it('steps back when records before its offset vanish between pages, so none slides past unread', async () => {
    await withSim({ contacts: 250, seed: 3 }, async ({ make, baseUrl }) => {
      const window = { from: null, to: new Date().toISOString() };
      const everyone = (await drain(make(), window)).map((r) => r.externalId);
      expect(everyone).toHaveLength(250);
      const provider = make();
      const first = await provider.listChanges({ window, pageToken: null });
      if (!first.ok) throw new Error(first.error.message);
      // An agency user deletes five people the first page listed: the next 100 begin five places earlier.
      const deleted = first.value.records.slice(10, 15).map((r) => r.externalId);
      expect((await simControlClient(baseUrl).remove(deleted)).removed).toHaveLength(5);
      const rest = await drain(provider, window, first.value.nextPageToken);
      const listed = new Set([...first.value.records, ...rest].map((r) => r.externalId));
      expect(everyone.filter((id) => !listed.has(id))).toEqual([]);
    });
  });

  it('stamps every record so that none is filtered out by any cursor an earlier cycle committed', async () => {
    await withSim({ contacts: 120, seed: 4 }, async ({ make }) => {
      const provider = make();
      const first = await drain(provider, { from: null, to: '2030-01-01T00:00:00.000Z' });
      // The engine's cursor after that cycle: the largest (modified, id) staged, here the very last id.
      const cursor = highest(first);
      const next = await drain(provider, { from: cursor, to: '2030-01-01T00:05:00.000Z' });
      expect(next).toHaveLength(120);
      expect(
        next.every((r) => compareCursor({ modified: r.modified, externalId: r.externalId }, cursor) >= 0),
      ).toBe(true);
      // Re-running a window whose `to` did not advance still keeps every record.
      expect(snapshotStamp({ from: cursor, to: cursor.modified }) > cursor.modified).toBe(true);
      const same = await drain(provider, { from: cursor, to: cursor.modified });
      expect(same.map((r) => r.externalId).sort()).toEqual(first.map((r) => r.externalId).sort());
      expect(
        same.every((r) => compareCursor({ modified: r.modified, externalId: r.externalId }, cursor) >= 0),
      ).toBe(true);
    });
  });

  it('reports people without third-party-marketing consent as removed, with no personal data', async () => {
    await withSim({ contacts: 60, seed: 5 }, async ({ make, baseUrl }) => {
      const raw = (await simControlClient(baseUrl).records()) as Array<{
        OID: string;
        ThirdPartyMarketing: boolean;
      }>;
      const hidden = new Set(raw.filter((r) => !r.ThirdPartyMarketing).map((r) => r.OID));
      expect(hidden.size).toBeGreaterThan(0);
      const records = await drain(make(), { from: null, to: new Date().toISOString() });
      // Listed, as removed: left out of the listing, their NurtureHub contacts would stay linked and marketed to.
      const withdrawn = records.filter((r) => hidden.has(r.externalId));
      expect(withdrawn.map((r) => r.externalId).sort()).toEqual([...hidden].sort());
      for (const r of withdrawn) {
        expect(r.removed).toBe(true);
        expect(r.contact).toMatchObject({ lastName: null, email: null, mobilePhone: null, address: null });
        expect(r.contact.marketingConsent).toBe('deny');
      }
      expect(records.filter((r) => !hidden.has(r.externalId)).every((r) => !r.removed)).toBe(true);
    });
  });

  it('does not take an answer like the documented "Online Tenancy Application Submitted" for an OID [G4]', async () => {
    await withSim({ contacts: 5, seed: 6 }, async ({ make }) => {
      // The prospect is made as usual; the answer is the sentence the notes document.
      const provider = make(testSpec(), async (input, init) => {
        const response = await fetch(input, init);
        if (init?.method !== 'POST') return response;
        return Response.json('Online Tenancy Application Submitted', { status: response.status });
      });
      const contact = canonicalContactSchema.parse({
        lastName: 'Prospect',
        email: 'prospect@example.co.uk',
        marketingConsent: 'grant',
      });
      expect(await provider.create({ contact, reference: 'r1' })).toMatchObject({
        ok: false,
        error: { kind: 'transient', message: 'agentOS prospect response carried no applicant OID' },
      });
    });
  });

  it('creates through the prospect POST, which links an existing e-mail instead of duplicating', async () => {
    await withSim({ contacts: 20, seed: 6 }, async ({ make, baseUrl }) => {
      const control = simControlClient(baseUrl);
      const existing = ((await control.records()) as Array<{ OID: string; EmailAddress?: string }>).find(
        (r) => r.EmailAddress,
      );
      if (!existing?.EmailAddress) throw new Error('no seeded e-mail');
      const provider = make();
      const contact = (email: string) =>
        canonicalContactSchema.parse({ lastName: 'Prospect', email, marketingConsent: 'grant' });
      const linked = await provider.create({
        contact: contact(existing.EmailAddress.toUpperCase()),
        reference: 'r1',
      });
      // `existing`: the record was held before (200), so the engine reads it before linking.
      expect(linked).toEqual({
        ok: true,
        value: { externalId: existing.OID, version: null, existing: true },
      });
      expect((await control.stats()).creates).toBe(0);
      const fresh = await provider.create({ contact: contact('new.person@example.co.uk'), reference: 'r2' });
      const again = await provider.create({ contact: contact('new.person@example.co.uk'), reference: 'r2' });
      expect(fresh.ok && again.ok && fresh.value.externalId === again.value.externalId).toBe(true);
      expect([fresh.ok && fresh.value.existing, again.ok && again.value.existing]).toEqual([false, true]);
      expect((await control.stats()).creates).toBe(1);
      const refused = await provider.create({
        contact: canonicalContactSchema.parse({ lastName: 'NoMail' }),
        reference: 'r4',
      });
      expect(refused).toMatchObject({ ok: false, error: { kind: 'validation', field: 'email' } });
      // Created without consent, the person would come back hidden, read as details withdrawn.
      for (const marketingConsent of ['notAsked', 'deny'] as const) {
        const unconsented = await provider.create({
          contact: canonicalContactSchema.parse({
            lastName: 'Lead',
            email: 'lead@example.com',
            marketingConsent,
          }),
          reference: 'r5',
        });
        expect(unconsented).toMatchObject({
          ok: false,
          error: { kind: 'validation', field: 'marketingConsent' },
        });
      }
      expect((await control.stats()).creates).toBe(1);
    });
  });

  it('maps the key block after hammering past a 429 to rate_limited with a long wait, not auth_failed', async () => {
    await withSim(
      { contacts: 5, limits: { requestsPerMinute: undefined, requestsPerSecond: 5 } },
      async ({ make }) => {
        const unpaced = testSpec({ retry: { maxAttempts: 1 } });
        const client = make({ ...unpaced, limits: { rolling: true } });
        const window = { from: null, to: new Date().toISOString() };
        const results = await Promise.all(
          Array.from({ length: 25 }, () => client.listChanges({ window, pageToken: null })),
        );
        const failures = results.flatMap((r) => (r.ok ? [] : [r.error]));
        expect(failures.some((e) => e.kind === 'auth_failed')).toBe(false);
        const blocked = failures.filter((e) => e.status === 403);
        expect(blocked.length).toBeGreaterThan(0);
        expect(blocked[0]).toMatchObject({ kind: 'rate_limited', retryAfterMs: 5 * 20 });
        // Still blocked a moment later, even for a well-behaved client.
        await new Promise((r) => setTimeout(r, 1_100));
        const later = await make().listChanges({ window, pageToken: null });
        expect(later).toMatchObject({ ok: false, error: { kind: 'rate_limited', status: 403 } });
      },
    );
  });

  it('tells a key without the write tier from a bad key: write_forbidden on creates, reads still served', async () => {
    await withSim({ contacts: 5, seed: 7, tiers: ['contacts'] }, async ({ make }) => {
      const provider = make();
      const listed = await provider.listChanges({
        window: { from: null, to: new Date().toISOString() },
        pageToken: null,
      });
      expect(listed.ok && listed.value.records).toHaveLength(5);
      const created = await provider.create({
        contact: canonicalContactSchema.parse({
          lastName: 'Prospect',
          email: 'tier@example.co.uk',
          marketingConsent: 'grant',
        }),
        reference: 'r1',
      });
      expect(created).toMatchObject({
        ok: false,
        error: {
          kind: 'write_forbidden',
          status: 401,
          message: expect.stringContaining(
            'lacks the write tier "applications"; enable it for this key in agentOS',
          ),
        },
      });
    });
    await withSim({ contacts: 5, seed: 7, tiers: ['applications'] }, async ({ make }) => {
      const listed = await make().listChanges({
        window: { from: null, to: new Date().toISOString() },
        pageToken: null,
      });
      expect(listed).toMatchObject({
        ok: false,
        error: {
          kind: 'auth_failed',
          status: 401,
          message: expect.stringContaining('"contacts" tier is enabled for this key'),
        },
      });
    });
  });

  it('tells a key revoked outright from one without the write tier even when a create is the first call', async () => {
    // A push resumed after a backoff or a restart creates before anything is read with the key.
    await withSim({ contacts: 5, seed: 7, tiers: [] }, async ({ make }) => {
      const created = await make().create({
        contact: canonicalContactSchema.parse({
          lastName: 'Prospect',
          email: 'revoked@example.co.uk',
          marketingConsent: 'grant',
        }),
        reference: 'r1',
      });
      expect(created).toMatchObject({
        ok: false,
        error: {
          kind: 'auth_failed',
          status: 401,
          message: expect.stringContaining('"contacts" tier is enabled for this key'),
        },
      });
    });
  });

  it('has no update and no e-mail search', async () => {
    await withSim({ contacts: 1 }, async ({ make }) => {
      const provider = make();
      expect(await provider.update({ externalId: 'x', patch: {}, version: null })).toMatchObject({
        ok: false,
        error: { kind: 'unsupported' },
      });
      expect(await provider.findByEmail({ email: 'a@b.co' })).toMatchObject({
        ok: false,
        error: { kind: 'unsupported' },
      });
    });
  });
});
