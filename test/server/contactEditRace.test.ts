import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { afterNextRead } from '../support/afterNextRead.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { must } from '../support/syncHarness.ts';
import { createApiFixture } from './apiFixture.ts';

/**
 * `PATCH …/contacts/:id` read the contact, applied the merge patch and wrote it back whole: an engagement event
 * (or a cycle) landing between the read and the write was overwritten, the open gone from the contact's totals.
 * The write now checks the change number it read and applies the patch again to what the contact then holds.
 */
describe('an edit through the admin API while the contact changes', () => {
  it('keeps both: the edited field and the open recorded between its read and its write', async () => {
    const store = must(await openMemoryStore());
    const interleave = afterNextRead(store);
    const f = await createApiFixture({ store: interleave.store, contacts: 5 });
    try {
      const contact = await f.syncedContact();
      const opens: number = contact.contact.emailOpens;
      const openRecorded = async () => {
        must(
          await store.ingestEngagementEvents({
            tenantId: f.h.tenantId,
            events: [
              {
                eventId: randomUUID(),
                contactId: contact.id,
                kind: 'email_open',
                occurredAt: new Date().toISOString(),
              },
            ],
            now: new Date(),
          }),
        );
      };
      interleave.between(contact.id, openRecorded);
      const edited = await f.call('PATCH', `${f.base}/contacts/${contact.id}`, { body: { intentScore: 77 } });
      expect(edited.status).toBe(200);
      expect(edited.json.contact.contact).toMatchObject({ intentScore: 77, emailOpens: opens + 1 });
      const [stored] = must(await store.getContacts({ tenantId: f.h.tenantId, ids: [contact.id] }));
      expect(stored?.contact).toMatchObject({ intentScore: 77, emailOpens: opens + 1 });
    } finally {
      await f.close();
      await store.close();
    }
  });

  it('answers 409 when the contact changes between every read and write, and writes nothing', async () => {
    const store = must(await openMemoryStore());
    const interleave = afterNextRead(store);
    const f = await createApiFixture({ store: interleave.store, contacts: 5 });
    try {
      const contact = await f.syncedContact();
      const before: number = contact.contact.intentScore;
      const keepChanging = async () => {
        must(
          await store.ingestEngagementEvents({
            tenantId: f.h.tenantId,
            events: [
              {
                eventId: randomUUID(),
                contactId: contact.id,
                kind: 'email_click',
                occurredAt: new Date().toISOString(),
              },
            ],
            now: new Date(),
          }),
        );
        interleave.between(contact.id, keepChanging);
      };
      interleave.between(contact.id, keepChanging);
      const edited = await f.call('PATCH', `${f.base}/contacts/${contact.id}`, {
        body: { intentScore: before + 1 },
      });
      expect(edited.status).toBe(409);
      interleave.between('none', async () => {});
      const [stored] = must(await store.getContacts({ tenantId: f.h.tenantId, ids: [contact.id] }));
      expect(stored?.contact.intentScore).toBe(before);
    } finally {
      await f.close();
      await store.close();
    }
  });
});
