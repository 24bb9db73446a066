import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { drain } from '../../../test/conformance/providerSuite.ts';
import { startSimulator } from '../../../test/support/simulators.ts';
import { canonicalContactSchema } from '../../core/schemas.ts';
import { decodePageToken, encodePageToken } from '../pageToken.ts';
import type { CrmProvider } from '../provider.ts';
import { getProvider } from '../registry.ts';
import { defineSpec } from '../spec.ts';
import { isSyncedContact } from './mapping.ts';
import type { AltoSimulatorOptions } from './simulator.ts';
import type { AltoRecord } from './simulatorRecords.ts';

async function withAlto(
  options: AltoSimulatorOptions,
  run: (p: CrmProvider, credentials: Record<string, unknown>, baseUrl: string) => Promise<void>,
) {
  const sim = await startSimulator('alto', options);
  try {
    const created = getProvider('alto')?.createProvider({
      baseUrl: sim.baseUrl,
      credentials: sim.credentials,
    });
    if (!created?.ok) throw new Error('alto provider');
    await run(created.value, sim.credentials, sim.baseUrl);
  } finally {
    await sim.close();
  }
}

const later = () => new Date(Date.now() + 1000).toISOString();
const ids = async (p: CrmProvider, window: { from: null; to: string }) =>
  (await drain(p, window)).flatMap((page) => page.records.map((r) => r.externalId));

/** A provider on the simulator that keeps each request's URL as sent (`sent`). */
function recordingProvider(sim: { baseUrl: string; credentials: Record<string, unknown> }) {
  const sent: URL[] = [];
  const created = getProvider('alto')?.createProvider({
    baseUrl: sim.baseUrl,
    credentials: sim.credentials,
    fetch: async (input, init) => {
      sent.push(new URL(input instanceof Request ? input.url : String(input)));
      return fetch(input, init);
    },
  });
  if (!created?.ok) throw new Error('alto provider');
  return { provider: created.value, sent };
}

/**
 * A provider on a seeded simulator whose search items are changed by `mapItem` on their way back (a CRM's change of
 * shape), and a seeded contact's e-mail to search for.
 */
async function withSearchItems(
  mapItem: (item: Record<string, unknown>) => Record<string, unknown>,
  run: (provider: CrmProvider, held: string) => Promise<void>,
) {
  const sim = await startSimulator('alto', { contacts: 3, seed: 6 });
  try {
    const created = getProvider('alto')?.createProvider({
      baseUrl: sim.baseUrl,
      credentials: sim.credentials,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (!new URL(input instanceof Request ? input.url : String(input)).pathname.endsWith('/search'))
          return response;
        const body = (await response.json()) as { items: Array<Record<string, unknown>> };
        return Response.json({ ...body, items: body.items.map(mapItem) }, { status: response.status });
      },
    });
    if (!created?.ok) throw new Error('alto provider');
    const held = ((await sim.control.records()) as AltoRecord[]).flatMap((r) =>
      r.people.flatMap((p) => p.emailAddresses.map((e) => e.address)),
    )[0];
    if (held === undefined) throw new Error('no seeded e-mail');
    await run(created.value, held);
  } finally {
    await sim.close();
  }
}

/**
 * A seeded contact whose person had one e-mail address and now holds a second, added by the agency the way Alto
 * takes it (`add` at `/EmailAddresses/-`, with the adapter's own token and AgencyRef).
 */
