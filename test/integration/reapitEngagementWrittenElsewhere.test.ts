import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

type ReapitRecord = { id: string; _eTag: string; metadata?: Record<string, unknown> };

/** A PATCH of a Reapit record as another tool of the agency sends it, over HTTP with the simulator's credentials. */
async function patchAsAgencyTool(h: SyncHarness, id: string, body: unknown): Promise<number> {
  const { clientId, clientSecret, customerId } = h.sim.credentials as Record<string, string>;
  const customer = String(customerId);
  const token = await fetch(`${h.sim.baseUrl}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  }).then((r) => r.json() as Promise<{ access_token: string }>);
  const records = (await h.sim.control.records()) as ReapitRecord[];
  const current = records.find((r) => r.id === id) ?? expect.unreachable(`no record ${id}`);
  const response = await fetch(`${h.sim.baseUrl}/contacts/${id}`, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${token.access_token}`,
      'reapit-customer': customer,
      'api-version': '2020-01-31',
      'if-match': current._eTag,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  await response.body?.cancel();
  return response.status;
}

describe("NurtureHub's engagement block in a Reapit record, written by another tool", () => {
  /**
   * NurtureHub's engagement block in a Reapit record's metadata holds a value our schema cannot read: a last open
   * written without a zone (`2026-11-01T09:00:00`, as a .NET tool writes a DateTime) by a tool of the agency's. The
   * block is NurtureHub's own (it owns engagement, and writes the block whole on every engagement update), yet the
   * whole record is quarantined: the person's contact fields stop syncing. When the person then withdraws consent at
   * the agency (recorded in Reapit), NurtureHub never hears of it and goes on marketing to them, and nothing ever
   * repairs the block, since a quarantined record is never merged or written.
   */
  it("an unreadable engagement value in Reapit's metadata does not hold back the person's consent withdrawal", async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 5, seed: 3 } });
    try {
      await auditedCycle(h);
      const contacts = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 10 }));
      const person =
        contacts.find(
          (c) =>
            c.links.length === 1 && c.contact.status === 'active' && c.contact.marketingConsent === 'grant',
        ) ?? expect.unreachable('no linked person with consent');
      const externalId = person.links[0]?.externalId ?? expect.unreachable();

      const status = await patchAsAgencyTool(h, externalId, {
        metadata: { nurturehub: { emailOpens: 2, emailClicks: 0, lastOpenedAt: '2026-11-01T09:00:00' } },
      });
      expect(status).toBe(204);
      await auditedCycle(h);

      // The person withdraws consent at the agency.
      const records = (await h.sim.control.records()) as ReapitRecord[];
      const version = records.find((r) => r.id === externalId)?._eTag ?? null;
      must(
        await agencyClient('reapit', h.sim).update({
          externalId,
          patch: { marketingConsent: 'deny' },
          version,
        }),
      );
      await auditedCycle(h);

      const [after] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [person.id] }));
      expect(after?.contact.marketingConsent).toBe('deny');
    } finally {
      await h.close();
    }
  }, 120_000);

  /**
   * NurtureHub refuses a last open dated more than a day ahead from every input of its own (an engagement event, an
   * admin edit, a contact import line): "as the latest open or click it would stay the contact's for good". The same
   * date written into Reapit's engagement block (a tool of the agency's with its clock or time zone wrong) is taken
   * as the CRM's edit: it becomes the contact's last open, and no open recorded afterwards ever moves it, as the
   * ingest keeps the later of the two. The contact reads as opened in 2099; recency-based nurturing never sees its
   * real opens again, and the value is pushed on to every CRM that stores engagement.
   */
  it("a last open dated years ahead in Reapit's metadata does not hide the opens recorded after it", async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 5, seed: 3 } });
    try {
      await auditedCycle(h);
      const contacts = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 10 }));
      const person =
        contacts.find((c) => c.links.length === 1 && c.contact.status === 'active') ??
        expect.unreachable('no linked person');
      const externalId = person.links[0]?.externalId ?? expect.unreachable();
      const status = await patchAsAgencyTool(h, externalId, {
        metadata: {
          nurturehub: {
            emailOpens: 1,
            emailClicks: 0,
            lastOpenedAt: '2099-11-01T09:00:00Z',
            lastClickedAt: null,
            intentScore: null,
            nurtureSequence: null,
          },
        },
      });
      expect(status).toBe(204);
      await auditedCycle(h);

      const openedAt = new Date(Date.now() - 60_000).toISOString();
      must(
        await h.store.ingestEngagementEvents({
          tenantId: h.tenantId,
          events: [{ eventId: randomUUID(), contactId: person.id, kind: 'email_open', occurredAt: openedAt }],
          now: new Date(),
        }),
      );
      const [after] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [person.id] }));
      expect(after?.contact.lastOpenedAt).toBe(openedAt);
    } finally {
      await h.close();
    }
  }, 120_000);
});
