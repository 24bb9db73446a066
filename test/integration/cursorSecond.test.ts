import { describe, expect, it } from 'vitest';
import type { StreetSimulatorOptions } from '../../src/providers/street/simulator.ts';
import { unwrap } from '../store/backends.ts';
import { agencyClient } from '../support/simulators.ts';
import { createSyncHarness } from '../support/syncHarness.ts';

/**
 * A window that ends ahead of the CRM's clock (ours fast, or Street's whole-second stamps) can close inside a
 * second the CRM is still stamping. A later save in that second to a record with a lower id sorts before the
 * cursor; the next cycle must still read it. Through the whole engine, not just the adapter: the fetch phase's
 * own lower-bound filter once dropped what the adapter re-read.
 */
describe('a save in the cursor’s own second', () => {
  it('reaches NurtureHub on the next cycle, whatever its id', async () => {
    const hourAhead = () => new Date(Date.now() + 3_600_000);
    // Street's clock for its stamps, held on one instant for the saves below: a cycle on a loaded machine outlasts
    // the rest of a second.
    let heldMs: number | null = null;
    const simulator: StreetSimulatorOptions = { contacts: 8, seed: 11, clock: () => heldMs ?? Date.now() };
    const h = await createSyncHarness('street', { simulator, runner: { clock: hourAhead } });
    try {
      const street = agencyClient('street', h.sim);
      expect(unwrap(await h.run()).state).toBe('idle');
      const ids = (await h.sim.control.records())
        .filter((r) => (r as { attributes: { deleted_at: string | null } }).attributes.deleted_at === null)
        .map((r) => (r as { id: string }).id)
        .sort();
      const [low, high] = [ids[0], ids.at(-1)];
      if (low === undefined || high === undefined || low === high) throw new Error('too few records');

      const titleOf = async (externalId: string) => {
        const [link] = unwrap(await h.store.getLinksByExternalIds({ ...h, externalIds: [externalId] }));
        if (link === undefined) throw new Error(`no link for ${externalId}`);
        const [contact] = unwrap(await h.store.getContacts({ tenantId: h.tenantId, ids: [link.contactId] }));
        return contact?.contact.title;
      };
      const save = async (externalId: string, title: string) =>
        expect((await street.update({ externalId, patch: { title }, version: null })).ok).toBe(true);
      const stampOf = async (externalId: string) =>
        (
          (await h.sim.control.records()).find((r) => (r as { id: string }).id === externalId) as {
            attributes: { updated_at: string };
          }
        ).attributes.updated_at;

      // Both saves and the cycle between them share one second of Street's, however long the cycle takes.
      heldMs = Date.now();
      await save(high, 'Dr');
      expect(unwrap(await h.run()).state).toBe('idle');
      await save(low, 'Dr');
      expect(await stampOf(low)).toBe(await stampOf(high));
      expect(unwrap(await h.run()).state).toBe('idle');
      expect(await titleOf(high)).toBe('Dr');
      expect(await titleOf(low)).toBe('Dr');
    } finally {
      await h.close();
    }
  });
});