async function withSecondEmail(
  run: (world: {
    provider: CrmProvider;
    target: AltoRecord;
    records: () => Promise<AltoRecord[]>;
  }) => Promise<void>,
) {
  const sim = await startSimulator('alto', { contacts: 3, seed: 6 });
  try {
    let headers: Headers | null = null;
    const created = getProvider('alto')?.createProvider({
      baseUrl: sim.baseUrl,
      credentials: sim.credentials,
      fetch: async (input, init) => {
        if (new URL(input instanceof Request ? input.url : String(input)).pathname.startsWith('/contacts'))
          headers = new Headers(input instanceof Request ? input.headers : init?.headers);
        return fetch(input, init);
      },
    });
    if (!created?.ok) throw new Error('alto provider');
    const provider = created.value;
    const records = async () => (await sim.control.records()) as AltoRecord[];
    const target = (await records()).find((r) => r.people[0]?.emailAddresses.length === 1);
    if (!target) throw new Error('no seeded contact with one e-mail address');
    expect((await provider.getRecord({ externalId: target.id })).ok).toBe(true);
    if (headers === null) throw new Error('no request seen');
    const added = await fetch(`${sim.baseUrl}/contacts/${target.id}/persons/1`, {
      method: 'PATCH',
      headers: {
        authorization: (headers as Headers).get('authorization') ?? '',
        agencyref: (headers as Headers).get('agencyref') ?? '',
        'content-type': 'application/json-patch+json',
      },
      body: JSON.stringify([
        {
          op: 'add',
          path: '/EmailAddresses/-',
          value: { Address: 'ann@lee-consulting.co.uk', Type: 'Business' },
        },
      ]),
    });
    expect(added.status).toBe(200);
    await run({ provider, target, records });
  } finally {
    await sim.close();
  }
}

/** A page token whose Alto next-token has expired: Alto answers it 400, and the adapter restarts the query. */
function expired(token: string): string {
  const decoded = decodePageToken(z.record(z.string(), z.unknown()), token);
  if (!decoded.ok) throw new Error('not a page token');
  return encodePageToken({ ...decoded.value, next: 'expired-token' });
}

/** The ids `window` lists, in order, when the next-token after its first `pagesBefore` pages has expired. */
async function listedThroughExpiry(
  provider: CrmProvider,
  window: { from: null; to: string },
  pagesBefore: number,
): Promise<string[]> {
  const listed: string[] = [];
  let token: string | null = null;
  for (let page = 1; page <= pagesBefore || token !== null; page++) {
    const read = await provider.listChanges({ window, pageToken: token });
    if (!read.ok) throw new Error(read.error.message);
    listed.push(...read.value.records.map((r) => r.externalId));
    token = read.value.nextPageToken;
    if (page === pagesBefore)
      token = expired(token ?? expect.unreachable('the listing ended before the expiry'));
  }
  return listed;
}

