import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

const readJson = async (request: IncomingMessage): Promise<Record<string, unknown>> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
};

/**
 * A CRM's refusal went into the cycle's audit with the first 300 characters of its body, and an ASP.NET API's
 * model validation quotes the rejected values: the lead's e-mail and phone were kept in the audit of every cycle
 * that sent it. Here Reapit's creates are answered by a server that refuses them that way, in Reapit's documented
 * shape [R1]; the rest of the cycle talks to the Reapit simulator.
 */
describe('a create the CRM refuses with a body quoting the lead', () => {
  it('is noted with its status and the refused fields, without the e-mail or phone', async () => {
    const refusing = createServer((request, response) => {
      void readJson(request).then((sent) => {
        const quoted = (field: string) => ({ field, message: `'${String(sent[field])}' is not valid here` });
        response.writeHead(422, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            statusCode: 422,
            dateTime: new Date().toISOString(),
            description: `One or more validation failures have occurred for ${String(sent.email)}`,
            errors: [quoted('email'), quoted('mobilePhone')],
          }),
        );
      });
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
    const routed: typeof fetch = (input, init) => {
      const url = new URL(String(input));
      const create = init?.method === 'POST' && url.pathname === '/contacts/';
      return fetch(create ? `${refusingUrl}${url.pathname}` : input, init);
    };
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 3, seed: 7 },
      runner: { providerOptions: () => ({ fetch: routed }) },
    });
    try {
      await auditedCycle(h);
      const id = randomUUID();
      const contact = canonicalContactSchema.parse({
        firstName: 'Tunde',
        lastName: 'Okafor',
        email: 'tunde.okafor@example.org',
        mobilePhone: '07700 900461',
        marketingConsent: 'grant',
      });
      must(
        await h.store.upsertContacts({ tenantId: h.tenantId, contacts: [{ id, contact }], now: new Date() }),
      );

      const refused = await auditedCycle(h);
      expect(refused?.written).toMatchObject({ created: 0 });
      const notes = JSON.stringify(refused?.errors);
      expect(notes.toLowerCase()).not.toContain('tunde');
      expect(notes).not.toContain('900461');
      expect(refused?.errors).toEqual([
        {
          status: 422,
          message: expect.stringMatching(
            new RegExp(
              `create of contact ${id} refused; sent again when the contact changes: validation: ` +
                'POST /contacts/ → 422 \\(fields: email, mobilePhone\\); body not shown \\([\\d,]+ bytes of application/json',
            ),
          ),
          retry: false,
        },
      ]);
    } finally {
      await h.close();
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });
});
