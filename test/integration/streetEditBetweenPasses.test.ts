import { expect, it } from 'vitest';
import { z } from 'zod';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

const personSchema = z.object({
  id: z.string(),
  attributes: z.object({ updated_at: z.string(), title: z.string().nullish() }),
});

/**
 * Street lists a window in two passes, its live people and then its trash. With our clock ahead of Street's (here an
 * hour), the window reached past Street's own time, and Street went on stamping seconds inside it while we listed: an
 * agent's edit saved after the live pass read past that person, and a person trashed a second later, listed by the
 * trash pass, moved the cursor past the edit's second. The edit was never read: NurtureHub kept the old value (a
 * consent withdrawal made so would never have arrived).
 */
it('a live edit saved between Street’s live and trash passes reaches NurtureHub', async () => {
  let between: (() => Promise<void>) | null = null;
  const interposed: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const step = between;
    if (step !== null && url.includes('filter%5Btrashed%5D=only')) {
      between = null;
      await step();
    }
    return fetch(input, init);
  };
  const h = await createSyncHarness('street', {
    simulator: { contacts: 8, seed: 11 },
    runner: {
      clock: () => new Date(Date.now() + 3_600_000),
      providerOptions: () => ({ fetch: interposed }),
    },
  });
  try {
    await auditedCycle(h);
    const live = z.array(personSchema).parse(await h.sim.control.records());
    const [edited, trashed] = live.map((p) => p.id);
    if (edited === undefined || trashed === undefined) throw new Error('too few people');
    const stampOf = async (id: string) =>
      z
        .array(personSchema)
        .parse(await h.sim.control.records())
        .find((p) => p.id === id)?.attributes.updated_at;

    between = async () => {
      // The agent's edit, after the live pass; then, in Street's next second, a person trashed (merged away).
      must(
        await agencyClient('street', h.sim).update({
          externalId: edited,
          patch: { title: 'Dr' },
          version: null,
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000 - (Date.now() % 1_000) + 5));
      const response = await fetch(`${h.sim.baseUrl}/_sim/trash-and-key-in-again`, {
        method: 'POST',
        body: JSON.stringify({ ids: [trashed] }),
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(200);
      await response.body?.cancel();
    };
    await auditedCycle(h);
    expect(between).toBeNull();
    // The premise: the trash is stamped a second after the edit.
    expect(Date.parse((await stampOf(trashed)) ?? '')).toBeGreaterThan(
      Date.parse((await stampOf(edited)) ?? ''),
    );
    await auditedCycle(h);

    const [link] = must(await h.store.getLinksByExternalIds({ ...h, externalIds: [edited] }));
    if (link === undefined) throw new Error(`no link for ${edited}`);
    const [contact] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [link.contactId] }));
    expect(contact?.contact.title).toBe('Dr');
  } finally {
    await h.close();
  }
}, 120_000);
