import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { matchKeys } from '../../src/core/dedup/blocking.ts';
import { toMatchRecord } from '../../src/core/dedup/matchRecord.ts';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { createApiFixture, editInCrm, useSharedStore } from './apiFixture.ts';

const store = useSharedStore();

describe('admin API: engagement and contacts', () => {
  it('ingests engagement events once each, by event id', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      await f.call('POST', `${f.base}/connections/${f.h.connectionId}/sync`);
      const { json } = await f.call('GET', `${f.base}/contacts?limit=1`);
      const contactId = json.contacts[0].id;
      const events = {
        events: [
          { eventId: 'evt-1', contactId, type: 'open', at: '2025-06-01T10:00:00Z' },
          { eventId: 'evt-2', contactId, type: 'click', at: '2025-06-01T10:01:00Z' },
          {
            eventId: 'evt-3',
            contactId: '8f2b6a1e-4c8d-4b6e-9a51-2f3c4d5e6f70',
            type: 'open',
            at: '2025-06-01T10:02:00Z',
          },
        ],
      };
      const first = await f.call('POST', `${f.base}/engagement`, { body: events });
      expect(first.status).toBe(200);
      expect(first.json).toEqual({ inserted: ['evt-1', 'evt-2'], duplicates: [], unknownContact: ['evt-3'] });
      const second = await f.call('POST', `${f.base}/engagement`, { body: events });
      expect(second.json).toEqual({
        inserted: [],
        duplicates: ['evt-1', 'evt-2'],
        unknownContact: ['evt-3'],
      });

      const contact = await f.call('GET', `${f.base}/contacts/${contactId}`);
      expect(contact.json.contact.contact).toMatchObject({
        emailOpens: 1,
        emailClicks: 1,
        lastOpenedAt: '2025-06-01T10:00:00.000Z',
      });
    } finally {
      await f.close();
    }
  });

  it('counts an event id repeated in one call once, refuses a differing repeat and future events, and counts past 2^31', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      await f.call('POST', `${f.base}/connections/${f.h.connectionId}/sync`);
      const { json } = await f.call('GET', `${f.base}/contacts?limit=2`);
      const [first, second] = json.contacts.map((c: { id: string }) => c.id);
      const event = (eventId: string, contactId: string, at = '2025-06-01T10:00:00Z') => ({
        eventId,
        contactId,
        type: 'open',
        at,
      });
      const opens = async (id: string) =>
        (await f.call('GET', `${f.base}/contacts/${id}`)).json.contact.contact.emailOpens;
      const repeated = await f.call('POST', `${f.base}/engagement`, {
        body: { events: [event('rep-1', first), event('rep-1', first), event('rep-2', first)] },
      });
      expect(repeated.json).toEqual({
        inserted: ['rep-1', 'rep-2'],
        duplicates: ['rep-1'],
        unknownContact: [],
      });
      expect([await opens(first), await opens(second)]).toEqual([2, 0]);
      // Repeated for no contact, it was never counted: listed once, under unknownContact alone.
      const nobody = '00000000-0000-4000-8000-00000000abcd';
      const unknownTwice = await f.call('POST', `${f.base}/engagement`, {
        body: { events: [event('rep-u', nobody), event('rep-u', nobody)] },
      });
      expect(unknownTwice.json).toEqual({ inserted: [], duplicates: [], unknownContact: ['rep-u'] });

      // The same id for another contact (or time) is not a duplicate to drop: one of the two is wrong, so neither
      // is recorded and the caller hears which.
      const differing = await f.call('POST', `${f.base}/engagement`, {
        body: { events: [event('new-1', first), event('new-1', second), event('new-2', second)] },
      });
      expect(differing.status).toBe(400);
      expect(differing.json.issues).toEqual([
        expect.objectContaining({
          path: ['events', 1, 'eventId'],
          message: 'repeats an earlier event id with another contact, type or time (events[0])',
        }),
      ]);
      expect([await opens(first), await opens(second)]).toEqual([2, 0]);
      // So is an id a earlier call recorded: a 409 naming it, the whole call written nowhere.
      const later = await f.call('POST', `${f.base}/engagement`, {
        body: { events: [event('later-1', second), event('rep-2', second)] },
      });
      expect(later.status).toBe(409);
      expect(later.json.error).toBe('event rep-2 was recorded earlier with another contact, type or time');
      const sameAgain = await f.call('POST', `${f.base}/engagement`, {
        body: { events: [event('rep-2', first)] },
      });
      expect(sameAgain.json.duplicates).toEqual(['rep-2']);
      expect([await opens(first), await opens(second)]).toEqual([2, 0]);
      // Each list in the order sent: a repeat within the call among the events recorded before, where it was sent.
      const mixed = await f.call('POST', `${f.base}/engagement`, {
        body: {
          events: [event('z-9', first), event('z-9', first), event('rep-2', first), event('b-1', first)],
        },
      });
      expect(mixed.json).toEqual({
        inserted: ['z-9', 'b-1'],
        duplicates: ['z-9', 'rep-2'],
        unknownContact: [],
      });
      expect([await opens(first), await opens(second)]).toEqual([4, 0]);

      const ahead = new Date(Date.now() + 2 * 24 * 60 * 60 * 1000).toISOString();
      const future = await f.call('POST', `${f.base}/engagement`, {
        body: {
          events: [
            event('future-1', second, ahead),
            event('now-1', second),
            event('future-2', second, ahead),
          ],
        },
      });
      expect(future.status).toBe(400);
      expect(future.json.issues.map((i: { path: unknown[] }) => i.path)).toEqual([
        ['events', 0, 'at'],
        ['events', 2, 'at'],
      ]);
      expect(future.json.error).toContain('more than a day in the future');
      expect(await opens(second)).toBe(0);

      await f.call('PATCH', `${f.base}/contacts/${second}`, { body: { emailOpens: 3_000_000_000 } });
      const big = await f.call('POST', `${f.base}/engagement`, {
        body: { events: [event('big-1', second)] },
      });
      expect(big.json.inserted).toEqual(['big-1']);
      expect(await opens(second)).toBe(3_000_000_001);
      // At the most a contact's number holds exactly, an open counts no more, and the contact still reads back.
      await f.call('PATCH', `${f.base}/contacts/${second}`, {
        body: { emailOpens: Number.MAX_SAFE_INTEGER },
      });
      const full = await f.call('POST', `${f.base}/engagement`, {
        body: { events: [event('big-2', second)] },
      });
      expect(full.json.inserted).toEqual(['big-2']);
      expect(await opens(second)).toBe(Number.MAX_SAFE_INTEGER);
      expect((await f.call('GET', `${f.base}/contacts`)).status).toBe(200);
    } finally {
      await f.close();
    }
  });

  it('edits a local contact: merged, re-indexed for matching, and pushed by the next cycle', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      await f.call('POST', `${f.base}/connections/${f.h.connectionId}/sync`);
      const { json } = await f.call('GET', `${f.base}/contacts?limit=2`);
      expect(json.nextAfterId).toBe(json.contacts[1].id);
      // The last page says it is the last: no `nextAfterId` leading to an empty page.
      const all = (await f.call('GET', `${f.base}/contacts?limit=500`)).json.contacts;
      const whole = await f.call('GET', `${f.base}/contacts?limit=${all.length}`);
      expect([whole.json.contacts.length, whole.json.nextAfterId]).toEqual([all.length, null]);
      const tail = await f.call('GET', `${f.base}/contacts?limit=1&afterId=${all.at(-2).id}`);
      expect([tail.json.contacts[0].id, tail.json.nextAfterId]).toEqual([all.at(-1).id, null]);
      const target = json.contacts[0];
      const externalId = target.links[0].externalId;

      const patched = await f.call('PATCH', `${f.base}/contacts/${target.id}`, {
        body: { email: 'new.address@example.co.uk' },
      });
      expect(patched.status).toBe(200);
      expect(patched.json.contact.contact).toEqual({ ...target.contact, email: 'new.address@example.co.uk' });
      expect(patched.json.contact.changeSeq).toBeGreaterThan(target.changeSeq);
      // One contact has the shape it has in the list, its links included.
      expect(patched.json.contact.links).toEqual(target.links);
      expect((await f.call('GET', `${f.base}/contacts/${target.id}`)).json.contact.links).toEqual(
        target.links,
      );

      const keys = matchKeys(toMatchRecord(target.id, patched.json.contact.contact));
      const found = await f.h.store.findCandidates({ tenantId: f.h.tenantId, keys });
      expect(found.ok && found.value.flatMap((c) => c.contactIds)).toContain(target.id);

      await f.call('POST', `${f.base}/connections/${f.h.connectionId}/sync`);
      const records = (await f.h.sim.control.records()) as Array<{ id: string; email?: string }>;
      expect(records.find((r) => r.id === externalId)?.email).toBe('new.address@example.co.uk');
    } finally {
      await f.close();
    }
  });

  it('edits an address line by line (a JSON merge patch), pushes it whole, and clears it with null', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      await f.call('POST', `${f.base}/connections/${f.h.connectionId}/sync`);
      const { json } = await f.call('GET', `${f.base}/contacts?limit=100`);
      const target = json.contacts.find(
        (c: { contact: { address: { line1: string | null; line3: string | null } | null } }) =>
          c.contact.address?.line1 && c.contact.address.line3,
      );
      const externalId = target.links[0].externalId;
      const path = `${f.base}/contacts/${target.id}`;

      const patched = await f.call('PATCH', path, { body: { address: { postcode: 'M1 2GT' } } });
      expect(patched.status).toBe(200);
      expect(patched.json.contact.contact.address).toEqual({ ...target.contact.address, postcode: 'M1 2GT' });
      await f.call('POST', `${f.base}/connections/${f.h.connectionId}/sync`);
      const records = (await f.h.sim.control.records()) as Array<{
        id: string;
        primaryAddress?: { line1?: string; line3?: string; postcode?: string };
      }>;
      const inCrm = records.find((r) => r.id === externalId)?.primaryAddress;
      expect(inCrm?.postcode).toBe('M1 2GT');
      expect(inCrm?.line3).toBe(target.contact.address.line3);

      const cleared = await f.call('PATCH', path, { body: { address: null } });
      expect(cleared.json.contact.contact.address).toBeNull();
      // A line the address schema refuses changes nothing.
      const refused = await f.call('PATCH', path, { body: { address: { countryCode: 'gb' } } });
      expect(refused.status).toBe(400);
      expect(refused.json.error).toContain('address.countryCode');
      expect((await f.call('GET', path)).json.contact.contact.address).toBeNull();
    } finally {
      await f.close();
    }
  });

  it('edits a nurture sequence member by member (a JSON merge patch), and refuses a partial one where none is held', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      await f.call('POST', `${f.base}/connections/${f.h.connectionId}/sync`);
      const { json } = await f.call('GET', `${f.base}/contacts?limit=2`);
      const [enrolled, other] = json.contacts.map((c: { id: string }) => `${f.base}/contacts/${c.id}`);
      const sequence = {
        sequenceId: 'spring-valuations',
        step: 1,
        state: 'active',
        enrolledAt: '2025-06-01T09:00:00.000Z',
      };
      expect((await f.call('PATCH', enrolled, { body: { nurtureSequence: sequence } })).status).toBe(200);

      // Instants come back in UTC with milliseconds, as every instant the API answers, whatever zone they came in.
      const zoned = await f.call('PATCH', enrolled, {
        body: {
          lastOpenedAt: '2025-06-02T11:00:00+01:00',
          nurtureSequence: { enrolledAt: '2025-06-01T10:00:00+01:00' },
        },
      });
      expect(zoned.json.contact.contact).toMatchObject({
        lastOpenedAt: '2025-06-02T10:00:00.000Z',
        nurtureSequence: { enrolledAt: '2025-06-01T09:00:00.000Z' },
      });
      expect((await f.call('GET', enrolled)).json.contact.contact.lastOpenedAt).toBe(
        '2025-06-02T10:00:00.000Z',
      );

      const stepped = await f.call('PATCH', enrolled, { body: { nurtureSequence: { step: 3 } } });
      expect(stepped.status).toBe(200);
      expect(stepped.json.contact.contact.nurtureSequence).toEqual({ ...sequence, step: 3 });

      // Where no sequence is held, the members named are the whole sequence, which lacks its id, state and date.
      const partial = await f.call('PATCH', other, { body: { nurtureSequence: { step: 3 } } });
      expect(partial.status).toBe(400);
      expect(partial.json.error).toContain('nurtureSequence.sequenceId');
      expect((await f.call('GET', other)).json.contact.contact.nurtureSequence).toBeNull();

      const ended = await f.call('PATCH', enrolled, { body: { nurtureSequence: null } });
      expect(ended.json.contact.contact.nurtureSequence).toBeNull();
    } finally {
      await f.close();
    }
  });

  it('changes nothing for an edit or event that only respells what is held: an instant in another zone or past the millisecond, an empty address', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      await f.call('POST', `${f.base}/connections/${f.h.connectionId}/sync`);
      const { json } = await f.call('GET', `${f.base}/contacts?limit=100`);
      const target = json.contacts.find((c: { contact: { address: unknown } }) => c.contact.address === null);
      expect(target).toBeDefined();
      const path = `${f.base}/contacts/${target.id}`;
      const held = (await f.call('PATCH', path, { body: { lastOpenedAt: '2025-06-02T10:00:00Z' } })).json
        .contact;

      const respelt = await f.call('PATCH', path, {
        body: { lastOpenedAt: '2025-06-02T11:00:00.000+01:00', address: {} },
      });
      expect(respelt.status).toBe(200);
      expect(respelt.json.contact).toEqual(held);
      expect((await f.call('GET', path)).json.contact).toEqual(held);

      // Instants are kept to the millisecond, so a repeat a microsecond apart is the same event in one call and
      // across calls alike (it was a duplicate in one call, and a different event, refused, in the next).
      const event = (at: string) => ({ eventId: 'sub-ms', contactId: target.id, type: 'click', at });
      const once = await f.call('POST', `${f.base}/engagement`, {
        body: { events: [event('2025-06-03T10:00:00.000100Z'), event('2025-06-03T10:00:00.000200Z')] },
      });
      expect(once.json).toEqual({ inserted: ['sub-ms'], duplicates: ['sub-ms'], unknownContact: [] });
      const again = await f.call('POST', `${f.base}/engagement`, {
        body: { events: [event('2025-06-03T11:00:00.000300+01:00')] },
      });
      expect(again.status).toBe(200);
      expect(again.json).toEqual({ inserted: [], duplicates: ['sub-ms'], unknownContact: [] });
      expect((await f.call('GET', path)).json.contact.contact).toMatchObject({
        emailClicks: 1,
        lastClickedAt: '2025-06-03T10:00:00.000Z',
      });
    } finally {
      await f.close();
    }
  });

  it('takes a contact id in capitals as the same contact: a repeat so spelt within one call is a duplicate, not refused', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      const { id } = await f.syncedContact();
      // The same open twice: the contact in other letters (PostgreSQL's uuid reads both alike), the instant in
      // another zone. It was refused as another event under a reused id, the whole call with it.
      const events = [
        { eventId: 'e1', contactId: id, type: 'open', at: '2025-06-01T09:30:00Z' },
        { eventId: 'e1', contactId: id.toUpperCase(), type: 'open', at: '2025-06-01T10:30:00+01:00' },
      ];
      const once = await f.call('POST', `${f.base}/engagement`, { body: { events } });
      expect(once.status).toBe(200);
      expect(once.json).toEqual({ inserted: ['e1'], duplicates: ['e1'], unknownContact: [] });
      const again = await f.call('POST', `${f.base}/engagement`, { body: { events: events.slice(1) } });
      expect(again.json).toEqual({ inserted: [], duplicates: ['e1'], unknownContact: [] });
      const contact = await f.call('GET', `${f.base}/contacts/${id.toUpperCase()}`);
      expect(contact.json.contact).toMatchObject({ id, contact: { emailOpens: 1 } });
    } finally {
      await f.close();
    }
  });

  it('refuses an edit that leaves a contact without a name, e-mail address or phone number, changing nothing', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      const target = await f.syncedContact();
      const path = `${f.base}/contacts/${target.id}`;
      const blank = {
        title: null,
        firstName: null,
        lastName: null,
        email: null,
        mobilePhone: null,
        homePhone: null,
        workPhone: null,
        address: null,
      };
      const refused = await f.call('PATCH', path, { body: blank });
      expect(refused.status).toBe(400);
      expect(refused.json.error).toBe(
        'invalid body: ✖ expected at least a name, an e-mail address or a phone number',
      );
      const after = (await f.call('GET', path)).json.contact;
      expect([after.contact, after.changeSeq]).toEqual([target.contact, target.changeSeq]);
      // One way to reach them left is enough.
      const kept = await f.call('PATCH', path, { body: { ...blank, workPhone: '020 7946 0000' } });
      expect(kept.status).toBe(200);

      // A contact a CRM sent without any (nothing an edit could lose) still takes edits of its other fields.
      const bare = randomUUID();
      const stored = await f.h.store.upsertContacts({
        tenantId: f.h.tenantId,
        contacts: [{ id: bare, contact: canonicalContactSchema.parse({ status: 'active' }) }],
        now: new Date(),
      });
      expect(stored.ok).toBe(true);
      const scored = await f.call('PATCH', `${f.base}/contacts/${bare}`, { body: { intentScore: 50 } });
      expect(scored.status).toBe(200);
      expect(scored.json.contact.contact.intentScore).toBe(50);
    } finally {
      await f.close();
    }
  });

  it('refuses an edit dating the last open or click more than a day ahead, at its path, changing nothing', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      const target = await f.syncedContact();
      const path = `${f.base}/contacts/${target.id}`;
      const ahead = new Date(Date.now() + 2 * 24 * 60 * 60 * 1000).toISOString();
      const refused = await f.call('PATCH', path, {
        body: { lastOpenedAt: '2999-01-01T00:00:00Z', lastClickedAt: ahead },
      });
      expect(refused.status).toBe(400);
      expect(refused.json.issues.map((i: { path: unknown[] }) => i.path)).toEqual([
        ['lastOpenedAt'],
        ['lastClickedAt'],
      ]);
      expect(refused.json.error).toContain('more than a day in the future');
      const after = (await f.call('GET', path)).json.contact;
      expect([after.contact, after.changeSeq]).toEqual([target.contact, target.changeSeq]);
      const past = await f.call('PATCH', path, { body: { lastOpenedAt: '2025-06-01T10:00:00Z' } });
      expect(past.json.contact.contact.lastOpenedAt).toBe('2025-06-01T10:00:00.000Z');
    } finally {
      await f.close();
    }
  });

  it('refuses text the store cannot hold (U+0000, an unpaired surrogate) with a 400, changing nothing', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      const target = await f.syncedContact();
      for (const [method, path, body, field] of [
        ['PATCH', `${f.base}/contacts/${target.id}`, { firstName: 'Har\u0000riet' }, 'firstName'],
        [
          'PATCH',
          `${f.base}/contacts/${target.id}`,
          { address: { line1: '1 High St\ud800' } },
          'address.line1',
        ],
        ['POST', '/api/tenants', { name: 'Qx7\ud800Homes', interval: '1h' }, 'name'],
        [
          'POST',
          `${f.base}/engagement`,
          {
            events: [{ eventId: 'e\u0000', contactId: target.id, type: 'open', at: '2025-06-01T10:00:00Z' }],
          },
          'eventId',
        ],
      ] as const) {
        const response = await f.call(method, path, { body });
        expect(response.status, `${method} ${path} ${field}`).toBe(400);
        expect(response.json.error).toContain(field);
        expect(response.json.error).toContain('U+0000 or an unpaired surrogate');
      }
      const after = (await f.call('GET', `${f.base}/contacts/${target.id}`)).json.contact;
      expect([after.contact, after.changeSeq]).toEqual([target.contact, target.changeSeq]);
      const tenants = await f.call('GET', '/api/tenants');
      expect(JSON.stringify(tenants.json)).not.toContain('Qx7');
    } finally {
      await f.close();
    }
  });

  it('audits a conflict when the same field changed on both sides: the CRM wins a contact field', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      await f.call('POST', `${f.base}/connections/${f.h.connectionId}/sync`);
      const { json } = await f.call('GET', `${f.base}/contacts?limit=1`);
      const target = json.contacts[0];
      await f.call('PATCH', `${f.base}/contacts/${target.id}`, { body: { mobilePhone: '07700 900111' } });
      await editInCrm(f.h, target.links[0].externalId, { mobilePhone: '07700 900222' });

      await f.call('POST', `${f.base}/connections/${f.h.connectionId}/sync`);
      const audit = await f.call('GET', `${f.base}/audit?limit=1`);
      expect(audit.json.entries[0].body.conflicts).toEqual([
        {
          contactId: target.id,
          field: 'mobilePhone',
          base: target.contact.mobilePhone,
          crm: '07700 900222',
          local: '07700 900111',
          winner: 'crm',
          reason: 'both-changed-resolved-by-authority',
        },
      ]);
    } finally {
      await f.close();
    }
  });
});
