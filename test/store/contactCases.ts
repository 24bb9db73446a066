import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { toMatchRecord } from '../../src/core/dedup/matchRecord.ts';
import { type SharedDatabase, unwrap } from './backends.ts';
import { at, contact, T0, tenantWithConnection } from './fixtures.ts';

/** Contacts, match keys and records, the change feed, links and suppressed records: cases of `describeStoreData`. */
export function contactCases(shared: SharedDatabase) {
  it('upserts contacts in bulk, stamping only changed fields and bumping the change sequence', async () => {
    const { store } = shared;
    const { tenant } = await tenantWithConnection(store);
    const [a, b] = [randomUUID(), randomUUID()];
    const first = unwrap(
      await store.upsertContacts({
        tenantId: tenant.id,
        contacts: [
          { id: a, contact: contact({ firstName: 'Ann', email: 'ann@x.test' }) },
          { id: b, contact: contact({ firstName: 'Bob' }) },
        ],
        now: at(0),
      }),
    );
    expect([...first.created].sort()).toEqual([a, b].sort());
    const mark = unwrap(await store.localChangeHighWater({ tenantId: tenant.id }));

    const second = unwrap(
      await store.upsertContacts({
        tenantId: tenant.id,
        contacts: [
          { id: a, contact: contact({ firstName: 'Ann', email: 'ann@new.test' }) },
          { id: b, contact: contact({ firstName: 'Bob' }) },
        ],
        now: at(10),
      }),
    );
    const high = unwrap(await store.localChangeHighWater({ tenantId: tenant.id }));
    expect(second).toEqual({ created: [], updated: [a], unchanged: [b], changeSeqs: { [a]: high } });
    const [stored] = unwrap(await store.getContacts({ tenantId: tenant.id, ids: [a] }));
    expect(stored?.fieldStamps.email).toBe(at(10).toISOString());
    expect(stored?.fieldStamps.firstName).toBe(at(0).toISOString());
    expect(stored?.changeSeq).toBe(high);

    const changes = unwrap(
      await store.listLocalChanges({ tenantId: tenant.id, afterSeq: mark, upToSeq: high, limit: 100 }),
    );
    expect(changes.map((c) => c.id)).toEqual([a]);
  });

  it("leaves out of a connection's local changes the contacts it synced at their current change", async () => {
    const { store } = shared;
    const { tenant, ref } = await tenantWithConnection(store);
    const [mine, edited, unsynced] = [randomUUID(), randomUUID(), randomUUID()];
    const start = unwrap(await store.localChangeHighWater({ tenantId: tenant.id }));
    const written = unwrap(
      await store.upsertContacts({
        tenantId: tenant.id,
        contacts: [mine, edited, unsynced].map((id) => ({
          id,
          contact: contact({ firstName: id.slice(0, 6) }),
        })),
        now: T0,
      }),
    );
    const linkOf = (contactId: string, syncedSeq: number | null) => ({
      externalId: `RPT-${contactId}`,
      contactId,
      base: contact({ firstName: contactId.slice(0, 6) }),
      pushedHashes: {},
      remoteVersion: null,
      remoteHash: null,
      syncedSeq,
    });
    unwrap(
      await store.upsertLinks({
        ...ref,
        links: [
          linkOf(mine, written.changeSeqs[mine] ?? 0),
          linkOf(edited, written.changeSeqs[edited] ?? 0),
          linkOf(unsynced, null),
        ],
        now: T0,
      }),
    );
    // A NurtureHub edit after the connection synced the contact is a local change again.
    unwrap(
      await store.upsertContacts({
        tenantId: tenant.id,
        contacts: [{ id: edited, contact: contact({ firstName: 'Edited' }) }],
        now: at(1),
      }),
    );
    const high = unwrap(await store.localChangeHighWater({ tenantId: tenant.id }));
    const range = { tenantId: tenant.id, afterSeq: start, upToSeq: high, limit: 100 };
    const forConnection = unwrap(await store.listLocalChanges({ ...range, connectionId: ref.connectionId }));
    expect(forConnection.map((c) => c.id).sort()).toEqual([edited, unsynced].sort());
    const forAnyone = unwrap(await store.listLocalChanges(range));
    expect(forAnyone.map((c) => c.id).sort()).toEqual([mine, edited, unsynced].sort());
  });

  it('finds contacts by match keys and replaces a contact’s keys', async () => {
    const { store } = shared;
    const { tenant } = await tenantWithConnection(store);
    const [a, b] = [randomUUID(), randomUUID()];
    const contacts = [a, b].map((id) => ({ id, contact: contact() }));
    unwrap(await store.upsertContacts({ tenantId: tenant.id, contacts, now: T0 }));
    unwrap(
      await store.replaceMatchKeys({
        tenantId: tenant.id,
        entries: [
          { contactId: a, keys: ['email:ann@x.test', 'phone:+447700900001'] },
          { contactId: b, keys: ['phone:+447700900001'] },
        ],
      }),
    );
    const found = unwrap(await store.findCandidates({ tenantId: tenant.id, keys: ['phone:+447700900001'] }));
    expect(found).toEqual([{ key: 'phone:+447700900001', contactIds: [a, b].sort() }]);
    unwrap(
      await store.replaceMatchKeys({
        tenantId: tenant.id,
        entries: [{ contactId: a, keys: ['email:ann@y.test'] }],
      }),
    );
    expect(unwrap(await store.findCandidates({ tenantId: tenant.id, keys: ['email:ann@x.test'] }))).toEqual(
      [],
    );
    expect(unwrap(await store.findCandidates({ tenantId: tenant.id, keys: ['email:ann@y.test'] }))).toEqual([
      { key: 'email:ann@y.test', contactIds: [a] },
    ]);
    // A new contact's keys are added beside a stored one's replacement in the same call.
    const c = randomUUID();
    unwrap(
      await store.upsertContacts({
        tenantId: tenant.id,
        contacts: [{ id: c, contact: contact() }],
        now: T0,
      }),
    );
    unwrap(
      await store.replaceMatchKeys({
        tenantId: tenant.id,
        entries: [
          { contactId: b, keys: ['email:bo@x.test'] },
          { contactId: c, keys: ['phone:+447700900001'] },
        ],
        created: [c],
      }),
    );
    const holders = unwrap(
      await store.findCandidates({ tenantId: tenant.id, keys: ['phone:+447700900001', 'email:bo@x.test'] }),
    );
    expect(holders).toEqual([
      { key: 'email:bo@x.test', contactIds: [b] },
      { key: 'phone:+447700900001', contactIds: [c] },
    ]);
    // Replacements that keep their keys, one taking up a key the other keeps: every pair held, by contact and key.
    unwrap(
      await store.replaceMatchKeys({
        tenantId: tenant.id,
        entries: [
          { contactId: a, keys: ['email:ann@y.test', 'email:bo@x.test'] },
          { contactId: b, keys: ['email:bo@x.test'] },
        ],
      }),
    );
    expect(
      unwrap(
        await store.findCandidates({ tenantId: tenant.id, keys: ['email:ann@y.test', 'email:bo@x.test'] }),
      ),
    ).toEqual([
      { key: 'email:ann@y.test', contactIds: [a] },
      { key: 'email:bo@x.test', contactIds: [a, b].sort() },
    ]);
    // Keys for a contact the tenant does not have (another tenant's, or none) are refused, and nothing is written.
    const other = await tenantWithConnection(store);
    const refused = await store.replaceMatchKeys({
      tenantId: other.tenant.id,
      entries: [{ contactId: a, keys: ['email:stolen@x.test'] }],
    });
    expect(refused).toMatchObject({ ok: false, error: { kind: 'not_found' } });
    const mixed = await store.replaceMatchKeys({
      tenantId: tenant.id,
      entries: [
        { contactId: a, keys: ['email:half@x.test'] },
        { contactId: randomUUID(), keys: ['email:half@x.test'] },
      ],
    });
    expect(mixed).toMatchObject({ ok: false, error: { kind: 'not_found' } });
    const keys = ['email:stolen@x.test', 'email:half@x.test'];
    expect(unwrap(await store.findCandidates({ tenantId: other.tenant.id, keys }))).toEqual([]);
    expect(unwrap(await store.findCandidates({ tenantId: tenant.id, keys }))).toEqual([]);
  });

  it('hands back the stored match records of the listed contacts', async () => {
    const { store, database } = shared;
    const { tenant } = await tenantWithConnection(store);
    const [a, b] = [randomUUID(), randomUUID()];
    const ann = contact({ firstName: 'Ann', lastName: 'Lee', email: 'Ann.Lee@Example.com' });
    const written = unwrap(
      await store.upsertContacts({
        tenantId: tenant.id,
        contacts: [
          { id: a, contact: ann },
          { id: b, contact: contact({ firstName: 'Bob' }) },
        ],
        now: T0,
      }),
    );
    const records = async (tenantId = tenant.id) =>
      unwrap(await store.getMatchRecords({ tenantId, ids: [a, randomUUID(), b] })).sort((x, y) =>
        x.id === a ? -1 : y.id === a ? 1 : 0,
      );
    expect(await records()).toEqual([
      { id: a, changeSeq: written.changeSeqs[a], matchRecord: toMatchRecord(a, ann) },
      {
        id: b,
        changeSeq: written.changeSeqs[b],
        matchRecord: toMatchRecord(b, contact({ firstName: 'Bob' })),
      },
    ]);
    const other = await tenantWithConnection(store);
    expect(await records(other.tenant.id)).toEqual([]);

    // A change rewrites the record with the document.
    const moved = { ...ann, email: 'ann@elsewhere.test' };
    const rewritten = unwrap(
      await store.upsertContacts({
        tenantId: tenant.id,
        contacts: [{ id: a, contact: moved }],
        now: at(1),
      }),
    );
    const [again] = await records();
    expect(again).toEqual({
      id: a,
      changeSeq: rewritten.changeSeqs[a],
      matchRecord: toMatchRecord(a, moved),
    });
    expect(again?.matchRecord?.email).toBe('ann@elsewhere.test');

    // A contact stored before match records were (or by another version) comes back without one.
    await database.raw('UPDATE contacts SET match_record = NULL WHERE id = $1', [b]);
    await database.raw(
      `UPDATE contacts SET match_record = replace(match_record, '"v":', '"v":9') WHERE id = $1`,
      [a],
    );
    expect((await records()).map((c) => c.matchRecord)).toEqual([null, null]);
  });

  it('lists the contacts changed after a change number, in change order, a page at a time', async () => {
    const { store } = shared;
    const { tenant } = await tenantWithConnection(store);
    const other = await tenantWithConnection(store);
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const start = unwrap(await store.localChangeHighWater({ tenantId: tenant.id }));
    const write = async (tenantId: string, id: string, firstName: string, now: Date) =>
      unwrap(
        await store.upsertContacts({ tenantId, contacts: [{ id, contact: contact({ firstName }) }], now }),
      ).changeSeqs[id];
    const seqA = await write(tenant.id, a, 'A', T0);
    const seqB = await write(tenant.id, b, 'B', T0);
    await write(other.tenant.id, c, 'C', T0);
    const seqA2 = await write(tenant.id, a, 'A2', at(1));
    const changes = (afterSeq: number, limit = 10) =>
      store.listChangeSeqs({ tenantId: tenant.id, afterSeq, limit });
    // A contact changed twice is listed once, at its latest number; the other tenant's change is not listed.
    expect(unwrap(await changes(start))).toEqual([
      { id: b, changeSeq: seqB },
      { id: a, changeSeq: seqA2 },
    ]);
    expect(seqA).toBeLessThan(seqB ?? 0);
    expect(unwrap(await changes(start, 1))).toEqual([{ id: b, changeSeq: seqB }]);
    expect(unwrap(await changes(seqB ?? 0))).toEqual([{ id: a, changeSeq: seqA2 }]);
    expect(unwrap(await changes(seqA2 ?? 0))).toEqual([]);
  });

  it('stores links with merge base, pushed hashes, remote version and field dates, looked up in bulk, and drops them', async () => {
    const { store } = shared;
    const { tenant, ref } = await tenantWithConnection(store);
    const id = randomUUID();
    unwrap(
      await store.upsertContacts({
        tenantId: tenant.id,
        contacts: [{ id, contact: contact({ firstName: 'C' }) }],
        now: T0,
      }),
    );
    const link = {
      externalId: 'RPT-1',
      contactId: id,
      base: contact({ firstName: 'C' }),
      pushedHashes: { emailOpens: 'abc' },
      remoteVersion: 'W/"etag-1"',
      remoteHash: 'hash-1',
      fieldModified: { firstName: '2026-01-05T09:30:00.123Z' },
    };
    expect(unwrap(await store.hasLinks(ref))).toBe(false);
    unwrap(await store.upsertLinks({ ...ref, links: [link], now: T0 }));
    expect(unwrap(await store.hasLinks(ref))).toBe(true);
    const other = await tenantWithConnection(store);
    expect(unwrap(await store.hasLinks({ ...ref, tenantId: other.tenant.id }))).toBe(false);
    expect(unwrap(await store.hasLinks(other.ref))).toBe(false);
    unwrap(
      await store.upsertLinks({ ...ref, links: [{ ...link, remoteVersion: 'W/"etag-2"' }], now: at(1) }),
    );
    const byExternal = unwrap(
      await store.getLinksByExternalIds({ ...ref, externalIds: ['RPT-1', 'RPT-404'] }),
    );
    expect(byExternal).toEqual([
      { ...link, remoteVersion: 'W/"etag-2"', connectionId: ref.connectionId, updatedAt: at(1) },
    ]);
    expect(unwrap(await store.getLinksByContactIds({ ...ref, contactIds: [id] }))).toEqual(byExternal);
    const listed = unwrap(await store.listContacts({ tenantId: tenant.id, limit: 10 }));
    expect(listed.map((c) => [c.id, c.links.map((l) => l.externalId)])).toEqual([[id, ['RPT-1']]]);
    // A link written without field dates (a create we made) has none, whatever it had.
    const { fieldModified: _, ...undated } = link;
    unwrap(await store.upsertLinks({ ...ref, links: [undated], now: at(2) }));
    const [rewritten] = unwrap(await store.getLinksByExternalIds({ ...ref, externalIds: ['RPT-1'] }));
    expect(rewritten?.fieldModified).toEqual({});
    // Dropped (the CRM no longer has the record): gone for this connection; an unknown id changes nothing.
    unwrap(await store.dropLinks({ ...ref, externalIds: ['RPT-404'], now: at(3) }));
    expect(unwrap(await store.hasLinks(ref))).toBe(true);
    expect(unwrap(await store.goneLinks({ ...ref, contactIds: [id] }))).toEqual([]);
    unwrap(await store.dropLinks({ ...ref, externalIds: ['RPT-1'], now: at(4) }));
    expect(unwrap(await store.getLinksByContactIds({ ...ref, contactIds: [id] }))).toEqual([]);
    expect(unwrap(await store.hasLinks(ref))).toBe(false);
    // Its base is kept as the contact's gone link of this connection, until the contact is linked here again.
    const gone = { contactId: id, externalId: 'RPT-1', base: link.base, goneAt: at(4) };
    expect(unwrap(await store.goneLinks({ ...ref, contactIds: [id, randomUUID()] }))).toEqual([gone]);
    expect(unwrap(await store.goneLinks({ ...other.ref, contactIds: [id] }))).toEqual([]);
    unwrap(await store.upsertLinks({ ...ref, links: [{ ...link, externalId: 'RPT-2' }], now: at(5) }));
    expect(unwrap(await store.goneLinks({ ...ref, contactIds: [id] }))).toEqual([]);
    // Dropped again, the latest drop is the one kept.
    unwrap(await store.dropLinks({ ...ref, externalIds: ['RPT-2'], now: at(6) }));
    expect(unwrap(await store.goneLinks({ ...ref, contactIds: [id] }))).toEqual([
      { ...gone, externalId: 'RPT-2', goneAt: at(6) },
    ]);
  });

  it('leaves out a key held by more contacts than the limit, and returns every holder of the others', async () => {
    const { store } = shared;
    const { tenant } = await tenantWithConnection(store);
    const ids: string[] = Array.from({ length: 4 }, () => randomUUID());
    unwrap(
      await store.upsertContacts({
        tenantId: tenant.id,
        contacts: ids.map((id) => ({ id, contact: contact() })),
        now: T0,
      }),
    );
    // 'common' has 4 holders, 'pair' 2, 'three' 3.
    unwrap(
      await store.replaceMatchKeys({
        tenantId: tenant.id,
        entries: ids.map((id, i) => ({
          contactId: id,
          keys: ['common', ...(i < 2 ? ['pair'] : []), ...(i < 3 ? ['three'] : [])],
        })),
      }),
    );
    const found = async (maxHoldersPerKey: number) =>
      unwrap(
        await store.findCandidates({
          tenantId: tenant.id,
          keys: ['common', 'pair', 'three', 'none'],
          maxHoldersPerKey,
        }),
      )
        .flatMap((hit) => hit.contactIds.map((id) => `${hit.key} ${ids.indexOf(id)}`))
        .sort();
    expect(await found(3)).toEqual(['pair 0', 'pair 1', 'three 0', 'three 1', 'three 2']);
    expect(await found(2)).toEqual(['pair 0', 'pair 1']);
    expect(await found(4)).toHaveLength(9);
  });

  it('remembers suppressed records with their content until they are linked', async () => {
    const { store } = shared;
    const { tenant, ref } = await tenantWithConnection(store);
    const other = await tenantWithConnection(store);
    const suppressed = (externalId: string, contentHash: string) => ({
      externalId,
      contentHash,
      remoteVersion: null,
    });
    unwrap(
      await store.markSuppressed({
        ...ref,
        records: [suppressed('AOS-1', 'h1'), suppressed('AOS-2', 'h2')],
        now: T0,
      }),
    );
    unwrap(await store.markSuppressed({ ...ref, records: [suppressed('AOS-1', 'h1b')], now: at(1) }));
    const ids = ['AOS-1', 'AOS-2', 'AOS-3'];
    const read = async (r: typeof ref) =>
      unwrap(await store.getSuppressed({ ...r, externalIds: ids })).sort((a, b) =>
        a.externalId.localeCompare(b.externalId),
      );
    // Each with when it was last suppressed: the engine asks about a duplicate's twin again an hour after.
    expect(await read(ref)).toEqual([
      { ...suppressed('AOS-1', 'h1b'), suppressedAt: at(1) },
      { ...suppressed('AOS-2', 'h2'), suppressedAt: T0 },
    ]);
    expect(await read(other.ref)).toEqual([]);
    const id = randomUUID();
    unwrap(
      await store.upsertContacts({ tenantId: tenant.id, contacts: [{ id, contact: contact() }], now: T0 }),
    );
    const link = {
      externalId: 'AOS-2',
      contactId: id,
      base: contact(),
      pushedHashes: {},
      remoteVersion: null,
      remoteHash: 'h2',
    };
    // Another connection's record of the same id is its own: linking here leaves it remembered.
    unwrap(await store.markSuppressed({ ...other.ref, records: [suppressed('AOS-2', 'h9')], now: T0 }));
    unwrap(await store.upsertLinks({ ...ref, links: [link], now: at(2) }));
    expect(await read(ref)).toEqual([{ ...suppressed('AOS-1', 'h1b'), suppressedAt: at(1) }]);
    expect(await read(other.ref)).toEqual([{ ...suppressed('AOS-2', 'h9'), suppressedAt: T0 }]);
  });
}
