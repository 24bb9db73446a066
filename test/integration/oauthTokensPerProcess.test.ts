import { describe, expect, it } from 'vitest';
import { credentialsSchema } from '../../src/persistence/records.ts';
import { ClientCredentialsTokenCache } from '../../src/providers/clientCredentials.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

/**
 * The runner builds a provider for every phase it drives (the Inngest function runs one phase per step), so a
 * token kept by the provider alone was asked for again at every phase, a round trip to the CRM's identity provider
 * each time. With the process's token cache, a connection asks once while the token lasts, across phases and
 * cycles; a changed secret asks again instead of reusing the token of the old one.
 */
describe.each(['reapit', 'alto'] as const)('%s OAuth tokens with the process token cache', (provider) => {
  it('are asked for once across the phases of two cycles, and again for a changed secret', async () => {
    let tokenRequests = 0;
    const countingFetch: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.pathname === '/token') tokenRequests += 1;
      return fetch(input, init);
    };
    const h = await createSyncHarness(provider, {
      simulator: { contacts: 20 },
      runner: {
        tokenCache: new ClientCredentialsTokenCache(),
        providerOptions: () => ({ fetch: countingFetch }),
      },
    });
    try {
      await cycleByPhases(h);
      await h.sim.control.edits({ count: 3, seed: 4 });
      await cycleByPhases(h);
      expect(tokenRequests).toBe(1);

      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const rotated = credentialsSchema.parse({ ...h.sim.credentials, clientSecret: 'rotated-secret' });
      must(await h.store.setConnectionCredentials({ ...ref, credentials: rotated }));
      const refused = must(await h.run());
      // The simulator knows only the old secret: the new one is sent, and refused, rather than the old token used.
      expect(tokenRequests).toBe(2);
      expect(refused.state).toBe('error');
    } finally {
      await h.close();
    }
  });
});

/** One cycle as the Inngest function drives it: one run per phase, each with a provider of its own. */
async function cycleByPhases(h: SyncHarness): Promise<void> {
  const phases = ['fetching', 'reconciling', 'pushing', 'auditing'];
  for (const phase of phases) {
    const outcome = must(await h.run('phase'));
    expect(outcome.state, `after ${phase}`).toBe(
      phase === 'auditing' ? 'idle' : phases[phases.indexOf(phase) + 1],
    );
  }
}
