import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * Alto's create takes a title of at most 20 characters, names of 50 and address lines of 50 [A1]; NurtureHub
 * holds longer ones. An address line too long is left out of the create (sync never reads Alto's address back,
 * and the line would refuse the whole contact); a name too long is refused with the limit in the audit, not cut,
 * and is not sent again until the contact changes.
 */
describe('Alto’s documented field lengths', () => {
  it('creates a lead whose address line is too long without the address, and refuses one whose name is', async () => {
    const h = await createSyncHarness('alto', { simulator: { contacts: 5, seed: 3 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const longLine = `Flat 3, ${'The Old Rectory Barns and Stables '.repeat(2)}`.trim();
      expect(longLine.length).toBeGreaterThan(50);
      const lead = (id: string, fields: Record<string, unknown>) => ({
        id,
        contact: canonicalContactSchema.parse({
          lastName: 'Fairweather',
          marketingConsent: 'grant',
          ...fields,
        }),
      });
      const housed = lead(randomUUID(), {
        firstName: 'Imogen',
        email: 'imogen.fairweather@example.org',
        address: { line1: longLine, line3: 'Ludlow', postcode: 'SY8 1AA', countryCode: 'GB' },
      });
      const longName = 'Wilhelmina-Alexandra-Konstantina-Persephone-Maximiliana';
      const named = lead(randomUUID(), { firstName: longName, email: 'w.fairweather@example.org' });
      await auditedCycle(h);
      must(
        await h.store.upsertContacts({ tenantId: h.tenantId, contacts: [housed, named], now: new Date() }),
      );

      const first = await auditedCycle(h);
      expect(first?.written).toMatchObject({ created: 1 });
      expect(first?.errors).toEqual([
        {
          status: null,
          message: expect.stringContaining(
            `Alto takes a forename of at most 50 characters; this one has ${longName.length}`,
          ),
          retry: false,
        },
      ]);
      const inAlto = (await h.sim.control.records()).filter((r) => JSON.stringify(r).includes('Fairweather'));
      expect(inAlto).toHaveLength(1);
      expect(JSON.stringify(inAlto[0])).toContain('imogen.fairweather@example.org');
      expect(JSON.stringify(inAlto[0])).not.toContain('Rectory');
      const links = must(await h.store.getLinksByContactIds({ ...ref, contactIds: [housed.id, named.id] }));
      expect(links.map((l) => l.contactId)).toEqual([housed.id]);
      // NurtureHub keeps the address Alto was not given.
      const [kept] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [housed.id] }));
      expect(kept?.contact.address?.line1).toBe(longLine);

      const next = await auditedCycle(h);
      expect(next?.errors).toEqual([]);
      expect(next?.written).toMatchObject({ created: 0, updated: 0 });
    } finally {
      await h.close();
    }
  });

  it('is what the simulator enforces: a create or a person patch past a limit is a 400', async () => {
    const h = await createSyncHarness('alto', { simulator: { contacts: 1, seed: 3 } });
    try {
      const token = await fetch(`${h.sim.baseUrl}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${h.sim.credentials.clientId}:${h.sim.credentials.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      }).then((r) => r.json() as Promise<{ access_token: string }>);
      const headers = {
        authorization: `Bearer ${token.access_token}`,
        agencyref: String(h.sim.credentials.agencyRef),
        'content-type': 'application/json',
      };
      const post = (body: unknown) =>
        fetch(`${h.sim.baseUrl}/contacts`, { method: 'POST', headers, body: JSON.stringify(body) });
      const tooLong = await post({
        branchId: String(h.sim.credentials.branchId),
        people: [{ title: 'Right Honourable Lady', surname: 'Fairweather' }],
        address: { postcode: 'SY8 1AA SY8 1AA SY8 1AA' },
      });
      expect(tooLong.status).toBe(400);
      expect(await tooLong.json()).toEqual({
        errors: [
          { code: 'ValidationError', message: 'address.postcode must be at most 20 characters' },
          { code: 'ValidationError', message: 'person.title must be at most 20 characters' },
        ],
      });
      const fits = await post({
        branchId: String(h.sim.credentials.branchId),
        people: [{ title: 'Lady', surname: 'Fairweather' }],
      });
      expect(fits.status).toBe(201);
      const created = (await fits.json()) as { id: string; people: Array<{ id: string }> };
      const patched = await fetch(
        `${h.sim.baseUrl}/contacts/${created.id}/persons/${created.people[0]?.id}`,
        {
          method: 'PATCH',
          headers: { ...headers, 'content-type': 'application/json-patch+json' },
          body: JSON.stringify([{ op: 'replace', path: '/Surname', value: 'F'.repeat(51) }]),
        },
      );
      expect(patched.status).toBe(400);
    } finally {
      await h.close();
    }
  });
});
