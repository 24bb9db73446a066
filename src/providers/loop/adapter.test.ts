import { describe, expect, it } from 'vitest';
import { createLimiter } from '../limiter.ts';
import type { CrmProvider, FetchWindow, InboundRecord } from '../provider.ts';
import { simControlClient } from '../simulator/server.ts';
import { withSpec } from '../spec.ts';
import { createLoopProvider } from './adapter.ts';
import type { LoopContact } from './schemas.ts';
import { startLoopSimulator } from './simulator.ts';
import { loopSpec } from './spec.ts';

const fast = { requestsPerMinute: undefined, requestsPerSecond: 50 };
const spec = withSpec(loopSpec, { limits: fast, retry: { waitAfter429Ms: 20, timeoutMs: 2_000 } });

async function withSim(
  options: Parameters<typeof startLoopSimulator>[0],
  run: (sim: {
    provider: CrmProvider;
    records: () => Promise<LoopContact[]>;
    /** A PUT straight to the simulator, as another Loop user's edit. */
    put: (id: string, body: Partial<LoopContact>) => Promise<void>;
  }) => Promise<void>,
) {
  const sim = await startLoopSimulator({ limits: fast, ...options });
  const provider = createLoopProvider({
    baseUrl: sim.baseUrl,
    credentials: sim.credentials as { apiKey: string },
    spec,
    limiter: createLimiter(spec),
  });
  const control = simControlClient(sim.baseUrl);
  try {
    const put = async (id: string, body: Partial<LoopContact>) => {
      const response = await fetch(`${sim.baseUrl}/api/contacts/${encodeURIComponent(id)}`, {
        method: 'PUT',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json', 'x-api-key': String(sim.credentials.apiKey) },
      });
      if (!response.ok)
        throw new Error(`PUT /api/contacts/${id} → ${response.status} ${await response.text()}`);
    };
    await run({ provider, records: async () => (await control.records()) as LoopContact[], put });
  } finally {
    await sim.close();
  }
}

