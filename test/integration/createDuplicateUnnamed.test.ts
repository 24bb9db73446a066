import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * Alto answers a create of a person it holds already with 409 and the record's Location [A1]. One without the
 * Location names no record to link: the create was audited as "deferred to the next cycle", `retry: true`, yet no
 * cycle plans it again (no changed record comes with it, as with an update's 409) unless the contact changes.
 */
it('audits a create refused as a duplicate without its record as refused until the contact changes', async () => {
  let creates = 0;
  const h = await createSyncHarness('alto', {
    simulator: { contacts: 3, seed: 5 },
    runner: {
      providerOptions: () => ({
        fetch: async (input, init) => {
          const url = new URL(input instanceof Request ? input.url : String(input));
          if (init?.method !== 'POST' || url.pathname !== '/contacts') return fetch(input, init);
          creates += 1;
          // Alto's 409 body for a duplicate [A1], its Location header left out.
          const body = {
            type: 'Conflict',
            title: 'Conflict',
            status: 409,
            detail: 'Duplicate contacts found.',
          };
          return new Response(JSON.stringify(body), {
            status: 409,
            headers: { 'content-type': 'application/json' },
          });
        },
      }),
    },
  });
  try {
    await auditedCycle(h);
    const leadId = randomUUID();
    const contact = canonicalContactSchema.parse({
      firstName: 'Odile',
      lastName: 'Marchetti',
      email: 'odile.m@example.net',
    });
    must(
      await h.store.upsertContacts({
        tenantId: h.tenantId,
        now: new Date(),
        contacts: [{ id: leadId, contact }],
      }),
    );
    const refused = await auditedCycle(h);
    expect(refused?.outcome).toBe('completed');
    expect(refused?.errors).toEqual([
      {
        status: 409,
        retry: false,
        message: expect.stringMatching(
          /^create of contact \S+ refused; sent again when the contact changes: Alto holds a duplicate of the person and named no record: conflict: /,
        ),
      },
    ]);
    expect(creates).toBe(1);
    expect((await auditedCycle(h))?.errors).toEqual([]);
    expect(creates).toBe(1);
  } finally {
    await h.close();
  }
}, 120_000);
