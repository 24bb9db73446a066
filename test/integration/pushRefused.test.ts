import { describe, expect, it } from 'vitest';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/** A Street tenant after its first cycle, with the person Street keeps in its trash and a way to rename it here. */
async function trashedPerson() {
  const h = await createSyncHarness('street', { simulator: { contacts: 30, seed: 5 } });
  const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
  await auditedCycle(h);
  const raws = (await h.sim.control.records()) as Array<{
    id: string;
    attributes: { deleted_at: string | null };
  }>;
  const trashed = raws.find((r) => r.attributes.deleted_at !== null);
  if (trashed === undefined) throw new Error('the seed holds no trashed person');
  const [link] = must(await h.store.getLinksByExternalIds({ ...ref, externalIds: [trashed.id] }));
  if (link === undefined) throw new Error('the trashed person was not linked');
  const renameLocally = async (firstName: string) => {
    const [stored] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [link.contactId] }));
    if (stored === undefined) throw new Error('no local contact');
    must(
      await h.store.upsertContacts({
        tenantId: h.tenantId,
        contacts: [{ id: stored.id, contact: { ...stored.contact, firstName } }],
        now: new Date(),
      }),
    );
  };
  return { h, renameLocally };
}

/**
 * A write the CRM refuses for good — here a 404, Street's answer for a person in the trash — is noted as not
 * retried and is not planned again by the next cycle (nothing in the CRM changes to make it succeed); a later
 * change of the contact plans it again.
 */
describe('a write the CRM refuses with 404', () => {
  it('is noted as not retried, skipped by the next cycle, and planned again when the contact changes', async () => {
    const { h, renameLocally } = await trashedPerson();
    try {
      const cycle = () => auditedCycle(h);
      await renameLocally('Renamed');
      const refused = await cycle();
      expect(refused?.errors).toEqual([
        {
          status: 404,
          message: expect.stringMatching(
            /refused; sent again when the contact changes: Street has no such record \(deleted, trashed or merged into another\): not_found/,
          ),
          retry: false,
        },
      ]);

      const next = await cycle();
      expect(next?.errors).toEqual([]);
      expect(next?.written).toMatchObject({ created: 0, updated: 0 });

      await renameLocally('Renamed again');
      const again = await cycle();
      expect(again?.errors).toEqual([expect.objectContaining({ status: 404, retry: false })]);
    } finally {
      await h.close();
    }
  });

  it('is counted deferred by the cycle when its push is resumed after the process stopped', async () => {
    const { h, renameLocally } = await trashedPerson();
    try {
      await renameLocally('Renamed');
      // The process stops once the refusal is recorded, before the push phase reports: the next run resumes it.
      const stopping = new AbortController();
      h.deps.stopping = stopping.signal;
      h.deps.onPushProgress = () => stopping.abort();
      const stopped = await h.run();
      expect(stopped).toMatchObject({ ok: false, error: { kind: 'stopping' } });
      delete h.deps.stopping;
      delete h.deps.onPushProgress;

      const resumed = must(await h.run());
      expect(resumed.state).toBe('idle');
      expect(resumed.context.lastAudit?.counts).toMatchObject({ sent: 0, deferred: 1 });
    } finally {
      await h.close();
    }
  });
});
