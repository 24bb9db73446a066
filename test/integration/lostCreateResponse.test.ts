import { describe, expect, it } from 'vitest';
import type { CanonicalContact } from '../../src/core/schemas.ts';
import { createSyncHarness } from '../support/syncHarness.ts';

const lead: CanonicalContact = {
  title: 'Ms',
  firstName: 'Priya',
  lastName: 'Raman',
  email: 'priya.raman.lead@example.co.uk',
  mobilePhone: '07700 900555',
  homePhone: null,
  workPhone: null,
  address: null,
  dateOfBirth: null,
  status: 'active',
  marketingConsent: 'grant',
  emailOpens: 0,
  emailClicks: 0,
  lastOpenedAt: null,
  lastClickedAt: null,
  intentScore: 40,
  nurtureSequence: null,
};

describe('regression: a create whose response was lost', () => {
  it('is not repeated blind: the next run finds the record the CRM applied, and one contact exists', async () => {
    let offsetMs = 0;
    let dropNextCreateResponse = true;
    // The CRM applies the POST, then the connection drops before its answer reaches us.
    const losingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const url = String(input instanceof Request ? input.url : input);
      if (init?.method === 'POST' && url.endsWith('/contacts/') && dropNextCreateResponse) {
        dropNextCreateResponse = false;
        throw new TypeError('fetch failed: socket hang up');
      }
      return response;
    };
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 20, seed: 3 },
      runner: {
        clock: () => new Date(Date.now() + offsetMs),
        providerOptions: () => ({ fetch: losingFetch }),
      },
    });
    try {
      const first = await h.run();
      if (!first.ok) throw new Error(first.error.message);
      const saved = await h.store.upsertContacts({
        tenantId: h.tenantId,
        contacts: [{ id: '7a1f0c7e-4f0b-4c57-9d1e-3b2a3c4d5e6f', contact: lead }],
        now: new Date(),
      });
      if (!saved.ok) throw new Error(saved.error.message);
      const createsBefore = (await h.sim.control.stats()).creates;

      const failed = await h.run();
      if (!failed.ok) throw new Error(failed.error.message);
      expect(failed.value.state).toBe('backoff');
      expect(failed.value.context.lastError?.phase).toBe('pushing');

      offsetMs = 60 * 60 * 1000;
      const resumed = await h.run();
      if (!resumed.ok) throw new Error(resumed.error.message);
      expect(resumed.value.state).toBe('idle');
      expect((await h.sim.control.stats()).creates - createsBefore).toBe(1);
      const copies = (await h.sim.control.records()).filter((r) =>
        JSON.stringify(r)
          .toLowerCase()
          .includes(lead.email as string),
      );
      expect(copies).toHaveLength(1);
      const links = await h.store.getLinksByContactIds({
        tenantId: h.tenantId,
        connectionId: h.connectionId,
        contactIds: ['7a1f0c7e-4f0b-4c57-9d1e-3b2a3c4d5e6f'],
      });
      expect(links.ok && links.value.map((l) => l.externalId)).toEqual([(copies[0] as { id: string }).id]);
    } finally {
      await h.close();
    }
  });
});
