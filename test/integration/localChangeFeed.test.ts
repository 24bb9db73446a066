import { describe, expect, it } from 'vitest';
import { unwrap } from '../store/backends.ts';
import { createSyncHarness } from '../support/syncHarness.ts';

describe("a connection's local change feed", () => {
  it('skips what its own reconcile wrote, and still carries a NurtureHub edit to the CRM', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 120, seed: 21 } });
    try {
      const changesFor = async () => {
        const upToSeq = unwrap(await h.store.localChangeHighWater({ tenantId: h.tenantId }));
        const range = { tenantId: h.tenantId, afterSeq: 0, upToSeq, limit: 1_000 };
        const forConnection = unwrap(
          await h.store.listLocalChanges({ ...range, connectionId: h.connectionId }),
        );
        return {
          forConnection: forConnection.map((c) => c.id),
          all: unwrap(await h.store.listLocalChanges(range)),
        };
      };
      expect(unwrap(await h.run()).state).toBe('idle');
      const afterInitial = await changesFor();
      // Every contact came from this CRM: none is a change the next cycle must read back and push.
      expect(afterInitial.all.length).toBeGreaterThan(100);
      expect(afterInitial.forConnection).toEqual([]);

      await h.sim.control.edits({ count: 5, seed: 3 });
      expect(unwrap(await h.run()).state).toBe('idle');
      expect((await changesFor()).forConnection).toEqual([]);

      const [target] = afterInitial.all;
      if (target === undefined) throw new Error('no contact');
      const edited = { ...target.contact, firstName: 'Philippa' };
      unwrap(
        await h.store.upsertContacts({
          tenantId: h.tenantId,
          contacts: [{ id: target.id, contact: edited }],
          now: new Date(),
        }),
      );
      expect((await changesFor()).forConnection).toEqual([target.id]);

      expect(unwrap(await h.run()).state).toBe('idle');
      const [link] = unwrap(await h.store.getLinksByContactIds({ ...h, contactIds: [target.id] }));
      const record = (await h.sim.control.records()).find(
        (r) => (r as { id: string }).id === link?.externalId,
      ) as { forename?: string } | undefined;
      expect(record?.forename).toBe('Philippa');
    } finally {
      await h.close();
    }
  });
});
