import { describe, expect, it } from 'vitest';
import type { ProviderName } from '../../src/providers/provider.ts';
import { defineSpec, type ProviderSpec } from '../../src/providers/spec.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * Several people whose CRM records the agency deleted and keyed in again come in one delta: each new record is
 * matched to its contact, and the engine asks the CRM whether the record the contact is linked to is still there.
 * It asked with one read per record (5–7 requests in the full-size delta of `bench:sync`); a CRM that documents a
 * read of several records by id (Reapit's `id` filter, Alto's `GET /contacts?id=`) is asked in one request per
 * `maxIdsPerRead` of them, with the same outcome: the new records take the links.
 */
async function keyedInAgain(name: ProviderName, spec?: ProviderSpec) {
  const requests: string[] = [];
  // Answered requests only: the agency's own calls share the CRM's rate limit, and a request answered 429 is sent
  // again.
  const countingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (response.status !== 429) requests.push(`${init?.method ?? 'GET'} ${String(input)}`);
    return response;
  };
  const h = await createSyncHarness(name, {
    simulator: { contacts: 12, seed: 5 },
    runner: { providerOptions: () => ({ fetch: countingFetch, ...(spec ? { spec } : {}) }) },
  });
  try {
    const { tenantId } = h;
    await auditedCycle(h);
    const before = must(await h.store.listContacts({ tenantId, limit: 50 }));
    const people = before
      .filter((c) => c.contact.email !== null && c.contact.lastName !== null && c.links.length === 1)
      .slice(0, 3);
    const deletedIds = people.map((person) => person.links[0]?.externalId ?? '');
    expect(deletedIds.filter((id) => id !== '')).toHaveLength(3);
    expect(await h.sim.control.remove(deletedIds)).toEqual({ removed: deletedIds });
    const agency = agencyClient(name, h.sim);
    const keyedIn: string[] = [];
    for (const [index, person] of people.entries())
      keyedIn.push(
        must(await agency.create({ contact: person.contact, reference: `keyed in ${index}` })).externalId,
      );

    requests.length = 0;
    const relinked = await auditedCycle(h);
    const askedAboutDeleted = requests.filter((request) => deletedIds.some((id) => request.includes(id)));
    expect(relinked?.errors).toEqual([]);
    expect(relinked?.duplicatesSuppressed).toHaveLength(3);
    for (const [index, person] of people.entries()) {
      const links = must(await h.store.getLinksByContactIds({ ...h, contactIds: [person.id] }));
      expect(links.map((l) => l.externalId)).toEqual([keyedIn[index]]);
      expect(relinked?.duplicatesSuppressed).toContainEqual({
        incoming: keyedIn[index],
        matched: person.id,
        reason: expect.stringContaining(
          `in place of ${name} record ${deletedIds[index]}, which ${name} no longer has`,
        ),
      });
    }
    expect(must(await h.store.listContacts({ tenantId, limit: 50 }))).toHaveLength(before.length);
    return askedAboutDeleted;
  } finally {
    await h.close();
  }
}

describe.each(['reapit', 'alto'] as const)('three %s records deleted and keyed in again', (name) => {
  it('asks the CRM about the three deleted records in one request; the new records take the links', async () => {
    const asked = await keyedInAgain(name);
    expect(asked).toHaveLength(1);
  });
});

describe('a read of several records by id capped lower', () => {
  it('asks in requests of at most maxIdsPerRead ids', async () => {
    const { reapitSpec } = await import('../../src/providers/reapit/spec.ts');
    const spec = defineSpec({
      ...reapitSpec,
      capabilities: { ...reapitSpec.capabilities, maxIdsPerRead: 2 },
    });
    const asked = await keyedInAgain('reapit', spec);
    expect(asked).toHaveLength(2);
  });
});
