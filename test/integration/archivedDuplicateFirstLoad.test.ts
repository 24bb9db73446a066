import { describe, expect, it } from 'vitest';
import { type CanonicalContact, type ContactPatch, canonicalContactSchema } from '../../src/core/schemas.ts';
import type { CrmProvider } from '../../src/providers/provider.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

/**
 * Before NurtureHub is connected, the agency's CRM holds a person twice: an old record it archived (the person's
 * first registration, years ago) and the live record of the person registered again. The first load gives NurtureHub
 * one contact, active, synced with the live record; the archived one is a suppressed duplicate and nothing is
 * written to either. The archived record made the contact before, archived, and the live one was suppressed for good:
 * in one batch as the first of its group by id, and in a later batch (a first load of more than 500 records) as the
 * record the contact was linked to.
 */
const person = canonicalContactSchema.parse({
  title: 'Ms',
  firstName: 'Ada',
  lastName: 'Quillfeather',
  email: 'ada.quillfeather@example.org',
  mobilePhone: '07700 900123',
});

async function expectOneLiveContact(
  h: SyncHarness,
  agency: CrmProvider,
  [oldId, liveId]: [string, string],
  expected: (oldId: string, liveId: string) => string[],
) {
  const { store, tenantId } = h;
  const first = await auditedCycle(h);
  const contacts = must(await store.listContacts({ tenantId, limit: 1000 })).filter(
    (c) => c.contact.email === person.email,
  );
  expect(contacts).toHaveLength(1);
  const [contact] = contacts;
  expect(contact?.contact.status).toBe('active');
  const links = must(
    await store.getLinksByContactIds({
      tenantId,
      connectionId: h.connectionId,
      contactIds: [contact?.id ?? ''],
    }),
  );
  expect(links.map((l) => l.externalId)).toEqual([liveId]);
  const notes = first?.duplicatesSuppressed.filter((d) => [oldId, liveId].includes(d.incoming));
  expect(notes?.map((note) => `${note.incoming}: ${note.reason.replace(/: \w+ \(score.*$/, '')}`)).toEqual(
    expected(oldId, liveId),
  );

  // The archived record is remembered as a suppressed duplicate: held as it is, not left as one nothing holds.
  const ref = { tenantId, connectionId: h.connectionId };
  const suppressed = must(await store.getSuppressed({ ...ref, externalIds: [oldId, liveId] }));
  expect(suppressed.map((record) => record.externalId)).toEqual([oldId]);

  // Nothing goes back: the archived record stays archived, the live one active, and the next cycle is quiet.
  expect((await auditedCycle(h))?.written).toMatchObject({ created: 0, updated: 0 });
  expect(must(await agency.getRecord({ externalId: oldId })).contact.status).toBe('archived');
  expect(must(await agency.getRecord({ externalId: liveId })).contact.status).toBe('active');
}

async function keyedIn(agency: CrmProvider, contact: CanonicalContact, reference: string) {
  return must(await agency.create({ contact, reference })).externalId;
}

describe.each(['reapit', 'alto'] as const)(
  'first load of %s: an archived old record and a live one of one person',
  (name) => {
    it('gives one active contact, linked to the live record (one batch)', async () => {
      const h = await createSyncHarness(name, { simulator: { contacts: 3, seed: 5 } });
      try {
        const agency = agencyClient(name, h.sim);
        const oldId = await keyedIn(agency, person, 'first registration');
        const { version } = must(await agency.getRecord({ externalId: oldId }));
        must(await agency.update({ externalId: oldId, patch: { status: 'archived' }, version }));
        const liveId = await keyedIn(agency, person, 'registered again');
        await expectOneLiveContact(h, agency, [oldId, liveId], (old, live) => [
          `${old}: duplicate of ${name} record ${live} in the same batch, suppressed`,
        ]);
      } finally {
        await h.close();
      }
    }, 60_000);
  },
);

describe('first load of reapit: the archived record in an earlier batch than the live one', () => {
  it('gives one active contact, linked to the live record', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 600, seed: 5 } });
    try {
      const agency = agencyClient('reapit', h.sim);
      const [oldId, liveId] = await inTwoBatches(h, agency, { status: 'archived' }, { status: 'active' });
      await expectOneLiveContact(h, agency, [oldId, liveId], (old, live) => [
        `${live}: linked to stored contact in place of reapit record ${old}, which reapit holds archived`,
      ]);
    } finally {
      await h.close();
    }
  }, 120_000);
});

/**
 * Two archived records of one person in different batches: in one batch the first by id makes the contact and the
 * other is its suppressed duplicate, and so across batches. The later one took the contact's link "in place of
 * reapit record X, which reapit holds archived", though archived too, and the contact took its values.
 */
describe('first load of reapit: two archived records of one person in different batches', () => {
  it('links the contact to the first, as one batch does, and suppresses the other', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 600, seed: 5 } });
    try {
      const agency = agencyClient('reapit', h.sim);
      const oldEmail = 'ada.q@oldmail.example.org';
      const [firstId, laterId] = await inTwoBatches(
        h,
        agency,
        { status: 'archived' },
        { status: 'archived', email: oldEmail },
      );
      const load = await auditedCycle(h);
      const contacts = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 1000 })).filter(
        (c) => c.contact.lastName === person.lastName,
      );
      expect(
        contacts.map((c) => ({ email: c.contact.email, links: c.links.map((l) => l.externalId) })),
      ).toEqual([{ email: person.email, links: [firstId] }]);
      expect(load?.duplicatesSuppressed.filter((d) => d.incoming === laterId)).toEqual([
        expect.objectContaining({
          reason: expect.stringContaining(`duplicate of reapit record ${firstId}, suppressed`),
        }),
      ]);
    } finally {
      await h.close();
    }
  }, 180_000);
});

/**
 * Two of the simulator's records made the person, each with `patch` over it, the first reconciled in an earlier
 * batch than the second: staged records go in batches of 500 by id, and the 2nd and the 591st are in different ones.
 */
async function inTwoBatches(
  h: SyncHarness,
  agency: CrmProvider,
  earlier: ContactPatch,
  later: ContactPatch,
): Promise<[string, string]> {
  const ids = ((await h.sim.control.records()) as Array<{ id: string }>).map((r) => r.id).sort();
  const pair: [string, string] = [ids[1] as string, ids[590] as string];
  for (const [externalId, patch] of [
    [pair[0], earlier],
    [pair[1], later],
  ] as const) {
    const { version } = must(await agency.getRecord({ externalId }));
    must(await agency.update({ externalId, patch: { ...person, ...patch }, version }));
  }
  return pair;
}
