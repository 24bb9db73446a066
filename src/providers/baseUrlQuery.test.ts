import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_URL_QUERY_REFUSED, baseUrlSchema } from './credentialEndpoint.ts';
import { createLimiter } from './limiter.ts';
import type { ProviderName } from './provider.ts';
import { getProvider } from './registry.ts';

/**
 * Every request's path is written after the connection's base URL. A base URL with a query sent
 * `/api?office=1/contacts?…`, and one with a fragment sent every request to `/api` itself, the path being part of a
 * fragment no request carries: calls to the wrong address, answered with whatever it answers.
 */
describe('a base URL holding a query or a fragment', () => {
  const seen: string[] = [];
  let crm: Server;
  let origin: string;
  beforeAll(async () => {
    crm = createServer((request, response) => {
      seen.push(request.url ?? '');
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"access_token":"t","expires_in":3600}');
    });
    await new Promise<void>((resolve) => crm.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(crm.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => crm.close(resolve)));

  const credentialsFor = (provider: ProviderName): Record<string, string> =>
    ({
      agentos: { apiKey: 'k', shortName: 'harbour', branchId: 'B1' },
      loop: { apiKey: 'k' },
      street: { apiToken: 'k' },
      reapit: { clientId: 'id', clientSecret: 's', customerId: 'SBOX', tokenUrl: `${origin}/token` },
      alto: { clientId: 'id', clientSecret: 's', agencyRef: 'AG1', tokenUrl: `${origin}/token` },
    })[provider];

  it.each<ProviderName>(['agentos', 'alto', 'loop', 'reapit', 'street'])(
    '%s sends nothing to it and says why',
    async (provider) => {
      const entry = getProvider(provider) ?? expect.unreachable();
      for (const baseUrl of [`${origin}/api?office=1`, `${origin}/api#v2`, `${origin}/api?`]) {
        seen.length = 0;
        const made = entry.createProvider({
          baseUrl,
          credentials: credentialsFor(provider),
          spec: entry.spec,
          limiter: createLimiter(entry.spec),
        });
        if (!made.ok) throw new Error(made.error.message);
        const listed = await made.value.listChanges({
          window: { from: null, to: new Date().toISOString() },
          pageToken: null,
        });
        expect(listed).toMatchObject({ ok: false, error: { kind: 'endpoint_refused' } });
        expect(listed.ok ? '' : listed.error.message).toContain(BASE_URL_QUERY_REFUSED);
        expect(seen).toEqual([]);
      }
    },
  );

  it('is refused on input, naming why; a path is taken', () => {
    for (const url of ['https://crm.example.com/api?office=1', 'https://crm.example.com/api#v2']) {
      const parsed = baseUrlSchema.safeParse(url);
      expect(parsed.success ? null : parsed.error.issues[0]?.message).toBe(BASE_URL_QUERY_REFUSED);
    }
    expect(baseUrlSchema.safeParse('https://crm.example.com/api/v2/').success).toBe(true);
  });
});
