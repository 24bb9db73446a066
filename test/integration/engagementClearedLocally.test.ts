import { expect, it } from 'vitest';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, editContact, must } from '../support/syncHarness.ts';

type ReapitRecord = { id: string; _eTag?: string; metadata?: { nurturehub?: unknown } };

/**
 * An agent taking a contact out of its nurture sequence and erasing its intent score in NurtureHub, which owns
 * engagement. The clear was set aside as "an empty value erasing engagement the CRM holds": nothing went to Reapit,
 * and at the record's next read (an agency edit of the title) Reapit's old enrolment and score came back into
 * NurtureHub, with no conflict audited: a phantom enrolment.
 */
it('sends NurtureHub clearing engagement to Reapit, and an agency edit afterwards brings none of it back', async () => {
  const h = await createSyncHarness('reapit', { simulator: { contacts: 5, seed: 3 } });
  try {
    await auditedCycle(h);
    const [linked] = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 10 })).filter(
      (c) => c.links.length === 1,
    );
    const externalId = linked?.links[0]?.externalId ?? expect.unreachable('no linked contact');
    const contactId = linked?.id ?? expect.unreachable();
    const engagementInReapit = async () => {
      const records = (await h.sim.control.records()) as Array<{
        id: string;
        metadata?: { nurturehub?: unknown };
      }>;
      return records.find((record) => record.id === externalId)?.metadata?.nurturehub;
    };
    const nurtureSequence = {
      sequenceId: 'spring-vendors',
      step: 1,
      state: 'active' as const,
      enrolledAt: '2026-11-01T09:00:00.000Z',
    };
    await editContact(h, contactId, { nurtureSequence, intentScore: 80 });
    expect((await auditedCycle(h))?.written).toMatchObject({ updated: 1 });
    expect(await engagementInReapit()).toMatchObject({ nurtureSequence, intentScore: 80 });

    await editContact(h, contactId, { nurtureSequence: null, intentScore: null });
    const cleared = await auditedCycle(h);
    expect(cleared?.written).toMatchObject({ updated: 1 });
    expect(await engagementInReapit()).toMatchObject({ nurtureSequence: null, intentScore: null });

    const records = (await h.sim.control.records()) as ReapitRecord[];
    const version = records.find((record) => record.id === externalId)?._eTag ?? null;
    must(await agencyClient('reapit', h.sim).update({ externalId, patch: { title: 'Dr' }, version }));
    const read = await auditedCycle(h);
    expect(read?.conflicts).toEqual([]);
    const [after] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [contactId] }));
    expect(after?.contact).toMatchObject({ title: 'Dr', nurtureSequence: null, intentScore: null });
  } finally {
    await h.close();
  }
}, 120_000);
