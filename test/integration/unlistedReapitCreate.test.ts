import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

type ReapitRecord = { id: string; metadata?: { nurturehub?: { emailOpens?: number } } };

/**
 * A Reapit whose creates show 3 s after they are answered, synced once, and a lead NurtureHub created there in a
 * second cycle: `run` gets the harness and the lead's id.
 */
async function withCreatedLead(
  lead: { firstName: string; lastName: string; email: string },
  run: (h: SyncHarness, leadId: string) => Promise<void>,
): Promise<void> {
  const h = await createSyncHarness('reapit', {
    simulator: { contacts: 5, seed: 3, createVisibleAfterMs: 3_000 },
  });
  try {
    await auditedCycle(h);
    const leadId = randomUUID();
    const contacts = [{ id: leadId, contact: canonicalContactSchema.parse(lead) }];
    must(await h.store.upsertContacts({ tenantId: h.tenantId, now: new Date(), contacts }));
    expect((await auditedCycle(h))?.written).toMatchObject({ created: 1 });
    await run(h, leadId);
  } finally {
    await h.close();
  }
}

/** One e-mail open of the contact, recorded now. */
const recordOpen = async (h: SyncHarness, contactId: string) =>
  must(
    await h.store.ingestEngagementEvents({
      tenantId: h.tenantId,
      now: new Date(),
      events: [
        { eventId: randomUUID(), contactId, kind: 'email_open', occurredAt: new Date().toISOString() },
      ],
    }),
  );

/**
 * Reapit applies a create in the background, and the record keeps the create's `modified`. A cycle run before it
 * shows ("Sync now" after an agency edit elsewhere) moved the cursor past it, so no delta ever listed it: its
 * `_eTag` never came, and every update of it, each open recorded, was deferred as a 428 "to the next cycle", for
 * good. The records a create made that no listing has shown are read by id at the end of each listing.
 */
it('sends the opens of a lead whose Reapit record showed only after the cursor had passed it', async () => {
  const lead = { firstName: 'Priya', lastName: 'Ramanathan', email: 'priya.r@example.net' };
  await withCreatedLead(lead, async (h, leadId) => {
    // The agency edits another record while the create does not show yet, and the next cycle runs at once.
    const [other] = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 10 })).filter(
      (c) => c.id !== leadId && c.links.length === 1,
    );
    const otherLink = other?.links[0] ?? expect.unreachable('no linked record');
    const { externalId, remoteVersion: version } = otherLink;
    must(await agencyClient('reapit', h.sim).update({ externalId, patch: { title: 'Prof' }, version }));
    expect((await auditedCycle(h))?.fetched).toBe(1);

    await sleep(3_500);
    await recordOpen(h, leadId);
    const sent = await auditedCycle(h);
    expect(sent?.errors).toEqual([]);
    expect(sent?.written).toMatchObject({ updated: 1 });
    const [link] = must(await h.store.getLinksByContactIds({ ...h, contactIds: [leadId] }));
    expect(link?.remoteVersion).not.toBeNull();
    const records = (await h.sim.control.records()) as ReapitRecord[];
    const record = records.find((r) => r.id === link?.externalId);
    expect(record?.metadata?.nurturehub?.emailOpens).toBe(1);

    // Read by id once: a record with its version is not asked for again. The two requests are the listings, of
    // the creates of the minute before the cursor and of the window.
    const before = (await h.sim.control.stats()).requests;
    expect((await auditedCycle(h))?.written).toMatchObject({ updated: 0 });
    expect((await h.sim.control.stats()).requests - before).toBe(2);
  });
}, 120_000);

/**
 * An open recorded at once after the create, and the next cycle run before Reapit shows the record: the update,
 * planned without a version, read the record first, and its 404 unlinked the lead as if the agency had deleted
 * the record. It is held until the record shows, then sent on the version read.
 */
it('holds an update of a record Reapit does not show yet, and sends it once it does', async () => {
  const lead = { firstName: 'Ines', lastName: 'Okafor', email: 'ines.o@example.net' };
  await withCreatedLead(lead, async (h, leadId) => {
    await recordOpen(h, leadId);
    const held = await auditedCycle(h);
    expect(held?.errors).toEqual([
      {
        status: null,
        retry: true,
        message: expect.stringMatching(
          /^1 update held: Reapit has not shown the record NurtureHub created yet/,
        ),
      },
    ]);
    // Still linked: not taken for a record the agency deleted.
    const [link] = must(await h.store.getLinksByContactIds({ ...h, contactIds: [leadId] }));
    expect(link?.externalId).toEqual(expect.any(String));

    await sleep(3_500);
    const sent = await auditedCycle(h);
    expect(sent?.errors).toEqual([]);
    expect(sent?.written).toMatchObject({ updated: 1 });
    const records = (await h.sim.control.records()) as ReapitRecord[];
    expect(records.find((r) => r.id === link?.externalId)?.metadata?.nurturehub?.emailOpens).toBe(1);
  });
}, 120_000);
