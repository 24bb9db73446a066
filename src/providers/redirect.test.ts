import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newLeads } from '../../test/support/leads.ts';
import { createLimiter } from './limiter.ts';
import type { ProviderName } from './provider.ts';
import { getProvider } from './registry.ts';
import { withSpec } from './spec.ts';

const KEY = 'agency-api-key-5f2c';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * A CRM (or a proxy in front of it) that answers every call with a redirect to another host. agentOS and Loop carry
 * their key in a header of their own (`api_key`, `x-api-key`), which fetch, unlike `Authorization`, sends on to any
 * host it is redirected to; a 301 or 302 also turns a create's POST into a GET of the other address.
 */
describe.each([301, 302, 307, 308])('a call answered %i to another host', (status) => {
  const elsewhere: Array<{ method: string | undefined; headers: IncomingHttpHeaders }> = [];
  let crm: Server;
  let other: Server;
  let baseUrl: string;
  beforeAll(async () => {
    other = createServer((request, response) => {
      elsewhere.push({ method: request.method, headers: request.headers });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"elsewhere-1"}');
    });
    const otherPort = await listen(other);
    crm = createServer((request, response) => {
      response.writeHead(status, { location: `http://localhost:${otherPort}${request.url}` }).end();
    });
    baseUrl = `http://127.0.0.1:${await listen(crm)}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => crm.close(resolve));
    await new Promise((resolve) => other.close(resolve));
  });

  it.each<{ provider: ProviderName; credentials: Record<string, string> }>([
    { provider: 'agentos', credentials: { apiKey: KEY, shortName: 'harbour', branchId: 'B1' } },
    { provider: 'loop', credentials: { apiKey: KEY } },
  ])(
    '$provider sends its key nowhere else, and a create is neither repeated nor read as made',
    async ({ provider, credentials }) => {
      const entry = getProvider(provider);
      if (entry === undefined) throw new Error(`${provider} is not registered`);
      const spec = withSpec(entry.spec, { retry: { maxAttempts: 2, transientBaseMs: 1, transientMaxMs: 1 } });
      const made = entry.createProvider({ baseUrl, credentials, spec, limiter: createLimiter(spec) });
      if (!made.ok) throw new Error(made.error.message);
      const crmProvider = made.value;
      elsewhere.length = 0;

      const window = { from: null, to: new Date().toISOString() };
      const listed = await crmProvider.listChanges({ window, pageToken: null });
      const lead = newLeads(1, 'Redirected')[0];
      if (lead === undefined) throw new Error('no lead');
      const created = await crmProvider.create({ contact: lead.contact, reference: lead.id });

      expect(elsewhere).toEqual([]);
      for (const result of [listed, created]) {
        expect(result.ok).toBe(false);
        if (result.ok) continue;
        // Stops the connection with words that say where the CRM pointed and what to do, not a record refused.
        expect(result.error).toMatchObject({ kind: 'endpoint_refused', status });
        expect(result.error.message).toContain(`redirected to http://localhost:`);
        expect(result.error.message).toContain('set-base-url');
      }
    },
  );
});