describe('alto adapter', () => {
  it('syncs clients and previous clients only: another category is not listed, found or read by id', async () => {
    const options: AltoSimulatorOptions = { contacts: 40, seed: 4, nonClientContacts: 5 };
    const sim = await startSimulator('alto', options);
    try {
      const raws = (await sim.control.records()) as AltoRecord[];
      const others = raws.filter((r) => !isSyncedContact(r));
      const synced = raws.filter(isSyncedContact);
      expect(new Set(others.map((r) => r.contactType.category))).toEqual(
        new Set(['Solicitor', 'ContactRelationship', 'Bank', 'Surveyor']),
      );
      const previous = synced.find((r) => r.contactType.category === 'PreviousClient');
      if (previous === undefined) throw new Error('no previous client seeded');
      const emailOf = (r: AltoRecord) => r.people[0]?.emailAddresses[0]?.address ?? [];
      const otherEmails = others.flatMap(emailOf);
      expect(otherEmails.length).toBeGreaterThan(0);
      const { provider, sent } = recordingProvider(sim);
      // Each synced contact once, the previous client among them: a set would hide one listed twice.
      expect((await ids(provider, { from: null, to: later() })).sort()).toEqual(
        synced.map((r) => r.id).sort(),
      );
      for (const email of otherEmails) {
        const found = await provider.findByEmail({ email });
        expect(found.ok && found.value.filter((r) => others.some((o) => o.id === r.externalId))).toEqual([]);
      }
      for (const email of [emailOf(previous)].flat()) {
        const found = await provider.findByEmail({ email });
        expect(found.ok && found.value.map((r) => r.externalId)).toContain(previous.id);
      }
      const [other] = others;
      if (other === undefined) throw new Error('no other contact');
      expect(await provider.getRecord({ externalId: other.id })).toMatchObject({
        ok: false,
        error: { kind: 'not_found', message: expect.stringContaining('not as a client') },
      });
      const both = await provider.getRecords?.({ externalIds: [other.id, previous.id] });
      const answered = both?.ok ? Object.fromEntries([...both.value].map(([id, read]) => [id, read.ok])) : {};
      expect(answered).toEqual({ [other.id]: false, [previous.id]: true });
      // An update of a name reads the contact first: refused as for a record Alto no longer holds, nothing written.
      const renamed = await provider.update({
        externalId: other.id,
        patch: { firstName: 'X' },
        version: null,
      });
      expect(renamed).toMatchObject({ ok: false, error: { kind: 'not_found' } });
      expect((await sim.control.stats()).writes).toBe(0);
      // `category` and `contact-type` take one value each [A1]: neither is asked, the categories are read on our side.
      const asked = (path: string, name: string) =>
        new Set(sent.filter((url) => url.pathname === path).map((url) => url.searchParams.get(name)));
      expect(asked('/contacts/all', 'category')).toEqual(new Set([null]));
      expect(asked('/contacts/search', 'contact-type')).toEqual(new Set([null]));
    } finally {
      await sim.close();
    }
  });

  it('returns conflict with the Location of the existing contact on a duplicate create', async () => {
    await withAlto({ contacts: 0 }, async (provider, _credentials, baseUrl) => {
      const contact = canonicalContactSchema.parse({
        firstName: 'Rhys',
        lastName: "O'Brien",
        email: 'rhys.obrien@example.co.uk',
        mobilePhone: '(07700) 900-123',
      });
      const first = await provider.create({ contact, reference: 'nh-1' });
      if (!first.ok) throw new Error(first.error.message);
      const again = await provider.create({
        contact: { ...contact, email: 'RHYS.OBRIEN@example.co.uk' },
        reference: 'nh-1',
      });
      expect(again).toEqual({
        ok: false,
        error: expect.objectContaining({
          kind: 'conflict',
          status: 409,
          location: `${baseUrl}/contacts/${first.value.externalId}`,
        }),
      });
    });
  });

  it('maps a wrong AgencyRef (403) to auth_failed, on writes too (not a write scope: reads are refused as well)', async () => {
    await withAlto({ contacts: 3 }, async (provider, credentials, baseUrl) => {
      const [target] = await ids(provider, { from: null, to: later() });
      const created = getProvider('alto')?.createProvider({
        baseUrl,
        credentials: { ...credentials, agencyRef: 'SOMEONE-ELSE' },
      });
      if (!created?.ok) throw new Error('alto provider');
      const result = await created.value.listChanges({
        window: { from: null, to: later() },
        pageToken: null,
      });
      expect(result).toMatchObject({ ok: false, error: { kind: 'auth_failed', status: 403 } });
      const write = await created.value.update({
        externalId: target ?? '',
        patch: { status: 'archived' },
        version: null,
      });
      expect(write).toMatchObject({ ok: false, error: { kind: 'auth_failed', status: 403 } });
    });
  });

  it('writes names, e-mail and status through person- and contact-level JSON Patch', async () => {
    await withAlto({ contacts: 5, seed: 4 }, async (provider) => {
      const [target] = (await drain(provider, { from: null, to: later() })).flatMap((p) => p.records);
      if (!target) throw new Error('no records');
      const patch = {
        title: 'Dr',
        firstName: 'Aoife',
        lastName: 'Murphy',
        email: 'aoife.murphy@example.ie',
        status: 'archived' as const,
        emailOpens: 9,
        address: null,
      };
      expect((await provider.update({ externalId: target.externalId, patch, version: null })).ok).toBe(true);
      const after = (await drain(provider, { from: null, to: later() }))
        .flatMap((p) => p.records)
        .find((r) => r.externalId === target.externalId);
      expect(after?.contact).toMatchObject({
        title: 'Dr',
        firstName: 'Aoife',
        lastName: 'Murphy',
        email: 'aoife.murphy@example.ie',
        status: 'archived',
        emailOpens: 0,
      });
      expect(after?.removed).toBe(true);
    });
  });

  it('keeps the type of the e-mail address it keeps beside a new primary one', async () => {
    await withSecondEmail(async ({ provider, target, records }) => {
      const updated = await provider.update({
        externalId: target.id,
        patch: { email: 'ann.lee@example.co.uk' },
        version: null,
      });
      expect(updated.ok).toBe(true);
      const after = (await records()).find((r) => r.id === target.id);
      expect(after?.people[0]?.emailAddresses).toEqual([
        { preferenceOrder: 1, type: 'Unknown', address: 'ann.lee@example.co.uk' },
        { preferenceOrder: 2, type: 'Business', address: 'ann@lee-consulting.co.uk' },
      ]);
    });
  });

  it('refuses to clear an e-mail the person holds a second of: the second would read back as the e-mail', async () => {
    await withSecondEmail(async ({ provider, target, records }) => {
      const before = (await records()).find((r) => r.id === target.id);
      const cleared = await provider.update({ externalId: target.id, patch: { email: null }, version: null });
      expect(cleared.ok ? 'written' : cleared.error).toMatchObject({ kind: 'validation', field: 'email' });
      expect((await records()).find((r) => r.id === target.id)).toEqual(before);
    });
  });

  it('loses nothing when a record of a long equal-timestamp run is edited mid-listing', async () => {
    await withAlto({ contacts: 600, sameModified: 400, seed: 3 }, async (provider) => {
      const window = { from: null, to: new Date().toISOString() };
      const expected = new Set(await ids(provider, window));
      const seen: string[] = [];
      const first = await provider.listChanges({ window, pageToken: null });
      if (!first.ok) throw new Error(first.error.message);
      seen.push(...first.value.records.map((r) => r.externalId));
      // An agency user saves a record already read: it moves past `to`.
      expect(
        (await provider.update({ externalId: seen[200] as string, patch: { title: 'Dr' }, version: null }))
          .ok,
      ).toBe(true);
      let token = first.value.nextPageToken;
      while (token !== null) {
        const page = await provider.listChanges({ window, pageToken: token });
        if (!page.ok) throw new Error(page.error.message);
        seen.push(...page.value.records.map((r) => r.externalId));
        token = page.value.nextPageToken;
      }
      expect(new Set(seen)).toEqual(expected);
      expect(seen.length).toBe(expected.size);
    });
  });

  it('lists a millisecond holding more records than a page once each, though their digits are not its order', async () => {
    // 400 records of one millisecond with 7-digit stamps that differ below it, listed in id order: a page ends on
    // a record whose digits are above those of others of its millisecond still to come.
    await withAlto(
      { contacts: 600, sameModified: 400, seed: 5, subMillisecondTicks: true },
      async (provider) => {
        const window = { from: null, to: later() };
        const listed = await ids(provider, window);
        expect(listed.length).toBe(600);
        expect(new Set(listed).size).toBe(600);
      },
    );
  });

  it('restarts from the last record returned when Alto refuses a next-token', async () => {
    await withAlto({ contacts: 600, sameModified: 300, seed: 2 }, async (provider) => {
      const window = { from: null, to: later() };
      expect(await listedThroughExpiry(provider, window, 1)).toEqual(await ids(provider, window));
    });
  });

  it('restarts inside a tie longer than a page without handing out again what earlier pages returned', async () => {
    await withAlto({ contacts: 800, sameModified: 600, seed: 2 }, async (provider) => {
      const window = { from: null, to: later() };
      expect(await listedThroughExpiry(provider, window, 2)).toEqual(await ids(provider, window));
    });
  });

  it('asks each next-token with the lower bound of the query that issued it, after a restart too', async () => {
    const sim = await startSimulator('alto', { contacts: 600, sameModified: 300, seed: 2 });
    try {
      const { provider, sent } = recordingProvider(sim);
      const all = await drain(provider, { from: null, to: later() });
      const last = all.flatMap((page) => page.records).at(0);
      if (last === undefined) throw new Error('nothing listed');
      const window = { from: { modified: last.modified, externalId: last.externalId }, to: later() };
      const first = await provider.listChanges({ window, pageToken: null });
      if (!first.ok || first.value.nextPageToken === null) throw new Error('first page');
      sent.length = 0;
      let token: string | null = expired(first.value.nextPageToken);
      while (token !== null) {
        const page = await provider.listChanges({ window, pageToken: token });
        if (!page.ok) throw new Error(page.error.message);
        token = page.value.nextPageToken;
      }
      // The refused token, then the restarted query and its pages: one lower bound for the restarted query's pages.
      const asked = sent.map((url) => ({
        next: url.searchParams.get('next-token'),
        from: url.searchParams.get('modified-from'),
      }));
      expect(asked[0]?.next).toBe('expired-token');
      const restarted = asked.slice(1);
      expect(restarted.length).toBeGreaterThan(1);
      expect(restarted[0]?.next).toBeNull();
      expect(new Set(restarted.map((a) => a.from))).toEqual(new Set([restarted[0]?.from]));
    } finally {
      await sim.close();
    }
  });

  it('does not answer "none" to an e-mail search when a contact holding the address cannot be read, nor quote it', async () => {
    // The search's items arrive without `archived` (a CRM's change of shape): none can be read.
    await withSearchItems(
      ({ archived: _, ...item }) => item,
      async (provider, held) => {
        const found = await provider.findByEmail({ email: held });
        expect(found.ok ? 'none' : found.error).toMatchObject({ kind: 'validation' });
        // Not quoting the address: the message reaches the audit, the API and the logs, which show no personal data.
        expect(found.ok ? '' : found.error.message.toLowerCase()).not.toContain(held.toLowerCase());
        // An unreadable contact that does not mention the address is no answer about it.
        expect(await provider.findByEmail({ email: 'nobody@example.org' })).toEqual({ ok: true, value: [] });
      },
    );
  });

  it('reads every page of an e-mail search: a match past the first is still the address held [A1]', async () => {
    const sim = await startSimulator('alto', { contacts: 3, seed: 6 });
    try {
      const alto = getProvider('alto') ?? expect.unreachable('alto is not registered');
      // One match a page, so that the address held is on a later page than other contacts the search matches.
      const spec = defineSpec({
        ...alto.spec,
        pagination: { ...alto.spec.pagination, maxPageSize: 1, defaultPageSize: 1 },
        capabilities: { ...alto.spec.capabilities, maxPageSize: 1 },
      });
      const created = alto.createProvider({ baseUrl: sim.baseUrl, credentials: sim.credentials, spec });
      if (!created.ok) throw new Error(created.error.message);
      const provider = created.value;
      const address = 'jo.held@example.co.uk';
      const make = async (email: string, surname: string) => {
        const made = await provider.create({
          contact: canonicalContactSchema.parse({ firstName: 'Jo', lastName: surname, email }),
          reference: surname,
        });
        return made.ok ? made.value.externalId : expect.unreachable(made.error.message);
      };
      // Addresses the search also matches (it matches within text), made first, then the one held.
      for (const n of [1, 2, 3]) await make(`${n}${address}`, `Decoy${n}`);
      const held = await make(address, 'Held');
      const found = await provider.findByEmail({ email: address });
      expect(found.ok ? found.value.map((r) => r.externalId) : found.error).toEqual([held]);
    } finally {
      await sim.close();
    }
  });

  it('reads a search item whose modifiedDate is null, as [A1] allows', async () => {
    await withSearchItems(
      (item) => ({ ...item, modifiedDate: null }),
      async (provider, held) => {
        const found = await provider.findByEmail({ email: held });
        expect(found.ok ? found.value.length : found.error).toBe(1);
      },
    );
  });
});
