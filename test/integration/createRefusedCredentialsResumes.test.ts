import { describe, expect, it } from 'vitest';
import { credentialsSchema } from '../../src/persistence/records.ts';
import { leadEmailsIn, newLeads } from '../support/leads.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

const refOf = (h: SyncHarness) => ({ tenantId: h.tenantId, connectionId: h.connectionId });

/**
 * A create the CRM refused because it refused the credentials (401) was never applied: the transport itself sends a
 * 401'd call again for that reason. Left marked `sent`, the push that new credentials resume took it for a create the
 * CRM may have applied: it searched Reapit for each, and, within Reapit's 60 s settle time of the refused send, held
 * them and backed off ("may still be being applied by Reapit"), the connection in `backoff` with an attempt spent
 * instead of finishing the cycle. A write refused for want of the write scope is planned again for the same reason
 * (`markPushUnsent`); so should one refused with the credentials.
 */
describe('creates refused with the credentials, then new credentials', () => {
  it('are sent at once when the push resumes, not looked for as creates the CRM may still be applying', async () => {
    let searches = 0;
    const counting: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if ((init?.method ?? 'GET') === 'GET' && url.searchParams.has('email')) searches += 1;
      return fetch(input, init);
    };
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 6, seed: 6 },
      runner: { providerOptions: () => ({ fetch: counting }) },
    });
    try {
      expect(must(await h.run()).state).toBe('idle');
      const good = credentialsSchema.parse(h.sim.credentials);
      must(
        await h.store.upsertContacts({
          tenantId: h.tenantId,
          contacts: newLeads(2, 'Okafor'),
          now: new Date(),
        }),
      );
      for (let i = 0; i < 3 && must(await h.run('phase')).state !== 'pushing'; i++);

      // The client secret revoked at Reapit while the cycle's creates are planned: the push is refused.
      must(
        await h.store.setConnectionCredentials({
          ...refOf(h),
          credentials: { ...good, clientSecret: 'revoked' },
        }),
      );
      const refused = must(await h.run('phase'));
      expect(refused.state).toBe('error');
      expect(refused.context.errorReason).toBe('auth_failed');
      expect(leadEmailsIn(await h.sim.control.records())).toEqual([]);

      // The operator enters the right secret: the push resumes from where it stopped.
      must(await h.store.setConnectionCredentials({ ...refOf(h), credentials: good }));
      const searchesBefore = searches;
      const resumed = must(await h.run('credentials'));
      expect(resumed.context.lastError?.message ?? null).toBeNull();
      expect(resumed.state).toBe('idle');
      expect(leadEmailsIn(await h.sim.control.records()).sort()).toEqual([
        'lead0@example.org',
        'lead1@example.org',
      ]);
      expect((await h.sim.control.stats()).creates).toBe(2);
      // Nothing to look for: a create refused with the credentials made nothing.
      expect(searches - searchesBefore).toBe(0);
    } finally {
      await h.close();
    }
  });
});
