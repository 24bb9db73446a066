import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { matchKeys } from '../../src/core/dedup/blocking.ts';
import { toMatchRecord } from '../../src/core/dedup/matchRecord.ts';
import { MATCH_RECORD_VERSION } from '../../src/core/dedup/storedMatchRecord.ts';
import { matchRecordVersionSql } from '../../src/persistence/sql/matchVersions.ts';
import { type SharedDatabase, unwrap } from './backends.ts';
import { contact, T0, tenantWithConnection } from './fixtures.ts';

/** Match records and keys stored by an older normalisation, brought up to date: cases of `describeStoreData`. */
export function matchVersionCases(shared: SharedDatabase) {
  it('normalises again, a batch at a time, the contacts whose match record is of an older version', async () => {
    const { store, database } = shared;
    const { tenant } = await tenantWithConnection(store);
    const other = await tenantWithConnection(store);
    const [old, none, current, elsewhere] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const amira = contact({ firstName: 'Am\u200Bira', lastName: 'Okafor' });
    const written = unwrap(
      await store.upsertContacts({
        tenantId: tenant.id,
        contacts: [old, none, current].map((id) => ({ id, contact: amira })),
        now: T0,
      }),
    );
    unwrap(
      await store.upsertContacts({
        tenantId: other.tenant.id,
        contacts: [{ id: elsewhere, contact: amira }],
        now: T0,
      }),
    );
    // As version 1 left them: a record of its version, keys of its folding (`Am ira`).
    const oldKeys = matchKeys(toMatchRecord(old, { ...amira, firstName: 'Am ira' }));
    unwrap(
      await store.replaceMatchKeys({ tenantId: tenant.id, entries: [{ contactId: old, keys: oldKeys }] }),
    );
    await database.raw(
      `UPDATE contacts SET match_record = replace(match_record, '{"v":${MATCH_RECORD_VERSION},', '{"v":1,')
      WHERE id = ANY($1::uuid[])`,
      [[old, elsewhere]],
    );
    await database.raw('UPDATE contacts SET match_record = NULL WHERE id = $1', [none]);

    const refresh = async (limit: number) =>
      unwrap(await store.refreshMatchKeys({ tenantId: tenant.id, limit })).refreshed;
    expect(await refresh(1)).toBe(1);
    // Two callers at once (two processes on PostgreSQL) refresh the one left once between them.
    expect((await Promise.all([refresh(10), refresh(10)])).sort()).toEqual([0, 1]);
    expect(await refresh(10)).toBe(0);

    const newKeys = matchKeys(toMatchRecord(old, amira));
    expect(newKeys).toContain('name:AKFR|AMR');
    expect(oldKeys).not.toContain('name:AKFR|AMR');
    const holders = unwrap(
      await store.findCandidates({ tenantId: tenant.id, keys: [...oldKeys, ...newKeys] }),
    );
    expect(holders.filter((h) => h.contactIds.includes(old)).map((h) => h.key)).toEqual([...newKeys].sort());
    expect(holders.filter((h) => h.contactIds.includes(none)).map((h) => h.key)).toEqual([...newKeys].sort());
    const records = unwrap(await store.getMatchRecords({ tenantId: tenant.id, ids: [old, none, current] }));
    expect(records.map((r) => r.matchRecord?.firstName)).toEqual(['amira', 'amira', 'amira']);
    // The documents are as they were: nothing to sync.
    expect(records.map((r) => [r.id, r.changeSeq]).sort()).toEqual(Object.entries(written.changeSeqs).sort());
    // Another tenant's contacts wait for that tenant.
    expect(unwrap(await store.refreshMatchKeys({ tenantId: other.tenant.id, limit: 10 })).refreshed).toBe(1);
  });

  it('finds the outdated contacts of a tenant by an index', async () => {
    const { store, database } = shared;
    const { tenant } = await tenantWithConnection(store);
    await database.raw('SET enable_seqscan = off');
    try {
      const plan = await database.raw(
        `EXPLAIN SELECT 1 FROM contacts WHERE tenant_id = $1 AND ${matchRecordVersionSql} < $2 LIMIT 1`,
        [tenant.id, MATCH_RECORD_VERSION],
      );
      expect(JSON.stringify(plan)).toContain('contacts_match_record_version_idx');
    } finally {
      await database.raw('RESET enable_seqscan');
    }
  });
}
