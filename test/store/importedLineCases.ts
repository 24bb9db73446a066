import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { type SharedDatabase, unwrap } from './backends.ts';
import { contact, T0, tenantWithConnection } from './fixtures.ts';

/**
 * The `contact import` lines remembered as folded into a contact (`imported_lines`): what keeps a line imported
 * again, or tomorrow's export of a lead, from bringing back a score or enrolment an agent removed. Cases of
 * `describeStoreData`, so that both backends answer the same.
 */
export function importedLineCases(shared: SharedDatabase) {
  it('remembers the lines folded into a contact, per tenant; a line recorded again keeps its first contact', async () => {
    const { store } = shared;
    const { tenant } = await tenantWithConnection(store);
    const [ann, bob] = [randomUUID(), randomUUID()];
    unwrap(
      await store.upsertContacts({
        tenantId: tenant.id,
        contacts: [
          { id: ann, contact: contact({ firstName: 'Ann' }) },
          { id: bob, contact: contact({ firstName: 'Bob' }) },
        ],
        now: T0,
      }),
    );
    const [first, second, never] = [randomUUID(), randomUUID(), randomUUID()];
    unwrap(
      await store.recordFoldedImportLines({
        tenantId: tenant.id,
        lines: [
          { lineId: first, contactId: ann },
          { lineId: second, contactId: ann },
        ],
      }),
    );
    // The same line folded again, into another contact: the first contact stays the line's.
    unwrap(
      await store.recordFoldedImportLines({
        tenantId: tenant.id,
        lines: [{ lineId: first, contactId: bob }],
      }),
    );

    const folded = unwrap(
      await store.getFoldedImportLines({ tenantId: tenant.id, lineIds: [first, second, never] }),
    );
    expect(folded.sort((a, b) => a.lineId.localeCompare(b.lineId))).toEqual(
      [
        { lineId: first, contactId: ann },
        { lineId: second, contactId: ann },
      ].sort((a, b) => a.lineId.localeCompare(b.lineId)),
    );
    expect(unwrap(await store.getFoldedImportLines({ tenantId: tenant.id, lineIds: [] }))).toEqual([]);

    // Another tenant neither sees these lines nor may record one against a contact it does not have.
    const other = await tenantWithConnection(store);
    expect(
      unwrap(await store.getFoldedImportLines({ tenantId: other.tenant.id, lineIds: [first, second] })),
    ).toEqual([]);
    const refused = await store.recordFoldedImportLines({
      tenantId: other.tenant.id,
      lines: [{ lineId: randomUUID(), contactId: ann }],
    });
    expect(refused).toMatchObject({ ok: false, error: { kind: 'not_found' } });
    const malformed = await store.getFoldedImportLines({ tenantId: tenant.id, lineIds: ['not-a-uuid'] });
    expect(malformed).toMatchObject({ ok: false });
  });
}
