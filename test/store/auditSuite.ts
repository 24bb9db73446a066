import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditItemsPage, AuditItemsQuery } from '../../src/persistence/audit.ts';
import { PRUNE_BATCH_ENTRIES } from '../../src/persistence/sql/audit.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { type Backend, type TestDatabase, unwrap } from './backends.ts';
import { at, auditBody, tenantWithConnection } from './fixtures.ts';

const duplicate = (n: number) => ({ incoming: `R${n}`, matched: `M${n}`, reason: `same e-mail ${n}` });
const conflict = (n: number) => ({
  contactId: randomUUID(),
  field: 'email',
  crm: `crm${n}@x.test`,
  local: `local${n}@x.test`,
  winner: 'crm' as const,
});
const error = (n: number) => ({ status: 503, message: `down ${n}`, retry: true });

/** An entry with 3 conflicts, 250 duplicates and 2 errors, committed for a new tenant. */
async function largeEntry(store: StoreHandle) {
  const { tenant, ref } = await tenantWithConnection(store);
  const body = auditBody({
    conflicts: [1, 2, 3].map(conflict),
    duplicatesSuppressed: Array.from({ length: 250 }, (_, n) => duplicate(n)),
    errors: [1, 2].map(error),
  });
  const { auditId } = unwrap(await store.commitCycle({ ...ref, audit: body }));
  return { tenant, ref, body, auditId };
}

