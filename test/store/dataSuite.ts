import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { err } from '../../src/core/result.ts';
import type { Store } from '../../src/persistence/store.ts';
import { type Backend, type SharedDatabase, unwrap } from './backends.ts';
import { contactCases } from './contactCases.ts';
import { at, auditBody, contact, T0, tenantWithConnection } from './fixtures.ts';
import { importedLineCases } from './importedLineCases.ts';
import { matchVersionCases } from './matchVersionCases.ts';

/** A new tenant (with a connection) holding one contact, `id`. */
async function tenantWithContact(store: Store) {
  const { tenant } = await tenantWithConnection(store);
  const id = randomUUID();
  unwrap(
    await store.upsertContacts({ tenantId: tenant.id, contacts: [{ id, contact: contact() }], now: T0 }),
  );
  return { tenant, id };
}

/** Contacts, links, engagement, ledger, audit, atomicity and migrations: the same cases on every backend. */
export function describeStoreData(name: string, backend: () => Backend) {
  describe(`store on ${name}: records, ledger, audit`, () => {
    const shared = {} as SharedDatabase;
    beforeAll(async () => {
      shared.database = await backend().createDatabase();
      shared.store = unwrap(await shared.database.open());
    });
    afterAll(async () => {
      await shared.store?.close();
      await shared.database?.drop();
    });

    contactCases(shared);
    matchVersionCases(shared);
    importedLineCases(shared);
    it('ingests an engagement event once, however often it arrives', async () => {
      const { store } = shared;
      const { tenant, id } = await tenantWithContact(store);
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

    it('takes a contact id in capitals as the same contact: a repeat so spelt within one call is a duplicate', async () => {
      const { store } = shared;
      const { tenant, id } = await tenantWithContact(store);
      // The same open twice: the contact in other letters, the instant in another zone.
      const events = [
        {
          eventId: `e1-${id}`,
          contactId: id,
          kind: 'email_open' as const,
          occurredAt: '2025-06-01T09:30:00Z',
        },
        {
          eventId: `e1-${id}`,
          contactId: id.toUpperCase(),
          kind: 'email_open' as const,
          occurredAt: '2025-06-01T10:30:00+01:00',
        },
      ];
      const ingested = unwrap(
        await store.ingestEngagementEvents({ tenantId: tenant.id, events, now: at(1) }),
      );
      expect(ingested).toEqual({ inserted: [`e1-${id}`], duplicates: [`e1-${id}`], unknownContact: [] });
      const [stored] = unwrap(await store.getContacts({ tenantId: tenant.id, ids: [id] }));
      expect(stored?.contact.emailOpens).toBe(1);
    });

    it('keeps the push ledger exactly-once: re-planning keeps acknowledged entries', async () => {
      const { store } = shared;
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

      // Planned again only while it is the entry marked sent then: another run's mark since is left alone.
      unwrap(await store.markPushSent({ ...ref, idempotencyKey: `k2-${id}`, now: at(6) }));
      unwrap(await store.markPushSent({ ...ref, idempotencyKey: `k2-${id}`, now: at(7) }));
      const unsentAt = (sentAt: Date) => store.markPushUnsent({ ...ref, idempotencyKey: `k2-${id}`, sentAt });
      expect(unwrap(await unsentAt(at(6)))).toMatchObject({ status: 'sent', sentAt: at(7) });
      expect(unwrap(await unsentAt(at(7)))).toMatchObject({ status: 'planned', sentAt: null });
    });

    it('quarantines bad inbound records by external id or payload hash', async () => {
      const { store } = shared;
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
      const { store } = shared;
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
      const committedAt = new Date(audit.finishedAt);
      expect(unwrap(await store.getConnection(ref))).toMatchObject({
        cursor,
        localCursor: 42,
        cursorCommittedAt: committedAt,
      });

      // A failed entry moves no cursor, nor when it was committed.
      const failed = auditBody({
        outcome: 'failed',
        errors: [{ status: 503, message: 'down', retry: true }],
        finishedAt: new Date(committedAt.getTime() + 500).toISOString(),
      });
      unwrap(await store.commitCycle({ ...ref, audit: failed }));
      expect(unwrap(await store.getConnection(ref))).toMatchObject({
        cursor,
        localCursor: 42,
        cursorCommittedAt: committedAt,
      });

      const page1 = unwrap(await store.listAudit({ tenantId: tenant.id, limit: 1 }));
      expect(page1.entries.map((e) => e.body.cycleId)).toEqual([failed.cycleId]);
      const page2 = unwrap(
        await store.listAudit({ tenantId: tenant.id, limit: 1, beforeId: page1.nextBeforeId ?? 0 }),
      );
      expect(page2).toMatchObject({ entries: [{ body: audit, provider: 'reapit' }], nextBeforeId: null });
      expect(unwrap(await store.listAudit({ tenantId: tenant.id, provider: 'alto' })).entries).toEqual([]);
      expect(unwrap(await store.listAudit({ tenantId: tenant.id, since: at(6) })).entries).toEqual([]);
    });

    it('tells which records a cycle staged, of a connection’s own cycle only', async () => {
      const { store } = shared;
      const { ref } = await tenantWithConnection(store);
      const other = await tenantWithConnection(store);
      const cycle = { ...ref, cycleId: randomUUID() };
      const staged = (externalId: string) => ({
        externalId,
        modified: T0.toISOString(),
        version: null,
        removed: externalId === 'R3',
        contact: contact({ lastName: externalId }),
        contentHash: `h-${externalId}`,
      });
      unwrap(await store.stageRecords({ ...cycle, records: ['R1', 'R3'].map(staged) }));
      unwrap(await store.stageRecords({ ...other.ref, cycleId: cycle.cycleId, records: [staged('R2')] }));
      const among = async (c: typeof cycle) =>
        unwrap(await store.stagedAmong({ ...c, externalIds: ['R1', 'R2', 'R3', 'R4'] })).sort((a, b) =>
          a.externalId.localeCompare(b.externalId),
        );
      // A record listed as removed may be gone (Street's trash is its delete): it is told apart from one listed live.
      expect(await among(cycle)).toEqual([
        { externalId: 'R1', removed: false },
        { externalId: 'R3', removed: true },
      ]);
      expect(await among({ ...cycle, cycleId: randomUUID() })).toEqual([]);
      expect(await among({ ...other.ref, cycleId: cycle.cycleId })).toEqual([
        { externalId: 'R2', removed: false },
      ]);
      expect(unwrap(await store.stagedAmong({ ...cycle, externalIds: [] }))).toEqual([]);
    });

    it('stages a record a page lists twice once, as its latest reading', async () => {
      const { store } = shared;
      const { ref } = await tenantWithConnection(store);
      const cycle = { ...ref, cycleId: randomUUID() };
      const reading = (lastName: string, modified: Date) => ({
        externalId: 'R1',
        modified: modified.toISOString(),
        version: null,
        removed: false,
        contact: contact({ lastName }),
        contentHash: `h-${lastName}`,
      });
      const later = new Date(T0.getTime() + 1000);
      unwrap(
        await store.stageRecords({ ...cycle, records: [reading('Newer', later), reading('Older', T0)] }),
      );
      const listed = unwrap(await store.listStaged({ ...cycle, afterExternalId: null, limit: 10 }));
      expect(listed.map((r) => [r.externalId, r.contact?.lastName])).toEqual([['R1', 'Newer']]);
    });

    it('keeps a cycle’s notes for its audit: checked when noted, counted and listed by the database', async () => {
      const { store } = shared;
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
            { kind: 'meta', key: 'inbound:A', body: { unchanged: 3, upserts: 2, plannedWrites: 1 } },
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
          notes: [
            { kind: 'duplicate', key: 'R9', body: duplicate(9) },
            // Neither is a write the CRM refused: writes held for want of the write tier, a failed phase.
            {
              kind: 'error',
              key: 'push:write_forbidden',
              body: { status: 403, message: 'held', retry: true },
            },
            {
              kind: 'error',
              key: 'pushing:2025-06-01T00:00:00.000Z',
              body: { status: 503, message: 'down', retry: true },
            },
          ],
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
      expect(unwrap(await store.cycleNoteTotals(cycle))).toEqual({
        created: 1,
        updated: 2,
        unchanged: 7,
        refused: 1,
        conflicts: 1,
        // Of the batch notes: `inbound:B`, noted by an earlier version, counts none.
        upserts: 2,
        plannedWrites: 1,
      });
      expect(unwrap(await store.cycleNoteTotals(otherCycle))).toEqual({
        created: 0,
        updated: 0,
        unchanged: 0,
        refused: 0,
        conflicts: 0,
        upserts: 0,
        plannedWrites: 0,
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
      const { store } = shared;
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
      const { store, database } = shared;
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
