import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newLeads } from '../../test/support/leads.ts';
import { createLimiter } from './limiter.ts';
import { getProvider } from './registry.ts';
import { withSpec } from './spec.ts';

/**
 * A success status whose body is not the API's JSON: a proxy's or a maintenance page's HTML, a page cut short, or
 * nothing at all. None is the CRM refusing what it was sent, so none may stop the connection as a request the
 * adapter and the API disagree on (fatal, until an operator retries), nor read a create as refused.
 */
const answers: Record<string, { contentType: string; body: string }> = {
  html: { contentType: 'text/html', body: '<html><body><h1>Down for maintenance</h1></body></html>' },
  truncated: { contentType: 'application/json', body: '{"data":[{"id":"LP1","firstName":"Ad' },
  empty: { contentType: 'application/json', body: '' },
};

describe.each(Object.keys(answers))('a 2xx answered with a %s body', (name) => {
  let server: Server;
  let baseUrl: string;
  const requests: string[] = [];
  beforeAll(async () => {
    const answer = answers[name];
    if (answer === undefined) throw new Error(name);
    server = createServer((request, response) => {
      requests.push(request.method ?? '');
      response
        .writeHead(request.method === 'POST' ? 201 : 200, { 'content-type': answer.contentType })
        .end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function loop() {
    const entry = getProvider('loop');
    if (entry === undefined) throw new Error('loop is not registered');
    const spec = withSpec(entry.spec, { retry: { maxAttempts: 3, transientBaseMs: 1, transientMaxMs: 1 } });
    const made = entry.createProvider({
      baseUrl,
      credentials: { apiKey: 'key' },
      spec,
      limiter: createLimiter(spec),
    });
    if (!made.ok) throw new Error(made.error.message);
    return made.value;
  }

  it('fails a listing as transient, after the retries a dropped answer gets', async () => {
    requests.length = 0;
    const listed = await loop().listChanges({
      window: { from: null, to: new Date().toISOString() },
      pageToken: null,
    });
    expect(listed.ok).toBe(false);
    if (!listed.ok) {
      expect(listed.error.kind).toBe('transient');
      expect(listed.error.message).toContain('GET /api/contacts');
      expect(listed.error.message).toContain('→ 200');
    }
    expect(requests).toEqual(['GET', 'GET', 'GET']);
  });

  // A create may answer with no body (Reapit's 201 carries only a Location): an empty one is the adapter's to read.
  it.runIf(name !== 'empty')(
    'fails a create as transient without sending it again: the CRM may have made the record',
    async () => {
      requests.length = 0;
      const lead = newLeads(1, 'Unreadable')[0];
      if (lead === undefined) throw new Error('no lead');
      const created = await loop().create({ contact: lead.contact, reference: lead.id });
      expect(created.ok).toBe(false);
      if (!created.ok) {
        expect(created.error.kind).toBe('transient');
        expect(created.error.message).toContain('POST /api/contacts → 201');
      }
      expect(requests).toEqual(['POST']);
    },
  );
});

/**
 * A create answered with a success status and JSON that carries no id: the CRM accepted it and may have made the
 * record. Read as a refusal (validation), the contact was noted as refused, and sent again when it next changed,
 * into a CRM already holding it; as no answer (transient), the push looks for it first (Reapit's 201 without a
 * Location and Alto's without a Contact were transient already).
 */
describe.each([
  { provider: 'loop', credentials: { apiKey: 'key' } },
  { provider: 'agentos', credentials: { apiKey: 'key', shortName: 'acme', branchId: 'B1' } },
] as const)('a $provider create answered 2xx without an id', ({ provider, credentials }) => {
  let server: Server;
  let baseUrl: string;
  const requests: string[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push(request.method ?? '');
      response.writeHead(201, { 'content-type': 'application/json' }).end('{"status":"queued"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fails as transient, sent once', async () => {
    const entry = getProvider(provider);
    if (entry === undefined) throw new Error(`${provider} is not registered`);
    const made = entry.createProvider({
      baseUrl,
      credentials,
      spec: entry.spec,
      limiter: createLimiter(entry.spec),
    });
    if (!made.ok) throw new Error(made.error.message);
    const lead = newLeads(1, 'Queued')[0];
    if (lead === undefined) throw new Error('no lead');
    const contact = { ...lead.contact, email: 'queued.lead@example.com', marketingConsent: 'grant' as const };
    const created = await made.value.create({ contact, reference: lead.id });
    expect(created.ok ? created.value : created.error).toMatchObject({ kind: 'transient', status: 201 });
    expect(requests).toEqual(['POST']);
  });
});
