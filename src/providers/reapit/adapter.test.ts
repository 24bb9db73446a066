import { describe, expect, it } from 'vitest';
import { drain } from '../../../test/conformance/providerSuite.ts';
import { canonicalContactSchema } from '../../core/schemas.ts';
import type { CrmProvider } from '../provider.ts';
import { getProvider } from '../registry.ts';
import { simControlClient } from '../simulator/server.ts';
import { type ReapitSimulatorOptions, startReapitSimulator } from './simulator.ts';

async function withReapit(
  options: ReapitSimulatorOptions,
  run: (
    p: CrmProvider,
    sim: { records: () => Promise<unknown[]>; listings: () => URLSearchParams[] },
  ) => Promise<void>,
) {
  const sim = await startReapitSimulator({ ...options, port: 0 });
  const requested: URL[] = [];
  const recording: typeof fetch = (input, init) => {
    requested.push(new URL(input instanceof Request ? input.url : String(input)));
    return fetch(input, init);
  };
  try {
    const created = getProvider('reapit')?.createProvider({
      baseUrl: sim.baseUrl,
      credentials: sim.credentials,
      fetch: recording,
    });
    if (!created?.ok) throw new Error('reapit provider');
    const listings = () =>
      requested.filter((url) => url.pathname === '/contacts/').map((url) => url.searchParams);
    await run(created.value, { ...simControlClient(sim.baseUrl), listings });
  } finally {
    await sim.close();
  }
}

