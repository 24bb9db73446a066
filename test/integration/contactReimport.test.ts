import { expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { must } from '../support/syncHarness.ts';

/**
 * A `contact import` line that matches a contact already held is folded into it: its enrolment and intent score are
 * added when the contact has none. An agent then takes the contact out of the sequence and erases its score.
 * Importing the very same file again (a routine re-run of a leads export) must not enrol it again: the line was
 * folded in once, and a re-run ends in the same state. A file repeating the line is one fold too; and so is the next
 * export's line of the lead, which differs (one more open) but brings the same enrolment.
 */
it('a leads file imported again does not re-enrol a contact the agent took out of its sequence', async () => {
  const store = must(await openMemoryStore());
  try {
    const tenantId = must(await store.createTenant({ name: 'acme', syncIntervalSeconds: 900 })).id;
    const held = canonicalContactSchema.parse({
      firstName: 'Priya',
      lastName: 'Ramanathan',
      email: 'priya.r@example.net',
    });
    const created = await importContacts(store, {
      tenantId,
      lines: [{ line: 1, value: held }],
      now: new Date(),
    });
    const id = created.created[0]?.id ?? expect.unreachable();

    const lead = canonicalContactSchema.parse({
      ...held,
      mobilePhone: '07700 900461',
      intentScore: 70,
      nurtureSequence: { sequenceId: 'spring', step: 2, state: 'active', enrolledAt: '2025-05-20T08:00:00Z' },
    });
    const file = [
      { line: 1, value: lead },
      { line: 2, value: lead },
    ];
    const once = await importContacts(store, { tenantId, lines: file, now: new Date() });
    expect(once.created).toEqual([]);
    expect(once.matched.map((m) => [m.line, m.matchedId, m.engagementAdded])).toEqual([
      [1, id, ['intentScore', 'nurtureSequence']],
      [2, id, []],
    ]);
    expect(once.matched[1]?.reason).toBe('the same contact as line 1');

    const [enrolled] = must(await store.getContacts({ tenantId, ids: [id] }));
    must(
      await store.upsertContacts({
        tenantId,
        contacts: [
          { id, contact: { ...(enrolled?.contact ?? held), nurtureSequence: null, intentScore: null } },
        ],
        now: new Date(),
      }),
    );
    const [cleared] = must(await store.getContacts({ tenantId, ids: [id] }));

    const twice = await importContacts(store, { tenantId, lines: file, now: new Date() });
    expect(twice.created).toEqual([]);
    expect(twice.matched.map((m) => [m.line, m.matchedId, m.engagementAdded, m.reason])).toEqual([
      [1, id, [], 'the same line was imported before and added to this contact'],
      [2, id, [], 'the same line was imported before and added to this contact'],
    ]);
    const [after] = must(await store.getContacts({ tenantId, ids: [id] }));
    expect(after?.contact).toMatchObject({ nurtureSequence: null, intentScore: null });
    // Nothing written: no new change for the cycles to send.
    expect(after?.changeSeq).toBe(cleared?.changeSeq);

    // Tomorrow's export: the same lead, one more open, its score moved with it and its sequence a step on, so another
    // line. Its opens are taken, but not a score or the enrolment in a sequence an earlier line gave the contact:
    // folded again, they came back (a phantom enrolment).
    const tomorrow = canonicalContactSchema.parse({
      ...lead,
      emailOpens: 4,
      intentScore: 74,
      nurtureSequence: { ...lead.nurtureSequence, step: 3 },
    });
    const later = await importContacts(store, {
      tenantId,
      lines: [{ line: 1, value: tomorrow }],
      now: new Date(),
    });
    expect(later.matched.map((m) => [m.matchedId, m.engagementAdded])).toEqual([[id, ['emailOpens']]]);
    const [exported] = must(await store.getContacts({ tenantId, ids: [id] }));
    expect(exported?.contact).toMatchObject({ emailOpens: 4, nurtureSequence: null, intentScore: null });
  } finally {
    await store.close();
  }
}, 60_000);

it('a later export does not re-enrol a lead an earlier import created enrolled, once the agent took it out', async () => {
  const store = must(await openMemoryStore());
  try {
    const tenantId = must(await store.createTenant({ name: 'acme', syncIntervalSeconds: 900 })).id;
    const lead = canonicalContactSchema.parse({
      firstName: 'Priya',
      lastName: 'Ramanathan',
      email: 'priya.r@example.net',
      emailOpens: 1,
      intentScore: 40,
      nurtureSequence: {
        sequenceId: 'buyer-welcome',
        step: 1,
        state: 'active',
        enrolledAt: '2025-05-20T08:00:00Z',
      },
    });
    const created = await importContacts(store, {
      tenantId,
      lines: [{ line: 1, value: lead }],
      now: new Date(),
    });
    const id = created.created[0]?.id ?? expect.unreachable();
    const [enrolled] = must(await store.getContacts({ tenantId, ids: [id] }));
    must(
      await store.upsertContacts({
        tenantId,
        contacts: [
          { id, contact: { ...(enrolled?.contact ?? lead), nurtureSequence: null, intentScore: null } },
        ],
        now: new Date(),
      }),
    );

    const tomorrow = canonicalContactSchema.parse({ ...lead, emailOpens: 2, intentScore: 45 });
    const later = await importContacts(store, {
      tenantId,
      lines: [{ line: 1, value: tomorrow }],
      now: new Date(),
    });
    expect(later.matched.map((m) => [m.matchedId, m.engagementAdded])).toEqual([[id, ['emailOpens']]]);
    const [after] = must(await store.getContacts({ tenantId, ids: [id] }));
    expect(after?.contact).toMatchObject({ emailOpens: 2, nurtureSequence: null, intentScore: null });
  } finally {
    await store.close();
  }
}, 60_000);

it('an export line bringing the sequence a contact is in already does not re-enrol it once the agent took it out', async () => {
  const store = must(await openMemoryStore());
  try {
    const tenantId = must(await store.createTenant({ name: 'acme', syncIntervalSeconds: 900 })).id;
    const sequence = {
      sequenceId: 'buyer-welcome',
      step: 1,
      state: 'active',
      enrolledAt: '2025-05-20T08:00:00Z',
    };
    const held = canonicalContactSchema.parse({
      firstName: 'Priya',
      lastName: 'Ramanathan',
      email: 'priya.r@example.net',
    });
    const created = await importContacts(store, {
      tenantId,
      lines: [{ line: 1, value: held }],
      now: new Date(),
    });
    const id = created.created[0]?.id ?? expect.unreachable();
    const setSequence = async (nurtureSequence: unknown) => {
      const [stored] = must(await store.getContacts({ tenantId, ids: [id] }));
      const contact = canonicalContactSchema.parse({ ...stored?.contact, nurtureSequence });
      must(await store.upsertContacts({ tenantId, contacts: [{ id, contact }], now: new Date() }));
    };
    // Enrolled before any import brought the sequence (by a CRM, or an import before this was remembered).
    await setSequence(sequence);
    const exportLine = (emailOpens: number, step: number) =>
      canonicalContactSchema.parse({ ...held, emailOpens, nurtureSequence: { ...sequence, step } });

    // Today's export brings the sequence the contact is in: nothing to add but the open.
    const today = await importContacts(store, {
      tenantId,
      lines: [{ line: 1, value: exportLine(1, 2) }],
      now: new Date(),
    });
    expect(today.matched.map((m) => m.engagementAdded)).toEqual([['emailOpens']]);
    // The agent takes the contact out; tomorrow's export still has it in the sequence.
    await setSequence(null);
    const tomorrow = await importContacts(store, {
      tenantId,
      lines: [{ line: 1, value: exportLine(2, 3) }],
      now: new Date(),
    });
    expect(tomorrow.matched.map((m) => m.engagementAdded)).toEqual([['emailOpens']]);
    const [after] = must(await store.getContacts({ tenantId, ids: [id] }));
    expect(after?.contact).toMatchObject({ emailOpens: 2, nurtureSequence: null });
  } finally {
    await store.close();
  }
}, 60_000);
