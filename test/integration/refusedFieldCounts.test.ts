import { describe, expect, it } from 'vitest';
import type { ProviderName } from '../../src/providers/provider.ts';
import { createSyncHarness, editContact, must, type SyncHarness } from '../support/syncHarness.ts';

/**
 * A write the CRM refused one field of is sent without it (b8a489a). The cycle's counts (status `lastAudit.counts`,
 * docs/api.md: writes `sent`, writes `deferred`: refused by the CRM) must count each planned write once: one sent
 * without its surname is sent, not sent and deferred; one whose two fields are both refused is one write deferred.
 */
async function linkedPerson(h: SyncHarness) {
  const contacts = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 50 }));
  const person = contacts.find(
    (c) =>
      c.links.length === 1 &&
      c.contact.status === 'active' &&
      c.contact.firstName !== null &&
      c.contact.lastName !== null &&
      c.contact.marketingConsent === 'grant',
  );
  if (person === undefined) throw new Error('no linked person to edit');
  return person.id;
}

async function countsAfterEdit(
  provider: ProviderName,
  seed: number,
  change: Record<string, unknown>,
  clockAheadMs = 0,
) {
  const h = await createSyncHarness(provider, {
    simulator: { contacts: 8, seed },
    runner: { clock: () => new Date(Date.now() + clockAheadMs) },
  });
  try {
    must(await h.run());
    const contactId = await linkedPerson(h);
    await editContact(h, contactId, change);
    const outcome = must(await h.run());
    expect(outcome.state).toBe('idle');
    const { plannedWrites, sent, deferred } = outcome.context.lastAudit?.counts ?? {};
    return { plannedWrites, sent, deferred };
  } finally {
    await h.close();
  }
}

describe('the counts of a write with a field the CRM refused', () => {
  it('Reapit: a surname clear left out, the consent withdrawal sent: one write sent, none deferred', async () => {
    expect(await countsAfterEdit('reapit', 3, { lastName: null, marketingConsent: 'deny' })).toEqual({
      plannedWrites: 1,
      sent: 1,
      deferred: 0,
    });
  }, 60_000);

  it('Street: both names cleared, both refused: one write deferred', async () => {
    expect(await countsAfterEdit('street', 11, { firstName: null, lastName: null }, 2_000)).toEqual({
      plannedWrites: 1,
      sent: 0,
      deferred: 1,
    });
  }, 60_000);
});