/** Reading the audit log in bounded pieces: lists cut in the database, and paged one list at a time. */
export function describeStoreAudit(name: string, backend: () => Backend) {
  describe(`store on ${name}: reading large audit entries`, () => {
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

    it('cuts each list of each entry to its first itemsPerList items and counts the lists whole', async () => {
      const { tenant, ref, body } = await largeEntry(store);
      const small = auditBody({ errors: [error(9)] });
      unwrap(await store.commitCycle({ ...ref, audit: small }));
      const counts = { conflicts: 3, duplicatesSuppressed: 250, errors: 2 };

      const [smallEntry, largeByDefault] = unwrap(await store.listAudit({ tenantId: tenant.id })).entries;
      expect(smallEntry).toMatchObject({
        body: small,
        itemCounts: { conflicts: 0, duplicatesSuppressed: 0, errors: 1 },
      });
      expect(largeByDefault).toMatchObject({
        body: { ...body, duplicatesSuppressed: body.duplicatesSuppressed.slice(0, 100) },
        itemCounts: counts,
      });

      const [, cutToTwo] = unwrap(await store.listAudit({ tenantId: tenant.id, itemsPerList: 2 })).entries;
      expect(cutToTwo?.body).toEqual({
        ...body,
        conflicts: body.conflicts.slice(0, 2),
        duplicatesSuppressed: body.duplicatesSuppressed.slice(0, 2),
      });
      expect(cutToTwo?.itemCounts).toEqual(counts);

      const [, countsOnly] = unwrap(await store.listAudit({ tenantId: tenant.id, itemsPerList: 0 })).entries;
      expect(countsOnly?.body).toEqual({ ...body, conflicts: [], duplicatesSuppressed: [], errors: [] });
      expect(countsOnly?.itemCounts).toEqual(counts);
    });

    it('pages through one list of an entry in its order, to a null nextOffset', async () => {
      const { tenant, body, auditId } = await largeEntry(store);
      const list = { tenantId: tenant.id, auditId, list: 'duplicatesSuppressed' } as const;
      const pages: AuditItemsPage[] = [];
      for (let offset: number | null = 0; offset !== null; ) {
        const page: AuditItemsPage = unwrap(await store.listAuditItems({ ...list, offset, limit: 100 }));
        pages.push(page);
        offset = page.nextOffset;
      }
      expect(pages.map((p) => [p.items.length, p.total, p.nextOffset])).toEqual([
        [100, 250, 100],
        [100, 250, 200],
        [50, 250, null],
      ]);
      expect(pages.flatMap((p) => p.items)).toEqual(body.duplicatesSuppressed);

      expect(unwrap(await store.listAuditItems({ ...list, offset: 1000 }))).toEqual({
        items: [],
        total: 250,
        nextOffset: null,
      });
      expect(unwrap(await store.listAuditItems({ ...list, list: 'conflicts' }))).toEqual({
        items: body.conflicts,
        total: 3,
        nextOffset: null,
      });
      expect(unwrap(await store.listAuditItems({ ...list, list: 'errors', offset: 1, limit: 1 }))).toEqual({
        items: body.errors.slice(1),
        total: 2,
        nextOffset: null,
      });
    });

    it("answers not_found for another tenant's entry and an unknown one, invalid_input for bad queries", async () => {
      const { tenant, auditId } = await largeEntry(store);
      const other = await tenantWithConnection(store);
      const query = { tenantId: tenant.id, auditId, list: 'errors' } as const;
      for (const ref of [{ tenantId: other.tenant.id }, { auditId: auditId + 1_000_000 }]) {
        expect(await store.listAuditItems({ ...query, ...ref })).toEqual({
          ok: false,
          error: { kind: 'not_found', message: `audit entry ${ref.auditId ?? auditId} not found` },
        });
      }

      const bad: Array<[Partial<Record<keyof AuditItemsQuery, unknown>>, string]> = [
        [{ list: 'warnings' }, 'list'],
        [{ limit: 0 }, 'limit'],
        [{ limit: 1001 }, 'limit'],
        [{ offset: -1 }, 'offset'],
        [{ offset: 1.5 }, 'offset'],
        [{ auditId: 0 }, 'auditId'],
        [{ tenantId: 'acme' }, 'tenantId'],
      ];
      for (const [change, path] of bad) {
        const refused = await store.listAuditItems({ ...query, ...change } as AuditItemsQuery);
        expect(refused, path).toMatchObject({ ok: false, error: { kind: 'invalid_input' } });
        if (!refused.ok) expect(refused.error.message, path).toMatch(new RegExp(`^${path}: `));
      }
      for (const itemsPerList of [-1, 1001]) {
        expect(await store.listAudit({ tenantId: tenant.id, itemsPerList })).toMatchObject({
          ok: false,
          error: { kind: 'invalid_input', message: expect.stringMatching(/^itemsPerList: /) },
        });
      }
    });
  });

  describe(`store on ${name}: pruning the audit log`, () => {
    it("removes entries finished before the date with their items, never a connection's latest", async () => {
      const database = await backend().createDatabase();
      const store = unwrap(await database.open());
      try {
        const finishing = (seconds: number, overrides: Parameters<typeof auditBody>[0] = {}) =>
          auditBody({ finishedAt: at(seconds).toISOString(), ...overrides });
        const agency = await tenantWithConnection(store);
        const alto = unwrap(
          await store.addConnection({
            tenantId: agency.tenant.id,
            provider: 'alto',
            baseUrl: 'https://alto.example.test/api',
            credentials: { clientId: 'id-2', clientSecret: 'secret-2' },
            nextRunAt: at(0),
          }),
        );
        const other = await tenantWithConnection(store);
        const withItems = finishing(10, { conflicts: [conflict(1)], errors: [error(1), error(2)] });
        const reapitIds: number[] = [];
        for (const body of [finishing(5), withItems, finishing(20)]) {
          reapitIds.push(unwrap(await store.commitCycle({ ...agency.ref, audit: body })).auditId);
        }
        // Alto's one entry is its latest, however old.
        unwrap(
          await store.commitCycle({ tenantId: agency.tenant.id, connectionId: alto.id, audit: finishing(5) }),
        );
        for (const seconds of [5, 10]) {
          unwrap(await store.commitCycle({ ...other.ref, audit: finishing(seconds) }));
        }
        const entriesOf = async (tenantId: string) =>
          unwrap(await store.listAudit({ tenantId })).entries.map((e) => e.id);
        const agencyBefore = await entriesOf(agency.tenant.id);
        const expected = [
          {
            tenantId: agency.tenant.id,
            connectionId: agency.ref.connectionId,
            provider: 'reapit',
            entries: 2,
            items: 3,
            oldestFinishedAt: at(5),
            newestFinishedAt: at(10),
          },
        ];

        const query = { before: at(15), tenantId: agency.tenant.id };
        expect(unwrap(await store.pruneAudit({ ...query, dryRun: true }))).toEqual(expected);
        expect(await entriesOf(agency.tenant.id)).toEqual(agencyBefore);

        expect(unwrap(await store.pruneAudit(query))).toEqual(expected);
        expect(await entriesOf(agency.tenant.id)).toEqual(
          agencyBefore.filter((id) => id > (reapitIds[1] ?? 0)),
        );
        expect(
          await store.listAuditItems({
            tenantId: agency.tenant.id,
            auditId: reapitIds[1] ?? 0,
            list: 'errors',
          }),
        ).toMatchObject({ ok: false, error: { kind: 'not_found' } });
        expect(await database.raw('SELECT count(*)::int AS n FROM audit_items')).toEqual([{ n: 0 }]);
        expect(await entriesOf(other.tenant.id)).toHaveLength(2);
        expect(unwrap(await store.pruneAudit(query))).toEqual([]);

        // Every tenant, any date: each connection keeps its latest entry.
        const everything = unwrap(await store.pruneAudit({ before: at(1_000_000) }));
        expect(everything.map(({ tenantId, entries }) => ({ tenantId, entries }))).toEqual([
          { tenantId: other.tenant.id, entries: 1 },
        ]);
        const left = await database.raw(
          'SELECT connection_id AS "connectionId", count(*)::int AS n FROM audit_log GROUP BY connection_id',
        );
        expect(left).toHaveLength(3);
        expect(left.every((row) => row.n === 1)).toBe(true);

        expect(await store.pruneAudit({ before: at(1), tenantId: 'acme' })).toMatchObject({
          ok: false,
          error: { kind: 'invalid_input', message: expect.stringMatching(/^tenantId: /) },
        });
      } finally {
        await store.close();
        await database.drop();
      }
    });

    it("keeps a connection's latest completed entry under failed ones: a reset reads it to tell a cycle completed", async () => {
      const database = await backend().createDatabase();
      const store = unwrap(await database.open());
      try {
        const { ref } = await tenantWithConnection(store);
        const commit = async (seconds: number, outcome: 'completed' | 'failed') =>
          unwrap(
            await store.commitCycle({
              ...ref,
              audit: auditBody({ finishedAt: at(seconds).toISOString(), outcome }),
            }),
          ).auditId;
        await commit(1, 'completed');
        const completed = await commit(5, 'completed');
        // Failed runs' entries after it, while a snapshot waits for reset (`completedEntry`).
        const failed = [await commit(10, 'failed'), await commit(20, 'failed')];

        const pruned = unwrap(await store.pruneAudit({ before: at(30) }));
        expect(pruned.map(({ entries }) => entries)).toEqual([2]);
        const left = unwrap(await store.listAudit({ tenantId: ref.tenantId })).entries.map((e) => e.id);
        expect(left).toEqual([failed[1], completed]);
      } finally {
        await store.close();
        await database.drop();
      }
    });
  });

  describe(`store on ${name}: pruning a long audit log`, () => {
    it('removes it in batches of PRUNE_BATCH_ENTRIES, each its own transaction, and counts them as one', async () => {
      const database = await backend().createDatabase();
      const store = unwrap(await database.open());
      try {
        const agency = await tenantWithConnection(store);
        const other = await tenantWithConnection(store);
        const withItems = auditBody({
          finishedAt: at(5).toISOString(),
          conflicts: [conflict(1)],
          errors: [error(1), error(2)],
        });
        unwrap(await store.commitCycle({ ...agency.ref, audit: withItems }));
        // Over two batches of the agency's entries, every third one the other tenant's, so batches mix them.
        const bulk = 2 * PRUNE_BATCH_ENTRIES + 700;
        await database.raw(
          `INSERT INTO audit_log (tenant_id, connection_id, provider, cycle_id, outcome, started_at, finished_at, body)
           SELECT t.tenant_id, t.connection_id, 'reapit', 'bulk-' || n, 'completed', $5::timestamptz, $5::timestamptz + n * interval '1 second', '{}'
           FROM generate_series(1, $6::int) n,
             LATERAL (SELECT CASE WHEN n % 3 = 0 THEN $3::uuid ELSE $1::uuid END AS tenant_id,
                             CASE WHEN n % 3 = 0 THEN $4::uuid ELSE $2::uuid END AS connection_id) t`,
          [
            agency.ref.tenantId,
            agency.ref.connectionId,
            other.ref.tenantId,
            other.ref.connectionId,
            at(10),
            bulk,
          ],
        );
        for (const { ref } of [agency, other]) {
          unwrap(
            await store.commitCycle({ ...ref, audit: auditBody({ finishedAt: at(100_000).toISOString() }) }),
          );
        }
        // Each DELETE of audit_log noted with its transaction and how many entries it removed.
        await database.raw('CREATE TABLE prune_statements (xid bigint NOT NULL, removed int NOT NULL)');
        await database.raw(`CREATE FUNCTION note_prune() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN INSERT INTO prune_statements SELECT txid_current(), count(*) FROM gone; RETURN NULL; END $$`);
        await database.raw(`CREATE TRIGGER note_prune AFTER DELETE ON audit_log REFERENCING OLD TABLE AS gone
          FOR EACH STATEMENT EXECUTE FUNCTION note_prune()`);

        const lastBulk = (third: boolean) =>
          Array.from({ length: bulk }, (_, i) => i + 1)
            .filter((n) => (n % 3 === 0) === third)
            .at(-1) ?? 0;
        const agencyEntries = bulk - Math.floor(bulk / 3) + 1;
        const query = { before: at(50_000), tenantId: agency.tenant.id };
        const expected = [
          {
            tenantId: agency.tenant.id,
            connectionId: agency.ref.connectionId,
            provider: 'reapit',
            entries: agencyEntries,
            items: 3,
            oldestFinishedAt: at(5),
            newestFinishedAt: at(10 + lastBulk(false)),
          },
        ];
        expect(unwrap(await store.pruneAudit({ ...query, dryRun: true }))).toEqual(expected);
        expect(unwrap(await store.pruneAudit(query))).toEqual(expected);

        const statements = await database.raw('SELECT xid::text, removed FROM prune_statements');
        expect(statements.length).toBe(Math.ceil(agencyEntries / PRUNE_BATCH_ENTRIES));
        expect(new Set(statements.map((s) => s.xid)).size).toBe(statements.length);
        expect(statements.every((s) => Number(s.removed) <= PRUNE_BATCH_ENTRIES)).toBe(true);
        expect(statements.reduce((sum, s) => sum + Number(s.removed), 0)).toBe(agencyEntries);
        expect(unwrap(await store.listAudit({ tenantId: agency.tenant.id })).entries).toHaveLength(1);
        expect(await database.raw('SELECT count(*)::int AS n FROM audit_items')).toEqual([{ n: 0 }]);

        const everything = unwrap(await store.pruneAudit({ before: at(50_000) }));
        expect(everything).toEqual([
          {
            tenantId: other.tenant.id,
            connectionId: other.ref.connectionId,
            provider: 'reapit',
            entries: Math.floor(bulk / 3),
            items: 0,
            oldestFinishedAt: at(13),
            newestFinishedAt: at(10 + lastBulk(true)),
          },
        ]);
        const left = await database.raw('SELECT connection_id AS "connectionId" FROM audit_log ORDER BY id');
        expect(left.map((row) => row.connectionId)).toEqual([
          agency.ref.connectionId,
          other.ref.connectionId,
        ]);
      } finally {
        await store.close();
        await database.drop();
      }
    });
  });

  describe(`store on ${name}: audit entries written before their lists were rows`, () => {
    it('moves the lists of an existing entry into rows, in order, with their counts', async () => {
      const database = await backend().createDatabase();
      try {
        const before = unwrap(await database.open());
        const { tenant, ref } = await tenantWithConnection(before);
        const body = auditBody({
          conflicts: [conflict(1)],
          duplicatesSuppressed: Array.from({ length: 5 }, (_, n) => duplicate(n)),
          errors: [error(1), error(2)],
        });
        // The schema as the previous version left it, holding one entry with its lists in the body.
        await database.raw('DROP TABLE audit_items');
        await database.raw(
          'ALTER TABLE audit_log DROP COLUMN conflict_count, DROP COLUMN duplicate_count, DROP COLUMN error_count',
        );
        await database.raw(`DELETE FROM schema_migrations WHERE name = 'audit_items'`);
        await database.raw(
          `INSERT INTO audit_log (tenant_id, connection_id, provider, cycle_id, outcome, started_at, finished_at, body)
           VALUES ($1, $2, 'reapit', $3, 'completed', $4, $5, $6::jsonb)`,
          [
            ref.tenantId,
            ref.connectionId,
            body.cycleId,
            body.startedAt,
            body.finishedAt,
            JSON.stringify(body),
          ],
        );
        await before.close();

        const after = unwrap(await database.open());
        try {
          const [entry] = unwrap(await after.listAudit({ tenantId: tenant.id, itemsPerList: 2 })).entries;
          expect(entry).toMatchObject({
            body: { ...body, duplicatesSuppressed: body.duplicatesSuppressed.slice(0, 2) },
            itemCounts: { conflicts: 1, duplicatesSuppressed: 5, errors: 2 },
          });
          const page = unwrap(
            await after.listAuditItems({
              tenantId: tenant.id,
              auditId: entry?.id ?? 0,
              list: 'duplicatesSuppressed',
              offset: 3,
            }),
          );
          expect(page).toEqual({ items: body.duplicatesSuppressed.slice(3), total: 5, nextOffset: null });
        } finally {
          await after.close();
        }
      } finally {
        await database.drop();
      }
    });
  });
}
