import { describe, expect, it } from 'vitest';
import { type CursorPosition, compareCursor } from '../../src/core/cursor.ts';
import { type CanonicalContact, canonicalContactSchema } from '../../src/core/schemas.ts';
import { createLimiter } from '../../src/providers/limiter.ts';
import type {
  ChangePage,
  CrmProvider,
  FetchWindow,
  InboundRecord,
  ProviderName,
} from '../../src/providers/provider.ts';
import { getProvider } from '../../src/providers/registry.ts';
import type { SimControl, SimulatorOptions } from '../../src/providers/simulator/server.ts';
import {
  noRateLimits,
  type ProviderLimits,
  type ProviderSpec,
  rateWindows,
  withSpec,
} from '../../src/providers/spec.ts';
import { startSimulator } from '../support/simulators.ts';
import { batchReadCase } from './batchReadCase.ts';
import { writeScopeCase } from './writeScopeCase.ts';

/** One provider under test: a backing simulator (or the fake's store) and a way to build clients on it. */
export interface ProviderHarness {
  spec: ProviderSpec;
  control: SimControl;
  /** A fresh client; `invalid` credentials must be refused by the provider; `spec` replaces the documented one. */
  provider(options?: { credentials?: 'valid' | 'invalid'; spec?: ProviderSpec }): CrmProvider;
  close(): Promise<void>;
}
export type MakeHarness = (options: SimulatorOptions) => Promise<ProviderHarness>;

/** Hooks that absorb a provider's quirks. */
export interface SuiteOptions {
  /** The id of a record as `GET /_sim/records` returns it. Default: its `id` member. */
  recordId?: (raw: unknown) => string;
  /**
   * Whether the provider syncs a record as `GET /_sim/records` returns it: listings must return exactly those.
   * Default: every record (Alto's contacts filed under another category than a client's are not synced).
   */
  synced?: (raw: unknown) => boolean;
  /** A contact the provider accepts on create. Default: a complete UK contact. */
  newContact?: (suffix: string) => CanonicalContact;
  /** Limits to enforce in both simulator and client for the pacing cases (scale per-minute windows down). */
  fastLimits?: Partial<ProviderLimits>;
}

const NOW = () => new Date(Date.now() + 1000).toISOString();

/** Pages a window to the end, from `pageToken` on; fails the test past `maxPages` (a looping token). */
export async function drain(
  provider: CrmProvider,
  window: FetchWindow,
  pageToken: string | null = null,
  maxPages = 200,
): Promise<ChangePage[]> {
  const pages: ChangePage[] = [];
  let token = pageToken;
  do {
    const page = await provider.listChanges({ window, pageToken: token });
    if (!page.ok) throw new Error(`listChanges failed: ${JSON.stringify(page.error)}`);
    pages.push(page.value);
    token = page.value.nextPageToken;
    if (pages.length > maxPages) throw new Error('listChanges did not terminate');
  } while (token !== null);
  return pages;
}

const positionOf = (r: InboundRecord): CursorPosition => ({ modified: r.modified, externalId: r.externalId });
const highest = (records: InboundRecord[]) =>
  records.map(positionOf).reduce((a, b) => (compareCursor(a, b) >= 0 ? a : b));

function defaultContact(suffix: string): CanonicalContact {
  return canonicalContactSchema.parse({
    title: 'Ms',
    firstName: 'Conformance',
    lastName: `Tester-${suffix}`,
    email: `conformance.${suffix}@example.co.uk`,
    mobilePhone: '07700 900555',
    address: { line1: '1 Test Street', line3: 'Leeds', postcode: 'LS1 4AP', countryCode: 'GB' },
    marketingConsent: 'grant',
    emailOpens: 3,
    intentScore: 42,
  });
}

