import { describe, expect, it } from 'vitest';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { newLeads } from '../support/leads.ts';
import { startSimulator } from '../support/simulators.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A failed call's message names its method, path and query, and goes to the connection's last error (persisted,
 * shown by the admin API and `crm-sync status`), the audit and the worker's log line. A failed search by e-mail
 * put the address there. Its value is now left out (`query=…`); the route and the rest of the query stay.
 */
const searches = [
  { provider: 'reapit' as const, route: 'GET /contacts/?pageSize=100&email=… → 500' },
  { provider: 'alto' as const, route: 'GET /contacts/search?query=…&max-results=250 → 500' },
  { provider: 'street' as const, route: 'GET /people?filter%5Bemail_address%5D=…&page%5Bsize%5D=100 → 500' },
];

/** The provider's documented spec, but a call that fails is not tried again: no test waits out retries. */
function failingFast(provider: (typeof searches)[number]['provider']) {
  const entry = getProvider(provider);
  if (entry === undefined) throw new Error(`no ${provider} provider`);
  return { entry, spec: withSpec(entry.spec, { retry: { maxAttempts: 1 } }) };
}

describe.each(searches)('a $provider search by e-mail that fails', ({ provider, route }) => {
  it('is reported with its route and without the address', async () => {
    const { entry, spec } = failingFast(provider);
    const sim = await startSimulator(provider);
    try {
      const client = must(entry.createProvider({ baseUrl: sim.baseUrl, credentials: sim.credentials, spec }));
      await sim.control.faults({ errorRate: 1 });
      const found = await client.findByEmail({ email: 'lead0@example.org' });
      expect(found.ok).toBe(false);
      const message = found.ok ? '' : found.error.message;
      expect(message).toContain(route);
      expect(message).not.toContain('lead0');
    } finally {
      await sim.close();
    }
  });
});

// Street cannot create, so the engine never searches it (a lead is only looked for before its create).
describe.each(searches.filter((s) => s.provider !== 'street'))(
  'a lead the engine looks for in $provider, when the search fails',
  ({ provider, route }) => {
    it('leaves the address out of the last error and the audit, which name the route', async () => {
      const { spec } = failingFast(provider);
      let offsetMs = 0;
      const h = await createSyncHarness(provider, {
        simulator: { contacts: 3, seed: 5 },
        runner: { clock: () => new Date(Date.now() + offsetMs), providerOptions: () => ({ spec }) },
      });
      try {
        expect(must(await h.run()).state).toBe('idle');
        const [lead] = newLeads(1, 'Searched');
        if (lead === undefined) throw new Error('no lead');
        must(await h.store.upsertContacts({ tenantId: h.tenantId, contacts: [lead], now: new Date() }));
        // The fetch runs clean; the lead, new in NurtureHub, is looked for by e-mail as it is reconciled.
        expect(must(await h.run('phase')).state).toBe('reconciling');
        await h.sim.control.faults({ errorRate: 1 });
        let run = must(await h.run('phase'));
        expect(run.state).toBe('backoff');
        // Every backoff retry fails the same way, until the connection stops in error with its audit entry.
        while (run.state === 'backoff') {
          offsetMs += 60 * 60 * 1000;
          run = must(await h.run());
        }
        expect(run.state).toBe('error');
        const lastError = run.context.lastError?.message ?? '';
        expect(lastError).toContain(route);
        expect(lastError).not.toContain('lead0');
        const [audit] = must(
          await h.store.listAudit({ tenantId: h.tenantId, connectionId: h.connectionId, limit: 1 }),
        ).entries;
        const messages = (audit?.body.errors ?? []).map((e) => e.message).join('\n');
        expect(messages).toContain(route);
        expect(messages).not.toContain('lead0');
      } finally {
        await h.close();
      }
    });
  },
);
