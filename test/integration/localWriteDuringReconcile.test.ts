import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { afterNextRead } from '../support/afterNextRead.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

describe('a NurtureHub write while a cycle reconciles the same contact', () => {
  it('is kept, merged with the CRM edit, and reaches the CRM', async () => {
    const store = must(await openMemoryStore());
    const interleave = afterNextRead(store);
    const h = await createSyncHarness('reapit', {
      store: interleave.store,
      simulator: { contacts: 5, seed: 3 },
    });
    try {
      const { tenantId } = h;
      await auditedCycle(h);
      const [person] = must(await store.listContacts({ tenantId, limit: 10 })).filter(
        (c) => c.links.length === 1,
      );
      const link = person?.links[0];
      if (person === undefined || link === undefined) throw new Error('no linked contact');

      // The agency edits the person in Reapit ...
      const reapit = agencyClient('reapit', h.sim);
      const edited = await reapit.update({
        externalId: link.externalId,
        patch: { title: 'Dame' },
        version: link.remoteVersion,
      });
      expect(edited.ok).toBe(true);

      // ... and while the next cycle reconciles that edit, NurtureHub records an open of the person's e-mail.
      const opens = person.contact.emailOpens;
      interleave.between(person.id, async () => {
        const ingested = must(
          await store.ingestEngagementEvents({
            tenantId,
            events: [
              {
                eventId: randomUUID(),
                contactId: person.id,
                kind: 'email_open',
                occurredAt: new Date().toISOString(),
              },
            ],
            now: new Date(),
          }),
        );
        expect(ingested.inserted).toHaveLength(1);
      });
      await auditedCycle(h);

      const [after] = must(await store.getContacts({ tenantId, ids: [person.id] }));
      expect(after?.contact.title).toBe('Dame');
      expect(after?.contact.emailOpens).toBe(opens + 1);

      // The open reaches Reapit, and then both sides rest.
      await auditedCycle(h);
      const inReapit = (await h.sim.control.records()).find(
        (r) => (r as { id: string }).id === link.externalId,
      );
      expect(inReapit).toMatchObject({ title: 'Dame', metadata: { nurturehub: { emailOpens: opens + 1 } } });
      const quiet = await auditedCycle(h);
      expect(quiet?.written).toMatchObject({ created: 0, updated: 0 });
    } finally {
      await h.close();
      await store.close();
    }
  });
});

describe('a contact that changes in NurtureHub every time a cycle reads it', () => {
  it('makes the reconcile back off after a few tries instead of merging it again forever', async () => {
    const store = must(await openMemoryStore());
    const interleave = afterNextRead(store);
    const h = await createSyncHarness('reapit', {
      store: interleave.store,
      simulator: { contacts: 5, seed: 3 },
    });
    try {
      const { tenantId } = h;
      await auditedCycle(h);
      const [person] = must(await store.listContacts({ tenantId, limit: 10 })).filter(
        (c) => c.links.length === 1,
      );
      const link = person?.links[0];
      if (person === undefined || link === undefined) throw new Error('no linked contact');
      const reapit = agencyClient('reapit', h.sim);
      expect(
        (
          await reapit.update({
            externalId: link.externalId,
            patch: { title: 'Dame' },
            version: link.remoteVersion,
          })
        ).ok,
      ).toBe(true);

      // An open lands after every read of the person: no try of the batch can write it as read.
      let opensRecorded = 0;
      const openAfterRead = async () => {
        must(
          await store.ingestEngagementEvents({
            tenantId,
            events: [
              {
                eventId: randomUUID(),
                contactId: person.id,
                kind: 'email_open',
                occurredAt: new Date().toISOString(),
              },
            ],
            now: new Date(),
          }),
        );
        opensRecorded += 1;
        interleave.between(person.id, openAfterRead);
      };
      interleave.between(person.id, openAfterRead);
      const outcome = must(await h.run());
      expect(outcome.state).toBe('backoff');
      expect(outcome.context.lastError).toMatchObject({
        kind: 'transient',
        phase: 'reconciling',
        message: expect.stringMatching(/changed in NurtureHub while it was merged, 5 times running/),
      });
      expect(opensRecorded).toBe(5);
      // Nothing of the batch was written over the opens.
      const [after] = must(await store.getContacts({ tenantId, ids: [person.id] }));
      expect(after?.contact.emailOpens).toBe(person.contact.emailOpens + 5);
    } finally {
      await h.close();
      await store.close();
    }
  });
});