describe('reapit adapter', () => {
  it('filters by `email` and `id` as the OpenAPI names them (repeated keys [R3]), not `email[]` and `id[]`', async () => {
    // 150 contacts: a listing that ignored the filter would answer the first 100 in modified order alone.
    await withReapit({ contacts: 150, seed: 4 }, async (provider, sim) => {
      const raws = (await sim.records()) as Array<{ id: string; modified: string; email?: string | null }>;
      const latest = [...raws].sort((a, b) => Date.parse(b.modified) - Date.parse(a.modified));
      const sought = latest
        .find((r) => r.email)
        ?.email?.trim()
        .toLowerCase();
      if (sought === undefined) throw new Error('no contact with an e-mail');
      const holders = raws.filter((r) => r.email?.trim().toLowerCase() === sought).map((r) => r.id);
      const found = await provider.findByEmail({ email: sought });
      expect(found.ok && found.value.map((r) => r.externalId).sort()).toEqual(holders.sort());

      const asked = latest.slice(0, 3).map((r) => r.id);
      const read = await provider.getRecords?.({ externalIds: asked });
      expect(read?.ok && [...read.value].map(([id, answer]) => [id, answer.ok])).toEqual(
        asked.map((id) => [id, true]),
      );

      const [search, byIds] = sim.listings();
      expect(search?.getAll('email')).toEqual([sought]);
      expect(byIds?.getAll('id')).toEqual(asked);
      expect([...(search?.keys() ?? []), ...(byIds?.keys() ?? [])]).not.toContain('email[]');
      expect([...(byIds?.keys() ?? [])]).not.toContain('id[]');
    });
  });

  it('loses nothing when a record of a long equal-timestamp run leaves the window mid-listing', async () => {
    await withReapit({ contacts: 300, sameModified: 250, seed: 3 }, async (provider, sim) => {
      // `to` is fixed at cycle start, so an edit made during the cycle lands after it.
      const window = { from: null, to: new Date().toISOString() };
      const expected = new Set(
        (await drain(provider, window)).flatMap((p) => p.records.map((r) => r.externalId)),
      );
      const seen: string[] = [];
      let token: string | null = null;
      // Two pages reach the run; the third is the run's own page 1 (asked for its millisecond alone), whose
      // totalCount the run's later pages are checked against. A save before it would shift nothing already counted.
      for (let page = 0; page < 3; page++) {
        const result = await provider.listChanges({ window, pageToken: token });
        if (!result.ok) throw new Error(result.error.message);
        seen.push(...result.value.records.map((r) => r.externalId));
        token = result.value.nextPageToken;
      }
      expect(sim.listings().at(-1)?.get('modifiedTo')).not.toBe(window.to);
      expect(seen.length).toBeLessThan(expected.size);
      // An agency user saves a record already read: it moves past `to`, and later run members shift left a page.
      const moved = (await drain(provider, window))
        .flatMap((p) => p.records)
        .find((r) => r.externalId === seen[40]);
      if (!moved) throw new Error('record to move');
      expect(
        (
          await provider.update({
            externalId: moved.externalId,
            patch: { title: 'Dr' },
            version: moved.version,
          })
        ).ok,
      ).toBe(true);
      while (token !== null) {
        const result = await provider.listChanges({ window, pageToken: token });
        if (!result.ok) throw new Error(result.error.message);
        seen.push(...result.value.records.map((r) => r.externalId));
        token = result.value.nextPageToken;
      }
      expect(new Set(seen)).toEqual(expected);
    });
  });

  it('asks each listing from its anchor’s whole millisecond, not from the ticks below it', async () => {
    // The cursor keeps Reapit's 7-digit stamp; sent as it is, a Reapit comparing at the tick would leave out the
    // records of that millisecond stamped below it, which the next window is there to re-read.
    await withReapit({ contacts: 40, seed: 6 }, async (provider, sim) => {
      const window = {
        from: { modified: '2020-01-01T09:34:00.4759999Z', externalId: 'cursor-record' },
        to: new Date().toISOString(),
      };
      let token: string | null = null;
      do {
        const page = await provider.listChanges({ window, pageToken: token });
        if (!page.ok) throw new Error(page.error.message);
        token = page.value.nextPageToken;
      } while (token !== null);
      const asked = sim.listings().map((query) => query.get('modifiedFrom'));
      expect(asked).toContain('2020-01-01T09:34:00.475Z');
      for (const from of asked) expect(from ?? '').toMatch(/T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    });
  });

  it('finishes a run longer than a page while agency users save records after it', async () => {
    // 350 records share one millisecond (a bulk import); while the cycle lists them, agency users save other
    // contacts, which leave the window (their new `modified` is past `to`): one save before each page.
    await withReapit({ contacts: 600, sameModified: 350, seed: 3 }, async (provider, sim) => {
      const raws = (await sim.records()) as Array<{ id: string; modified: string }>;
      const countAt = (ms: number) => raws.filter((r) => Date.parse(r.modified) === ms).length;
      const runMs = raws.map((r) => Date.parse(r.modified)).find((ms) => countAt(ms) === 350);
      const run = raws.filter((r) => Date.parse(r.modified) === runMs).map((r) => r.id);
      const afterRun = raws.filter((r) => Date.parse(r.modified) > (runMs ?? 0)).map((r) => r.id);
      const window = { from: null, to: new Date().toISOString() };
      const listed: string[] = [];
      let token: string | null = null;
      let requests = 0;
      do {
        const saved = afterRun.pop();
        if (saved !== undefined) {
          const current = await provider.getRecord({ externalId: saved });
          if (!current.ok) throw new Error(current.error.message);
          const patch = { title: 'Dr' };
          expect(
            (await provider.update({ externalId: saved, patch, version: current.value.version })).ok,
          ).toBe(true);
        }
        const page = await provider.listChanges({ window, pageToken: token });
        if (!page.ok) throw new Error(page.error.message);
        listed.push(...page.value.records.map((r) => r.externalId));
        token = page.value.nextPageToken;
        requests += 1;
      } while (token !== null && requests < 60);
      expect(token).toBeNull();
      expect(run.filter((id) => !listed.includes(id))).toEqual([]);
    });
  });

  it('lists a millisecond holding more records than a page once each, though their ticks are not its order', async () => {
    // 250 records of one millisecond, 7-digit stamps that differ below it; Reapit filters and orders at the
    // millisecond (ASSUMPTION), so a page can end on a record whose ticks are below others' already returned.
    await withReapit(
      { contacts: 400, sameModified: 250, seed: 5, subMillisecondTicks: true },
      async (provider, sim) => {
        const raws = (await sim.records()) as Array<{ id: string; modified: string }>;
        const group = raws.filter(
          (r, _, all) => all.filter((o) => Date.parse(o.modified) === Date.parse(r.modified)).length === 250,
        );
        expect(new Set(group.map((r) => r.modified)).size).toBeGreaterThan(200);
        const pages = await drain(provider, { from: null, to: new Date().toISOString() });
        const ids = pages.flatMap((p) => p.records.map((r) => r.externalId));
        expect(ids.length - new Set(ids).size).toBe(0);
        expect(new Set(ids)).toEqual(new Set(raws.map((r) => r.id)));
      },
    );
  });

  it("re-reads the cursor's whole millisecond, records stamped below the cursor's digits included", async () => {
    await withReapit(
      { contacts: 400, sameModified: 250, seed: 5, subMillisecondTicks: true },
      async (provider, sim) => {
        const raws = (await sim.records()) as Array<{ id: string; modified: string }>;
        const group = raws.filter(
          (r) => raws.filter((o) => Date.parse(o.modified) === Date.parse(r.modified)).length === 250,
        );
        const [latest] = [...group].sort((a, b) => (a.modified < b.modified ? 1 : -1));
        if (latest === undefined) throw new Error('no group');
        const pages = await drain(provider, {
          from: { modified: latest.modified, externalId: latest.id },
          to: new Date().toISOString(),
        });
        const ids = new Set(pages.flatMap((p) => p.records.map((r) => r.externalId)));
        expect(group.filter((r) => !ids.has(r.id))).toEqual([]);
      },
    );
  });

  it('round-trips every canonical field through Reapit fields and metadata', async () => {
    await withReapit({ contacts: 0 }, async (provider) => {
      const contact = canonicalContactSchema.parse({
        title: 'Mr',
        firstName: 'Rhys',
        lastName: "O'Brien",
        email: 'rhys.obrien@example.co.uk',
        mobilePhone: '+44 7700 900123',
        homePhone: '0161 496 0123',
        workPhone: '020 7946 0123',
        address: {
          line1: '12 High Street',
          line2: 'Old Town',
          line3: 'Leeds',
          line4: 'West Yorkshire',
          postcode: 'LS1 4AP',
          countryCode: 'GB',
        },
        dateOfBirth: '1980-02-29',
        marketingConsent: 'grant',
        emailOpens: 4,
        emailClicks: 2,
        lastOpenedAt: '2025-05-01T10:00:00Z',
        intentScore: 65,
        nurtureSequence: {
          sequenceId: 'vendor-valuation',
          step: 2,
          state: 'active',
          enrolledAt: '2025-04-01T09:00:00Z',
        },
      });
      const created = await provider.create({ contact, reference: 'nh-1' });
      if (!created.ok) throw new Error(created.error.message);
      const [read] = (
        await drain(provider, { from: null, to: new Date(Date.now() + 1000).toISOString() })
      ).flatMap((p) => p.records);
      expect(read?.contact).toEqual(contact);
      const partial = await provider.update({
        externalId: created.value.externalId,
        patch: { emailClicks: 5 },
        version: read?.version ?? null,
      });
      expect(partial.ok).toBe(true);
      const found = await provider.findByEmail({ email: 'Rhys.OBrien@example.co.uk' });
      expect(found.ok && found.value[0]?.contact).toEqual({ ...contact, emailClicks: 5 });
    });
  });
});
