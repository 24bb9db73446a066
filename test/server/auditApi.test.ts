import { describe, expect, it } from 'vitest';
import { commitDuplicatesAudit } from '../support/auditEntries.ts';
import { createApiFixture, useSharedStore } from './apiFixture.ts';

const store = useSharedStore();

/** A fixture whose tenant's newest audit entry lists 250 suppressed duplicates. */
async function withLargeEntry() {
  const f = await createApiFixture({ store: store() });
  const ref = { tenantId: f.h.tenantId, connectionId: f.h.connectionId };
  const { auditId, duplicates } = await commitDuplicatesAudit(f.h.store, ref, 250);
  return { f, auditId, duplicates, items: `${f.base}/audit/${auditId}/items` };
}

describe('admin API: audit entries with long lists', () => {
  it('cuts each list of each entry to `items` and counts the lists whole', async () => {
    const { f, duplicates } = await withLargeEntry();
    try {
      const itemCounts = { conflicts: 0, duplicatesSuppressed: 250, errors: 0 };
      const byDefault = await f.call('GET', `${f.base}/audit`);
      expect(byDefault.status).toBe(200);
      expect(byDefault.json.entries[0].itemCounts).toEqual(itemCounts);
      expect(byDefault.json.entries[0].body.duplicatesSuppressed).toEqual(duplicates.slice(0, 100));

      const two = await f.call('GET', `${f.base}/audit?items=2`);
      expect(two.json.entries[0].body.duplicatesSuppressed).toEqual(duplicates.slice(0, 2));
      const none = await f.call('GET', `${f.base}/audit?items=0`);
      expect(none.json.entries[0]).toMatchObject({ itemCounts, body: { duplicatesSuppressed: [] } });
    } finally {
      await f.close();
    }
  });

  it('pages through one list of an entry: every item once, in order, then a null nextOffset', async () => {
    const { f, duplicates, items } = await withLargeEntry();
    try {
      const first = await f.call('GET', `${items}/duplicatesSuppressed`);
      expect(first.status).toBe(200);
      expect(first.json).toEqual({ items: duplicates.slice(0, 100), total: 250, nextOffset: 100 });
      const rest = await f.call('GET', `${items}/duplicatesSuppressed?offset=100&limit=1000`);
      expect(rest.json).toEqual({ items: duplicates.slice(100), total: 250, nextOffset: null });
      const past = await f.call('GET', `${items}/duplicatesSuppressed?offset=9007199254740991`);
      expect(past.json).toEqual({ items: [], total: 250, nextOffset: null });
      const older = await f.call('GET', `${f.base}/audit?beforeId=9007199254740991&items=0`);
      expect(older.status).toBe(200);
      expect(older.json.entries).toHaveLength(1);
      const empty = await f.call('GET', `${items}/conflicts`);
      expect(empty.json).toEqual({ items: [], total: 0, nextOffset: null });
    } finally {
      await f.close();
    }
  });

  it('answers bad parameters with 400 and their issues, another tenant’s or an unknown entry with 404', async () => {
    const { f, auditId, items } = await withLargeEntry();
    try {
      const cases: Array<[string, string]> = [
        [`${f.base}/audit?items=201`, 'items'],
        [`${f.base}/audit?items=-1`, 'items'],
        [`${f.base}/audit/0/items/errors`, 'auditId'],
        [`${f.base}/audit/first/items/errors`, 'auditId'],
        [`${items}/warnings`, 'list'],
        [`${items}/errors?limit=0`, 'limit'],
        [`${items}/errors?limit=1001`, 'limit'],
        [`${items}/errors?offset=-1`, 'offset'],
        [`${items}/errors?offset=%201`, 'offset'],
        [`${f.base}/audit/0x1/items/errors`, 'auditId'],
        // One past the largest id and offset the API takes (2^53 - 1): refused by the range.
        [`${f.base}/audit/9007199254740992/items/errors`, 'auditId'],
        [`${items}/errors?offset=9007199254740992`, 'offset'],
        [`${f.base}/audit?beforeId=9007199254740992`, 'beforeId'],
        [`${items}/errors?page=2`, ''],
        [`/api/tenants/acme/audit/${auditId}/items/errors`, 'tenantId'],
      ];
      for (const [path, issuePath] of cases) {
        const response = await f.call('GET', path);
        expect(response.status, path).toBe(400);
        expect(response.json.error, path).toMatch(/^invalid (path|query)/);
        expect(Array.isArray(response.json.issues), path).toBe(true);
        if (issuePath !== '') {
          const paths = response.json.issues.map((i: { path: unknown[] }) => i.path.join('.'));
          expect(paths, path).toContain(issuePath);
        }
      }

      const other = await f.call('POST', '/api/tenants', { body: { name: 'Other Agency', interval: '15m' } });
      for (const path of [
        `/api/tenants/${other.json.tenant.id}/audit/${auditId}/items/duplicatesSuppressed`,
        `/api/tenants/00000000-0000-4000-8000-000000000000/audit/${auditId}/items/duplicatesSuppressed`,
        `${f.base}/audit/${auditId + 1_000_000}/items/duplicatesSuppressed`,
        // The largest id the API takes: 16 digits, a number like any other.
        `${f.base}/audit/9007199254740991/items/duplicatesSuppressed`,
      ]) {
        const response = await f.call('GET', path);
        expect(response.status, path).toBe(404);
        expect(response.json.error, path).toMatch(/^audit entry \d+ not found$/);
      }
    } finally {
      await f.close();
    }
  });
});