async function page(provider: CrmProvider, window: FetchWindow, token: string | null) {
  const result = await provider.listChanges({ window, pageToken: token });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

describe('Loop adapter (assumed API)', () => {
  it('loses nothing when a record inside a long equal-timestamp run is saved mid-listing', async () => {
    await withSim({ contacts: 400, sameModified: 250, seed: 12 }, async ({ provider, records }) => {
      // Far enough ahead that the save made mid-listing still falls inside it on a slow, loaded machine.
      const window = { from: null, to: new Date(Date.now() + 600_000).toISOString() };
      const before = await records();
      const seen: InboundRecord[] = [];
      let token: string | null = null;
      let edited: string | null = null;
      for (let i = 0; i < 40; i++) {
        const p = await page(provider, window, token);
        seen.push(...p.records);
        token = p.nextPageToken;
        // Once inside the run, save a run member already read: it moves to the end of the listing and
        // every later member shifts back one place onto the page just read.
        const runValue = before
          .map((r) => r.updatedAt)
          .find((v, _, all) => all.filter((o) => o === v).length >= 250);
        const runSeen = seen.filter((r) => r.modified === runValue);
        if (edited === null && runSeen.length >= 150) {
          edited = runSeen[0]?.externalId ?? null;
          const saved = await provider.update({
            externalId: edited ?? '',
            patch: { title: 'Dr' },
            version: null,
          });
          expect(saved.ok).toBe(true);
        }
        if (token === null) break;
      }
      expect(edited).not.toBeNull();
      // The saved record is inside the window (`to` is ahead of the clock), so it comes again at the end with
      // its new content; nothing else repeats and nothing is missing.
      const ids = seen.map((r) => r.externalId);
      const repeats = ids.filter((id, i) => ids.indexOf(id) !== i);
      expect(repeats).toEqual([edited]);
      expect(seen.filter((r) => r.externalId === edited).at(-1)?.contact.title).toBe('Dr');
      expect(new Set(ids)).toEqual(new Set(before.map((r) => r.id)));
    });
  });

  it('writes a phone in place, keeping the other phones and e-mails (read, then PUT)', async () => {
    await withSim({ contacts: 40, seed: 13 }, async ({ provider, records }) => {
      const target = (await records()).find((r) => r.phones.length >= 2 && r.emails.length >= 1);
      if (!target) throw new Error('no seeded contact with two phones');
      const mobile = target.phones.find((p) => p.type === 'mobile');
      const updated = await provider.update({
        externalId: target.id,
        patch: { mobilePhone: '07700 900999', emailOpens: 4 },
        version: null,
      });
      expect(updated).toEqual({ ok: true, value: { version: null } });
      const after = (await records()).find((r) => r.id === target.id);
      expect(after?.emails).toEqual(target.emails);
      expect(after?.phones.filter((p) => p.type !== 'mobile')).toEqual(
        target.phones.filter((p) => p.type !== 'mobile'),
      );
      expect(after?.phones.find((p) => p.type === 'mobile')?.number).toBe('07700 900999');
      expect(mobile === undefined || after?.phones.length === target.phones.length).toBe(true);
    });
  });

  it('moves a new primary e-mail that is already a secondary to the front, not holding it twice', async () => {
    await withSim({ contacts: 3, seed: 14 }, async ({ provider, records, put }) => {
      const [target] = await records();
      if (!target) throw new Error('no seeded contact');
      await put(target.id, {
        emails: ['ann@example.co.uk', 'Ann@Lee-Consulting.co.uk', 'ann.lee@example.org'],
      });
      const updated = await provider.update({
        externalId: target.id,
        patch: { email: 'ann@lee-consulting.co.uk' },
        version: null,
      });
      expect(updated).toEqual({ ok: true, value: { version: null } });
      // The old primary is replaced; the secondary that became primary is not kept a second time (another letter
      // case is the same address), and the other secondary stays.
      expect((await records()).find((r) => r.id === target.id)?.emails).toEqual([
        'ann@lee-consulting.co.uk',
        'ann.lee@example.org',
      ]);
    });
  });

  it('refuses to clear an e-mail or a mobile the record holds a second of, which Loop would then read as the field', async () => {
    await withSim({ contacts: 3, seed: 14 }, async ({ provider, records, put }) => {
      const [target] = await records();
      if (!target) throw new Error('no seeded contact');
      const emails = ['ann@example.co.uk', 'ann.work@example.org'];
      const phones = [
        { type: 'mobile' as const, number: '07700 900123' },
        { type: 'mobile' as const, number: '07700 900456' },
      ];
      await put(target.id, { emails, phones });
      const email = await provider.update({ externalId: target.id, patch: { email: null }, version: null });
      expect(email).toMatchObject({ ok: false, error: { kind: 'validation', field: 'email' } });
      const mobile = await provider.update({
        externalId: target.id,
        patch: { mobilePhone: null },
        version: null,
      });
      expect(mobile).toMatchObject({ ok: false, error: { kind: 'validation', field: 'mobilePhone' } });
      expect((await records()).find((r) => r.id === target.id)).toMatchObject({ emails, phones });

      // With no second one, the field is cleared and reads back cleared.
      await put(target.id, { emails: emails.slice(0, 1), phones: phones.slice(0, 1) });
      const cleared = await provider.update({
        externalId: target.id,
        patch: { email: null, mobilePhone: null },
        version: null,
      });
      expect(cleared.ok).toBe(true);
      const read = await provider.getRecord({ externalId: target.id });
      expect(read.ok && read.value.contact).toMatchObject({ email: null, mobilePhone: null });
    });
  });

  it("reads a UK country name as GB and keeps Loop's country text when an address is written", async () => {
    await withSim({ contacts: 3, seed: 14 }, async ({ provider, records, put }) => {
      const [uk, abroad] = await records();
      if (!uk || !abroad) throw new Error('no seeded contacts');
      const address = {
        line1: '10 Downing Street',
        line2: null,
        town: 'London',
        county: null,
        postcode: 'SW1A 2AA',
      };
      await put(uk.id, { address: { ...address, country: 'United Kingdom' } });
      await put(abroad.id, { address: { ...address, country: 'Ireland' } });
      for (const [record, country, code] of [
        [uk, 'United Kingdom', 'GB'],
        [abroad, 'Ireland', null],
      ] as const) {
        const read = await provider.getRecord({ externalId: record.id });
        if (!read.ok || read.value.contact.address === null) throw new Error('no address read');
        expect(read.value.contact.address.countryCode).toBe(code);
        const patch = { address: { ...read.value.contact.address, postcode: 'SW1A 2AB' } };
        expect((await provider.update({ externalId: record.id, patch, version: null })).ok).toBe(true);
        expect((await records()).find((r) => r.id === record.id)?.address).toMatchObject({
          postcode: 'SW1A 2AB',
          country,
        });
      }
    });
  });

  it('skips a patch of fields Loop cannot hold without calling the API', async () => {
    await withSim({ contacts: 3 }, async ({ provider, records }) => {
      const [target] = await records();
      const result = await provider.update({
        externalId: target?.id ?? '',
        patch: { intentScore: 5 },
        version: null,
      });
      expect(result).toEqual({ ok: true, value: { version: null } });
      expect((await records()).find((r) => r.id === target?.id)).toEqual(target);
    });
  });
});

describe('Loop simulator (assumed API)', () => {
  // The window counts every request the limits let through, whatever its answer: a Retry-After counted from the
  // requests that reached the API alone said 1 s after a minute's budget spent on injected 500s.
  it("answers a full window's 429 with the wait the window needs, requests that failed included", async () => {
    const sim = await startLoopSimulator({ limits: { requestsPerMinute: 3, requestsPerSecond: undefined } });
    try {
      await simControlClient(sim.baseUrl).faults({ errorRate: 1 });
      const get = () =>
        fetch(`${sim.baseUrl}/api/contacts`, { headers: { 'x-api-key': String(sim.credentials.apiKey) } });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await get()).status);
      const limited = await get();
      expect([...statuses, limited.status]).toEqual([500, 500, 500, 429]);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(50);
      expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    } finally {
      await sim.close();
    }
  });
});