/** Runs the shared conformance cases against one provider. */
export function describeProvider(name: string, makeHarness: MakeHarness, options: SuiteOptions = {}): void {
  const recordId = options.recordId ?? ((raw: unknown) => (raw as { id: string }).id);
  const synced = options.synced ?? (() => true);
  /** The ids of the records the provider syncs, as the simulator holds them. */
  const syncedIds = async (h: ProviderHarness) => (await h.control.records()).filter(synced).map(recordId);
  const newContact = options.newContact ?? defaultContact;
  const withHarness = async (simOptions: SimulatorOptions, run: (h: ProviderHarness) => Promise<void>) => {
    const harness = await makeHarness(simOptions);
    try {
      await run(harness);
    } finally {
      await harness.close();
    }
  };
  const quick = (h: ProviderHarness, retry: Partial<ProviderSpec['retry']> = {}) =>
    withSpec(h.spec, {
      retry: { waitAfter429Ms: 20, transientBaseMs: 5, transientMaxMs: 20, timeoutMs: 2_000, ...retry },
    });

  describe(`${name} conformance`, () => {
    it('returns a complete delta when 250 records share one timestamp across page boundaries', async () => {
      await withHarness({ contacts: 400, sameModified: 250, seed: 5 }, async (h) => {
        const provider = h.provider();
        const pages = await drain(provider, { from: null, to: NOW() });
        const ids = pages.flatMap((p) => p.records.map((r) => r.externalId));
        const expected = await syncedIds(h);
        expect(new Set(ids).size).toBe(ids.length);
        expect(new Set(ids)).toEqual(new Set(expected));
        const collided = pages
          .flatMap((p) => p.records)
          .filter((r, _, all) => all.filter((o) => o.modified === r.modified).length >= 250);
        // A snapshot-diff provider has no modified value: every record of a listing carries one stamp.
        const snapshot = provider.capabilities.deltaMode === 'snapshotDiff';
        expect(collided.length).toBe(snapshot ? ids.length : 250);
      });
    });

    it('returns a complete delta when records sharing a timestamp are not listed in id order', async () => {
      // No CRM documents a tie-break: a page boundary inside a tie must not lean on the ids' order.
      await withHarness({ contacts: 400, sameModified: 250, seed: 5, tiesById: false }, async (h) => {
        const pages = await drain(h.provider(), { from: null, to: NOW() });
        const ids = pages.flatMap((p) => p.records.map((r) => r.externalId));
        expect(ids.length - new Set(ids).size).toBe(0);
        expect(new Set(ids)).toEqual(new Set(await syncedIds(h)));
      });
    });

    // The machine's checkpoint mid-fetch is the page token: after a crash, a new process's client goes on from it.
    // (Not from the highest record read: a listing need not come in modified order, as Street's trash comes last.)
    it('resumes from a mid-run page token in a fresh client without losing records', async () => {
      await withHarness({ contacts: 400, sameModified: 250, seed: 6 }, async (h) => {
        const window = { from: null, to: NOW() };
        const first = await h.provider().listChanges({ window, pageToken: null });
        if (!first.ok) throw new Error(first.error.message);
        const second = await h.provider().listChanges({ window, pageToken: first.value.nextPageToken });
        if (!second.ok) throw new Error(second.error.message);
        const seen = [...first.value.records, ...second.value.records];
        const token = second.value.nextPageToken;
        const rest = token === null ? [] : await drain(h.provider(), window, token);
        const ids = new Set([...seen, ...rest.flatMap((p) => p.records)].map((r) => r.externalId));
        expect(ids).toEqual(new Set(await syncedIds(h)));
      });
    });

    it('re-fetching a window is harmless and edits land in the next window', async () => {
      await withHarness({ contacts: 120, seed: 7 }, async (h) => {
        const provider = h.provider();
        const window = { from: null, to: NOW() };
        const flat = (pages: ChangePage[]) =>
          pages.flatMap((p) => p.records).map((r) => [r.externalId, r.version, r.modified]);
        const once = flat(await drain(provider, window));
        expect(flat(await drain(provider, window))).toEqual(once);
        const checkpoint = highest((await drain(provider, window)).flatMap((p) => p.records));
        const { changed } = await h.control.edits({ count: 15, seed: 3 });
        const delta = (await drain(provider, { from: checkpoint, to: NOW() })).flatMap((p) =>
          p.records.map((r) => r.externalId),
        );
        const ours = new Set(await syncedIds(h));
        for (const id of changed) expect(delta.includes(id)).toBe(ours.has(id));
      });
    });

    it('updates with concurrency control: a stale version is precondition_failed', async () => {
      await withHarness({ contacts: 20, seed: 8 }, async (h) => {
        const provider = h.provider();
        const caps = provider.capabilities;
        const [target] = (await drain(provider, { from: null, to: NOW() })).flatMap((p) => p.records);
        if (!target) throw new Error('no records');
        if (!caps.canUpdate) {
          const refused = await provider.update({
            externalId: target.externalId,
            patch: { lastName: 'X' },
            version: target.version,
          });
          expect(refused).toMatchObject({ ok: false, error: { kind: 'unsupported' } });
          return;
        }
        const patch = { lastName: 'Updated-Surname', emailOpens: 9, intentScore: 77 };
        const writable = Object.fromEntries(
          Object.entries(patch).filter(([f]) => (caps.writableFields as string[]).includes(f)),
        );
        const updated = await provider.update({
          externalId: target.externalId,
          patch: writable,
          version: target.version,
        });
        expect(updated.ok).toBe(true);
        const after = (await drain(provider, { from: null, to: NOW() }))
          .flatMap((p) => p.records)
          .find((r) => r.externalId === target.externalId);
        expect(after?.contact).toMatchObject(writable);
        if (caps.writeMode === 'patchIfMatch') {
          const stale = await provider.update({
            externalId: target.externalId,
            patch: { lastName: 'Stale' },
            version: target.version,
          });
          expect(stale).toMatchObject({ ok: false, error: { kind: 'precondition_failed' } });
        }
      });
    });

    it('creates where supported (findable by e-mail) and refuses with the right error where not', async () => {
      await withHarness({ contacts: 10, seed: 9 }, async (h) => {
        const provider = h.provider();
        const contact = newContact('create1');
        const created = await provider.create({ contact, reference: 'nh-ref-1' });
        if (!provider.capabilities.canCreate) {
          expect(created).toMatchObject({ ok: false, error: { kind: 'unsupported' } });
          return;
        }
        if (!created.ok) throw new Error(created.error.message);
        expect((await h.control.stats()).creates).toBe(1);
        const found = await provider.findByEmail({ email: contact.email?.toUpperCase() ?? '' });
        if (!provider.capabilities.canSearchByEmail) {
          expect(found).toMatchObject({ ok: false, error: { kind: 'unsupported' } });
          return;
        }
        expect(found.ok && found.value.map((r) => r.externalId)).toEqual([created.value.externalId]);
      });
    });

    it('answers a repeated create with the first record where it declares that creates merge by e-mail', async () => {
      await withHarness({ contacts: 10, seed: 9 }, async (h) => {
        const provider = h.provider();
        if (!provider.capabilities.createMergesByEmail) return;
        const contact = newContact('create2');
        const first = await provider.create({ contact, reference: 'nh-ref-2' });
        const again = await provider.create({ contact, reference: 'nh-ref-2' });
        if (!first.ok || !again.ok) throw new Error('create refused');
        expect(again.value.externalId).toBe(first.value.externalId);
        // The second answer names a record the CRM already held: the engine reads it before linking.
        expect([first.value.existing, again.value.existing]).toEqual([false, true]);
        expect((await h.control.stats()).creates).toBe(1);
      });
    });

    it('answers not_found to an update of a record it held that it no longer has (unsupported where it takes none)', async () => {
      await withHarness({ contacts: 10, seed: 9 }, async (h) => {
        const provider = h.provider();
        const patch = { title: 'Prof' };
        if (!provider.capabilities.canUpdate) {
          const refused = await provider.update({ externalId: '999999999', patch, version: null });
          expect(refused).toMatchObject({ ok: false, error: { kind: 'unsupported' } });
          return;
        }
        // One it created, where it takes creates (its version, Reapit's _eTag, unknown until a listing brings it);
        // else one it listed.
        const [listed] = (await drain(provider, { from: null, to: NOW() })).flatMap((p) => p.records);
        if (listed === undefined) throw new Error('the simulator listed no records');
        const held = provider.capabilities.canCreate
          ? await provider.create({ contact: newContact('gone1'), reference: 'nh-ref-gone1' })
          : ({ ok: true, value: { externalId: listed.externalId, version: listed.version } } as const);
        if (!held.ok) throw new Error(held.error.message);
        // Deleted by the agency since.
        expect(await h.control.remove([held.value.externalId])).toEqual({ removed: [held.value.externalId] });
        const refused = await provider.update({
          externalId: held.value.externalId,
          patch,
          version: held.value.version,
        });
        expect(refused).toMatchObject({ ok: false, error: { kind: 'not_found' } });
      });
    });

    it('lists a record it created as createdAsListed says, whatever the contact held', async () => {
      await withHarness({ contacts: 10, seed: 9 }, async (h) => {
        const provider = h.provider();
        if (!provider.capabilities.canCreate) return;
        // Every contact field set: a field the create drops or the listing hides must show in createdAsListed.
        const contact = canonicalContactSchema.parse({
          ...newContact('listed1'),
          homePhone: '01632 960123',
          workPhone: '020 7946 0321',
          dateOfBirth: '1984-03-09',
        });
        const created = await provider.create({ contact, reference: 'nh-ref-listed1' });
        if (!created.ok) throw new Error(created.error.message);
        const listed = (await drain(provider, { from: null, to: NOW() }))
          .flatMap((page) => page.records)
          .find((r) => r.externalId === created.value.externalId);
        // A field the CRM does not store is not read (the merge sets its value aside).
        const stored = (c: CanonicalContact | undefined) =>
          c === undefined
            ? undefined
            : Object.fromEntries(provider.capabilities.storedFields.map((f) => [f, c[f]]));
        expect(stored(listed?.contact)).toEqual(stored(provider.createdAsListed(contact)));
      });
    });

    it('reads a record by id as the listing shows it where it declares canGetRecord', async () => {
      await withHarness({ contacts: 10, seed: 9 }, async (h) => {
        const provider = h.provider();
        const unknown = await provider.getRecord({ externalId: '999999999' });
        if (!provider.capabilities.canGetRecord) {
          expect(unknown).toMatchObject({ ok: false, error: { kind: 'unsupported' } });
          return;
        }
        expect(unknown).toMatchObject({ ok: false, error: { kind: 'not_found' } });
        const created = provider.capabilities.canCreate
          ? await provider.create({ contact: newContact('read1'), reference: 'nh-ref-read1' })
          : null;
        if (created !== null && !created.ok) throw new Error(created.error.message);
        const listed = (await drain(provider, { from: null, to: NOW() })).flatMap((page) => page.records);
        expect(listed.length).toBeGreaterThanOrEqual(10);
        if (created !== null) expect(listed.map((r) => r.externalId)).toContain(created.value.externalId);
        for (const { modified: _, ...record } of listed) {
          expect(await provider.getRecord({ externalId: record.externalId })).toEqual({
            ok: true,
            value: record,
          });
        }
      });
    });

    writeScopeCase({ withHarness, newContact });
    batchReadCase({ withHarness });

    it('maps a refused credential to auth_failed', async () => {
      await withHarness({ contacts: 5 }, async (h) => {
        const result = await h
          .provider({ credentials: 'invalid' })
          .listChanges({ window: { from: null, to: NOW() }, pageToken: null });
        expect(result).toMatchObject({ ok: false, error: { kind: 'auth_failed' } });
      });
    });

    it('retries through a short 429 burst, and reports rate_limited when it outlasts the attempts', async () => {
      await withHarness({ contacts: 5 }, async (h) => {
        const window = { from: null, to: NOW() };
        await h.control.faults({ rateLimitBurst: 2 });
        const recovered = await h.provider({ spec: quick(h) }).listChanges({ window, pageToken: null });
        expect(recovered.ok).toBe(true);
        expect((await h.control.stats()).rateLimited).toBe(2);
        await h.control.faults({ rateLimitBurst: 5 });
        const spent = await h
          .provider({ spec: quick(h, { maxAttempts: 2 }) })
          .listChanges({ window, pageToken: null });
        // The provider's own Retry-After, when it sends one, wins over the configured wait.
        const waited = h.spec.retry.retryAfterHeader ? expect.any(Number) : 20;
        expect(spent).toMatchObject({ ok: false, error: { kind: 'rate_limited', retryAfterMs: waited } });
      });
    });

    it('enforces its limits: an unpaced burst is refused with 429, the paced client never is', async () => {
      const limits = options.fastLimits ?? {};
      // One request per call: an e-mail look-up, or the first listing page where there is no search.
      const probe = (p: CrmProvider, signal?: AbortSignal) =>
        p.capabilities.canSearchByEmail
          ? p.findByEmail({ email: 'nobody@example.com', ...(signal ? { signal } : {}) })
          : p.listChanges({
              window: { from: null, to: NOW() },
              pageToken: null,
              ...(signal ? { signal } : {}),
            });
      const burstOf = (h: ProviderHarness, enforced: Partial<ProviderLimits>, atMost: number) => {
        const spec = withSpec(quick(h, { maxAttempts: 1 }), { limits: enforced });
        // Past the tightest window the probes (reads) count in, so pacing has something to do; `atMost` keeps the
        // paced calls few enough to pace in seconds.
        const count =
          Math.min(
            atMost,
            ...rateWindows(spec.limits)
              .filter((w) => w.counts !== 'write')
              .map((w) => w.limit),
          ) + 10;
        return { spec, count };
      };
      // The documented limits: a per-minute window is what a burst exceeds whatever the machine's load (scaled
      // to 50 a second, agentOS's 120 calls once all landed outside one window on a machine at load 9).
      await withHarness({ contacts: 5 }, async (h) => {
        const { spec, count } = burstOf(h, {}, Number.POSITIVE_INFINITY);
        const unpaced = h.provider({ spec: { ...spec, limits: { rolling: true } } });
        // Twice the window's worth at once: where the documented window is a second, the calls of a loaded
        // machine spread out, and more than the window's worth must still land inside one.
        // The first 429 holds the connection's calls still to start for its wait (a minute at most): they stop.
        const refused = new AbortController();
        const burst = await Promise.all(
          Array.from({ length: 2 * count }, async () => {
            const result = await probe(unpaced, refused.signal);
            if (!result.ok && result.error.kind === 'rate_limited') refused.abort(new Error('refused once'));
            return result;
          }),
        );
        expect(burst.filter((r) => !r.ok && r.error.kind === 'rate_limited').length).toBeGreaterThan(0);
      });
      // A fresh simulator: what the burst left behind (agentOS blocks a key that keeps calling after a 429)
      // must not depend on how fast a loaded machine got through it.
      await withHarness({ contacts: 5, limits }, async (h) => {
        const { spec, count } = burstOf(h, limits, 200);
        const paced = h.provider({ spec });
        const calls = await Promise.all(Array.from({ length: count }, () => probe(paced)));
        expect(calls.every((r) => r.ok || r.error.kind === 'unsupported')).toBe(true);
        expect((await h.control.stats()).rateLimited).toBe(0);
      });
    });

    it('keeps to its concurrency cap: requests answered slowly overlap, and the paced client never exceeds it', async () => {
      let declared: number | undefined;
      await withHarness({ contacts: 1 }, async (h) => {
        declared = h.spec.limits.maxConcurrent;
      });
      if (declared === undefined) return;
      const cap = declared;
      // Windows out of the way, and a service time: with none the simulator answers each request within the tick it
      // arrives in, so no two ever overlap and the concurrency gate could refuse nothing.
      const limits = { ...noRateLimits, maxConcurrent: cap };
      const probe = (p: CrmProvider) =>
        p.capabilities.canSearchByEmail
          ? p.findByEmail({ email: 'nobody@example.com' })
          : p.listChanges({ window: { from: null, to: NOW() }, pageToken: null });
      await withHarness({ contacts: 5, limits, latencyMs: 50 }, async (h) => {
        const spec = withSpec(quick(h, { maxAttempts: 1 }), { limits });
        const unpaced = h.provider({ spec: withSpec(spec, { limits: { maxConcurrent: undefined } }) });
        await Promise.all(Array.from({ length: 4 * cap }, () => probe(unpaced)));
        expect((await h.control.stats()).rateLimited).toBeGreaterThan(0);
      });
      await withHarness({ contacts: 5, limits, latencyMs: 50 }, async (h) => {
        const paced = h.provider({ spec: withSpec(quick(h, { maxAttempts: 1 }), { limits }) });
        const calls = await Promise.all(Array.from({ length: 4 * cap }, () => probe(paced)));
        expect(calls.every((r) => r.ok)).toBe(true);
        expect((await h.control.stats()).rateLimited).toBe(0);
      });
    });

    it('reports a spent daily quota as quota_exhausted without calling again', async () => {
      await withHarness({ contacts: 5, limits: { requestsPerDay: 2 } }, async (h) => {
        const provider = h.provider({ spec: withSpec(h.spec, { limits: { requestsPerDay: 2 } }) });
        const window = { from: null, to: NOW() };
        for (let i = 0; i < 2; i++)
          expect((await provider.listChanges({ window, pageToken: null })).ok).toBe(true);
        const third = await provider.listChanges({ window, pageToken: null });
        const midnight = new Date(Math.floor(Date.now() / 86_400_000 + 1) * 86_400_000).toISOString();
        expect(third).toMatchObject({ ok: false, error: { kind: 'quota_exhausted', resumeAt: midnight } });
        expect((await h.control.stats()).requests).toBe(2);
      });
    });

    it('turns server errors and dropped connections into transient after bounded retries', async () => {
      await withHarness({ contacts: 5 }, async (h) => {
        const window = { from: null, to: NOW() };
        for (const faults of [{ errorRate: 1 }, { dropRate: 1 }]) {
          await h.control.faults(faults);
          const result = await h
            .provider({ spec: quick(h, { maxAttempts: 2 }) })
            .listChanges({ window, pageToken: null });
          expect(result).toMatchObject({ ok: false, error: { kind: 'transient' } });
        }
      });
    });

    it('quarantines a malformed record as one per-record error; the rest of the page goes on', async () => {
      await withHarness({ contacts: 30, malformed: 1, seed: 11 }, async (h) => {
        const pages = await drain(h.provider(), { from: null, to: NOW() });
        const errors = pages.flatMap((p) => p.errors);
        expect(errors).toHaveLength(1);
        expect(errors[0]?.externalId).toEqual(expect.any(String));
        expect(errors[0]?.fields.length).toBeGreaterThan(0);
        expect(pages.flatMap((p) => p.records)).toHaveLength(29);
      });
    });
  });
}

/** The harness for a registered provider: its HTTP simulator in-process, clients from the registry. */
export function simulatorHarness(provider: ProviderName): MakeHarness {
  return async (options) => {
    const entry = getProvider(provider);
    if (!entry) throw new Error(`${provider} is not registered`);
    const sim = await startSimulator(provider, options);
    const wrong = Object.fromEntries(
      Object.entries(sim.credentials).map(([k, v]) => [
        k,
        typeof v === 'string' && !v.startsWith('http') ? `${v}-wrong` : v,
      ]),
    );
    return {
      spec: entry.spec,
      control: sim.control,
      provider: ({ credentials = 'valid', spec } = {}) => {
        const created = entry.createProvider({
          baseUrl: sim.baseUrl,
          credentials: credentials === 'valid' ? sim.credentials : wrong,
          ...(spec ? { spec, limiter: createLimiter(spec) } : {}),
        });
        if (!created.ok) throw new Error(created.error.message);
        return created.value;
      },
      close: sim.close,
    };
  };
}
