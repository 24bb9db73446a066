import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMatchRecord } from '../../src/core/dedup/matchRecord.ts';
import { err } from '../../src/core/result.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { type Backend, type TestDatabase, unwrap } from './backends.ts';
import { at, auditBody, contact, T0, tenantWithConnection } from './fixtures.ts';

/** Contacts, links, engagement, ledger, audit, atomicity and migrations: the same cases on every backend. */
export function describeStoreData(name: string, backend: () => Backend) {
  describe(`store on ${name}: records, ledger, audit`, () => {
    let database: TestDatabase;
    let store: StoreHandle;
    beforeAll(async () => {
      database = await backend().createDatabase();
      store = unwrap(await database.open());
    });
    afterAll(async () => {
      await store?.close();
      await database?.drop();
    });

    it('upserts contacts in bulk, stamping only changed fields and bumping the change sequence', async () => {
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
      expect(new Set(first.created)).toEqual(new Set([a, b]));
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
      const forConnection = unwrap(
        await store.listLocalChanges({ ...range, connectionId: ref.connectionId }),
      );
      expect(forConnection.map((c) => c.id).sort()).toEqual([edited, unsynced].sort());
      const forAnyone = unwrap(await store.listLocalChanges(range));
      expect(forAnyone.map((c) => c.id).sort()).toEqual([mine, edited, unsynced].sort());
    });

    it('finds contacts by match keys and replaces a contact’s keys', async () => {
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
      const found = unwrap(
        await store.findCandidates({ tenantId: tenant.id, keys: ['phone:+447700900001'] }),
      );
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
      expect(unwrap(await store.findCandidates({ tenantId: tenant.id, keys: ['email:ann@y.test'] }))).toEqual(
        [{ key: 'email:ann@y.test', contactIds: [a] }],
      );
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

    it('stores links with merge base, pushed hashes and remote version, looked up in bulk', async () => {
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
    });

    it('leaves out a key held by more contacts than the limit, and returns every holder of the others', async () => {
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
      expect(await read(ref)).toEqual([suppressed('AOS-1', 'h1b'), suppressed('AOS-2', 'h2')]);
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
      expect(await read(ref)).toEqual([suppressed('AOS-1', 'h1b')]);
      expect(await read(other.ref)).toEqual([suppressed('AOS-2', 'h9')]);
    });

    it('ingests an engagement event once, however often it arrives', async () => {
      const { tenant } = await tenantWithConnection(store);
      const id = randomUUID();
      unwrap(
        await store.upsertContacts({ tenantId: tenant.id, contacts: [{ id, contact: contact() }], now: T0 }),
      );
      const events = [
        {
          eventId: `open-${id}-1`,
          contactId: id,
          kind: 'email_open' as const,
          occurredAt: '2025-06-01T09:00:00.000Z',
        },
        {
          eventId: `open-${id}-2`,
          contactId: id,
          kind: 'email_open' as const,
          occurredAt: '2025-06-01T09:30:00.000Z',
        },
        {
          eventId: `click-${id}-1`,
          contactId: id,
          kind: 'email_click' as const,
          occurredAt: '2025-06-01T09:31:00.000Z',
        },
      ];
      const first = unwrap(await store.ingestEngagementEvents({ tenantId: tenant.id, events, now: at(1) }));
      expect(first.inserted).toHaveLength(3);
      const seqAfterFirst = unwrap(await store.localChangeHighWater({ tenantId: tenant.id }));
      const again = unwrap(await store.ingestEngagementEvents({ tenantId: tenant.id, events, now: at(2) }));
      expect(again).toEqual({ inserted: [], duplicates: events.map((e) => e.eventId), unknownContact: [] });
      expect(unwrap(await store.localChangeHighWater({ tenantId: tenant.id }))).toBe(seqAfterFirst);
      const [stored] = unwrap(await store.getContacts({ tenantId: tenant.id, ids: [id] }));
      expect(stored?.contact).toMatchObject({
        emailOpens: 2,
        emailClicks: 1,
        lastOpenedAt: '2025-06-01T09:30:00.000Z',
        lastClickedAt: '2025-06-01T09:31:00.000Z',
      });
      expect(stored?.fieldStamps.emailOpens).toBe(at(1).toISOString());
    });

    it('keeps the push ledger exactly-once: re-planning keeps acknowledged entries', async () => {
      const { tenant, ref } = await tenantWithConnection(store);
      const id = randomUUID();
      unwrap(
        await store.upsertContacts({ tenantId: tenant.id, contacts: [{ id, contact: contact() }], now: T0 }),
      );
      const plan = [
        {
          idempotencyKey: `k1-${id}`,
          cycleId: 'c1',
          kind: 'create' as const,
          contactId: id,
          externalId: null,
          payload: { a: 1 },
        },
        {
          idempotencyKey: `k2-${id}`,
          cycleId: 'c1',
          kind: 'update' as const,
          contactId: id,
          externalId: 'X',
          payload: [1, 2],
        },
      ];
      expect(unwrap(await store.planPushes({ ...ref, entries: plan, now: T0 })).map((e) => e.status)).toEqual(
        ['planned', 'planned'],
      );
      expect(
        unwrap(await store.markPushSent({ ...ref, idempotencyKey: `k1-${id}`, now: at(1) })),
      ).toMatchObject({ status: 'sent', attempts: 1 });
      const acked = unwrap(
        await store.markPushAcknowledged({
          ...ref,
          idempotencyKey: `k1-${id}`,
          responseId: 'RPT-9',
          responseVersion: 'v1',
          now: at(2),
        }),
      );
      expect(acked).toMatchObject({ status: 'acknowledged', responseId: 'RPT-9', acknowledgedAt: at(2) });
      expect(
        unwrap(await store.markPushSent({ ...ref, idempotencyKey: `k1-${id}`, now: at(3) })).status,
      ).toBe('acknowledged');

      const replanned = unwrap(await store.planPushes({ ...ref, entries: plan, now: at(4) }));
      expect(replanned.find((e) => e.idempotencyKey === `k1-${id}`)).toMatchObject({
        status: 'acknowledged',
        responseId: 'RPT-9',
      });
      const pending = unwrap(await store.listPendingPushes({ ...ref, cycleId: 'c1' }));
      expect(pending.map((e) => [e.idempotencyKey, e.payload])).toEqual([[`k2-${id}`, [1, 2]]]);
      expect(await store.markPushSent({ ...ref, idempotencyKey: 'missing', now: at(5) })).toMatchObject({
        ok: false,
        error: { kind: 'not_found' },
      });
    });

    it('quarantines bad inbound records by external id or payload hash', async () => {
      const { tenant, ref } = await tenantWithConnection(store);
      const records = [
        { externalId: 'BAD-1', payload: { email: 'nope' }, error: 'invalid email', fields: ['email'] },
        { externalId: null, payload: { weird: true }, error: 'no id', fields: ['id'] },
      ];
      unwrap(await store.quarantineRecords({ ...ref, records, now: at(0) }));
      unwrap(await store.quarantineRecords({ ...ref, records, now: at(5) }));
      const entries = unwrap(await store.listQuarantine({ tenantId: tenant.id, limit: 10 }));
      expect(entries).toHaveLength(2);
      for (const entry of entries)
        expect(entry).toMatchObject({ seenCount: 2, firstSeenAt: at(0), lastSeenAt: at(5) });
      expect(unwrap(await store.releaseQuarantine({ ...ref, externalIds: ['BAD-1'] }))).toBe(1);
    });

    it('commits a cycle once: audit entry and cursor together; the same cycle again is a no-op', async () => {
      const { tenant, ref } = await tenantWithConnection(store);
      const audit = auditBody();
      const cursor = { modified: '2025-06-01T09:59:59.123456Z', externalId: 'RPT-7' };
      const first = unwrap(await store.commitCycle({ ...ref, cursor, localCursor: 42, audit }));
      expect(first.alreadyCommitted).toBe(false);
      const again = unwrap(
        await store.commitCycle({
          ...ref,
          cursor: { modified: 'later', externalId: 'Z' },
          localCursor: 50,
          audit,
        }),
      );
      expect(again).toEqual({ auditId: first.auditId, alreadyCommitted: true });
      expect(unwrap(await store.getConnection(ref))).toMatchObject({ cursor, localCursor: 42 });

      const failed = auditBody({
        outcome: 'failed',
        errors: [{ status: 503, message: 'down', retry: true }],
      });
      unwrap(await store.commitCycle({ ...ref, audit: failed }));
      expect(unwrap(await store.getConnection(ref))).toMatchObject({ cursor, localCursor: 42 });

      const page1 = unwrap(await store.listAudit({ tenantId: tenant.id, limit: 1 }));
      expect(page1.entries.map((e) => e.body.cycleId)).toEqual([failed.cycleId]);
      const page2 = unwrap(
        await store.listAudit({ tenantId: tenant.id, limit: 1, beforeId: page1.nextBeforeId ?? 0 }),
      );
      expect(page2).toMatchObject({ entries: [{ body: audit, provider: 'reapit' }], nextBeforeId: null });
      expect(unwrap(await store.listAudit({ tenantId: tenant.id, provider: 'alto' })).entries).toEqual([]);
      expect(unwrap(await store.listAudit({ tenantId: tenant.id, since: at(6) })).entries).toEqual([]);
    });

    it('keeps a cycle’s notes for its audit: checked when noted, counted and listed by the database', async () => {
      const { tenant, ref } = await tenantWithConnection(store);
      const cycleId = randomUUID();
      const cycle = { ...ref, cycleId };
      const duplicate = (n: number) => ({ incoming: `R${n}`, matched: `M${n}`, reason: `same e-mail ${n}` });
      const conflict = {
        contactId: randomUUID(),
        field: 'email',
        crm: 'a@x.test',
        local: 'b@x.test',
        winner: 'crm' as const,
      };
      unwrap(
        await store.addCycleNotes({
          ...cycle,
          notes: [
            { kind: 'meta', key: 'localHighWater', body: 17 },
            { kind: 'duplicate', key: 'R2', body: duplicate(2) },
            { kind: 'meta', key: 'inbound:A', body: { unchanged: 3 } },
            { kind: 'meta', key: 'reconciled:A', body: 'A' },
            { kind: 'conflict', key: 'C:email', body: conflict },
            { kind: 'duplicate', key: 'R1', body: duplicate(1) },
            { kind: 'error', key: 'push:1', body: { status: 503, message: 'down', retry: true } },
            { kind: 'written', key: 'w1', body: { op: 'create', externalId: 'X1' } },
            { kind: 'written', key: 'w2', body: { op: 'update', externalId: 'X2' } },
            { kind: 'written', key: 'w3', body: { op: 'update', externalId: 'X3' } },
            { kind: 'meta', key: 'inbound:B', body: { unchanged: 4 } },
            { kind: 'meta', key: 'reconciled:B', body: 'B' },
          ],
        }),
      );
      const otherCycle = { ...ref, cycleId: randomUUID() };
      unwrap(
        await store.addCycleNotes({
          ...otherCycle,
          notes: [{ kind: 'duplicate', key: 'R9', body: duplicate(9) }],
        }),
      );

      // A note whose body is not what the audit lists is refused, and nothing of its batch is noted.
      const refused = await store.addCycleNotes({
        ...cycle,
        notes: [
          { kind: 'duplicate', key: 'R3', body: duplicate(3) },
          { kind: 'duplicate', key: 'R4', body: { incoming: 'R4' } },
        ] as never,
      });
      expect(refused).toMatchObject({ ok: false, error: { kind: 'invalid_input' } });

      expect(
        unwrap(await store.latestCycleNote({ ...cycle, kind: 'meta', keyPrefix: 'reconciled:' })),
      ).toEqual({
        kind: 'meta',
        key: 'reconciled:B',
        body: 'B',
      });
      expect(
        unwrap(await store.latestCycleNote({ ...cycle, kind: 'meta', keyPrefix: 'localHighWater' }))?.body,
      ).toBe(17);
      expect(
        unwrap(await store.latestCycleNote({ ...otherCycle, kind: 'meta', keyPrefix: 'reconciled:' })),
      ).toBeNull();
      expect(unwrap(await store.cycleNoteTotals(cycle))).toEqual({ created: 1, updated: 2, unchanged: 7 });
      expect(unwrap(await store.cycleNoteTotals(otherCycle))).toEqual({
        created: 0,
        updated: 0,
        unchanged: 0,
      });

      const stopping = { status: null, message: 'stopped', retry: false };
      const listed = auditBody({ cycleId, errors: [stopping] });
      unwrap(
        await store.commitCycle({
          ...ref,
          audit: listed,
          notesOf: { cycleId, kinds: ['conflict', 'duplicate', 'error'] },
        }),
      );
      const onlyErrors = auditBody({ errors: [stopping] });
      unwrap(await store.commitCycle({ ...ref, audit: onlyErrors, notesOf: { cycleId, kinds: ['error'] } }));
      const entries = unwrap(await store.listAudit({ tenantId: tenant.id })).entries;
      const bodyOf = (id: string) => entries.find((e) => e.body.cycleId === id)?.body;
      expect(bodyOf(cycleId)).toEqual({
        ...listed,
        conflicts: [conflict],
        duplicatesSuppressed: [duplicate(2), duplicate(1)],
        errors: [{ status: 503, message: 'down', retry: true }, stopping],
      });
      expect(bodyOf(onlyErrors.cycleId)).toEqual({
        ...onlyErrors,
        errors: [{ status: 503, message: 'down', retry: true }, stopping],
      });
    });

    it('rolls back records, audit and cursor together when the cycle transaction fails', async () => {
      const { tenant, ref } = await tenantWithConnection(store);
      const id = randomUUID();
      const outcome = await store.transaction(async (tx) => {
        unwrap(
          await tx.upsertContacts({ tenantId: tenant.id, contacts: [{ id, contact: contact() }], now: T0 }),
        );
        unwrap(
          await tx.commitCycle({ ...ref, cursor: { modified: 'm', externalId: 'e' }, audit: auditBody() }),
        );
        return err({ kind: 'push_failed' as const });
      });
      expect(outcome).toEqual({ ok: false, error: { kind: 'push_failed' } });
      expect(unwrap(await store.getContacts({ tenantId: tenant.id, ids: [id] }))).toEqual([]);
      expect(unwrap(await store.getConnection(ref)).cursor).toBeNull();
      expect(unwrap(await store.listAudit({ tenantId: tenant.id })).entries).toEqual([]);
    });

    it('leaves cursor and audit unchanged when the database fails mid-commit', async () => {
      const { tenant, ref } = await tenantWithConnection(store);
      // The audit row is written first; make the cursor update that follows it fail inside the database.
      await database.raw(`CREATE OR REPLACE FUNCTION fail_cursor() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.cursor IS DISTINCT FROM OLD.cursor THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$`);
      await database.raw(`CREATE TRIGGER fail_cursor BEFORE UPDATE ON connections FOR EACH ROW
        WHEN (NEW.id = '${ref.connectionId}') EXECUTE FUNCTION fail_cursor()`);
      try {
        await expect(
          store.commitCycle({ ...ref, cursor: { modified: 'm', externalId: 'e' }, audit: auditBody() }),
        ).rejects.toThrow('disk full');
      } finally {
        await database.raw('DROP TRIGGER fail_cursor ON connections');
      }
      expect(unwrap(await store.getConnection(ref)).cursor).toBeNull();
      expect(unwrap(await store.listAudit({ tenantId: tenant.id })).entries).toEqual([]);
    });
  });

  describe(`store on ${name}: migrations`, () => {
    it('re-running migrations is a no-op, and a newer schema is refused with a clear message', async () => {
      const database = await backend().createDatabase();
      try {
        const first = unwrap(await database.open());
        const versions = first.schemaVersions;
        unwrap(await first.createTenant({ name: 'kept', syncIntervalSeconds: 60 }));
        await first.close();

        const second = unwrap(await database.open());
        expect(second.schemaVersions).toEqual(versions);
        expect(unwrap(await second.listTenants()).map((t) => t.name)).toEqual(['kept']);
        expect(await database.raw('SELECT count(*)::int AS n FROM schema_migrations')).toEqual([
          { n: versions.length },
        ]);
        await database.raw(
          `INSERT INTO schema_migrations (version, name) VALUES ('29990101000000', 'future')`,
        );
        await second.close();

        const refused = await database.open();
        expect(refused).toMatchObject({ ok: false, error: { kind: 'schema_too_new' } });
        if (!refused.ok) expect(refused.error.message).toMatch(/29990101000000.*newer crm-sync/);
      } finally {
        await database.drop();
      }
    });
  });
}
