import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpTransport } from './base.ts';
import { createLimiter } from './limiter.ts';
import type { ProviderName } from './provider.ts';
import { getProvider } from './registry.ts';
import { withSpec } from './spec.ts';

const EMAIL = 'tunde.okafor@example.org';
const PHONE = '07700 900123';
const echo = `'${EMAIL}' is not a valid e-mail; '${PHONE}' is already used`;

/**
 * Error bodies in each CRM's documented shape (docs/providers.md), as a CRM answers a request whose values it
 * echoes: ASP.NET model validation, a 409 naming the record it clashes with, an HTML page from a proxy.
 */
const refusals: Array<{
  provider: ProviderName;
  status: number;
  contentType: string;
  body: string;
  shows: string[];
}> = [
  {
    provider: 'reapit',
    status: 422,
    contentType: 'application/json',
    body: JSON.stringify({
      statusCode: 422,
      dateTime: '2026-12-01T10:00:00.0000000Z',
      description: `One or more validation failures have occurred for ${EMAIL}`,
      errors: [
        { field: 'email', message: echo },
        { field: 'mobilePhone', message: echo },
      ],
    }),
    shows: ['(fields: email, mobilePhone)'],
  },
  {
    provider: 'reapit',
    status: 502,
    contentType: 'text/html; charset=utf-8',
    body: `<html><body><h1>502 Bad Gateway</h1><p>POST {"email":"${EMAIL}","mobilePhone":"${PHONE}"}</p></body></html>`,
    shows: ['body not shown (', 'bytes of text/html; may hold personal data)'],
  },
  {
    provider: 'alto',
    status: 409,
    contentType: 'application/json',
    body: JSON.stringify({ errors: [{ code: 'Conflict', message: `Duplicate of ${EMAIL}, ${PHONE}` }] }),
    shows: ['→ 409 Conflict;'],
  },
  {
    provider: 'alto',
    status: 400,
    contentType: 'application/problem+json',
    body: JSON.stringify({
      type: 'https://tools.ietf.org/html/rfc9110#section-15.5.1',
      title: 'One or more validation errors occurred.',
      status: 400,
      errors: { 'People[0].Email': [echo], 'People[0].MobilePhone': [echo] },
    }),
    shows: [
      'https://tools.ietf.org/html/rfc9110#section-15.5.1, One or more validation errors occurred.',
      '(fields: People[0].Email, People[0].MobilePhone)',
    ],
  },
  {
    provider: 'alto',
    status: 400,
    contentType: 'application/json',
    // A documented code field holding an echoed value is not a code: it is left out too.
    body: JSON.stringify({
      errors: [
        { code: EMAIL, message: echo },
        { code: PHONE, message: echo },
      ],
    }),
    shows: ['→ 400; body not shown ('],
  },
  {
    provider: 'street',
    status: 422,
    contentType: 'application/vnd.api+json',
    body: JSON.stringify({
      errors: [
        {
          title: 'Unprocessable Entity',
          detail: echo,
          code: 'taken',
          source: { pointer: '/data/attributes/email' },
        },
      ],
    }),
    shows: ['→ 422 taken, Unprocessable Entity (fields: /data/attributes/email)'],
  },
  {
    provider: 'agentos',
    status: 400,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify({
      Message: `The request is invalid: ${echo}`,
      ModelState: { 'prospect.EmailAddress': [echo], 'prospect.MobilePhone': [echo] },
    }),
    shows: ['→ 400 (fields: prospect.EmailAddress, prospect.MobilePhone)'],
  },
  {
    provider: 'loop',
    status: 422,
    contentType: 'application/json',
    body: JSON.stringify({ message: echo }),
    shows: ['→ 422; body not shown ('],
  },
];

describe('a CRM refusal whose body echoes the lead', () => {
  let server: Server;
  let baseUrl: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      const refusal = refusals[Number(new URL(request.url ?? '/', 'http://x').searchParams.get('case'))];
      if (refusal === undefined) return void response.writeHead(404).end();
      response.writeHead(refusal.status, { 'content-type': refusal.contentType }).end(refusal.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each(refusals.map((refusal, index) => ({ ...refusal, index })))(
    '$provider $status ($contentType): status, documented code and field names, no e-mail or phone',
    async ({ provider, status, body, shows, index }) => {
      const entry = getProvider(provider);
      if (entry === undefined) throw new Error(`${provider} is not registered`);
      const spec = withSpec(entry.spec, { retry: { maxAttempts: 1 } });
      const transport = createHttpTransport({
        baseUrl,
        spec,
        limiter: createLimiter(spec),
        headers: async () => ({ ok: true, value: {} }),
      });
      const sent = await transport.send({ method: 'POST', path: `/contacts?case=${index}`, body: {} });
      if (sent.ok) throw new Error('expected a failure');
      const { message } = sent.error;
      expect(message.toLowerCase()).not.toContain('tunde');
      expect(message).not.toContain('900123');
      expect(sent.error.status).toBe(status);
      expect(message).toMatch(new RegExp(`^POST /contacts\\?case=${index} → ${status}\\b`));
      for (const part of shows) expect(message).toContain(part);
      expect(message).toContain(`body not shown (${Buffer.byteLength(body).toLocaleString('en-GB')} bytes`);
    },
  );
});
