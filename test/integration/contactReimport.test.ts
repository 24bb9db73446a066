import { expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import {
  type CanonicalContact,
  canonicalContactSchema,
  type NurtureSequence,
} from '../../src/core/schemas.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { must } from '../support/syncHarness.ts';

const priya = canonicalContactSchema.parse({
  firstName: 'Priya',
  lastName: 'Ramanathan',
  email: 'priya.r@example.net',
});
const buyerWelcome: NurtureSequence = {
  sequenceId: 'buyer-welcome',
  step: 1,
  state: 'active',
  enrolledAt: '2025-05-20T08:00:00Z',
};

/** A tenant on its own store, its first import's contact created from `first`, and what the steps need. */
async function withImported(
  first: CanonicalContact,
  run: (t: {
    id: string;
    imported(lines: CanonicalContact[]): ReturnType<typeof importContacts>;
    contact(): Promise<{ contact: CanonicalContact; changeSeq: number } | undefined>;
    /** An agent's edit of the contact in NurtureHub. */
    edit(change: Partial<CanonicalContact>): Promise<void>;
  }) => Promise<void>,
) {
  const store = must(await openMemoryStore());
  try {
    const tenantId = must(await store.createTenant({ name: 'acme', syncIntervalSeconds: 900 })).id;
    const imported = (lines: CanonicalContact[]) =>
      importContacts(store, {
        tenantId,
        lines: lines.map((value, i) => ({ line: i + 1, value })),
        now: new Date(),
      });
    const id = (await imported([first])).created[0]?.id ?? expect.unreachable();
    const contact = async () => must(await store.getContacts({ tenantId, ids: [id] }))[0];
    const edit = async (change: Partial<CanonicalContact>) => {
      const held = (await contact())?.contact ?? first;
      const edited = canonicalContactSchema.parse({ ...held, ...change });
      must(await store.upsertContacts({ tenantId, contacts: [{ id, contact: edited }], now: new Date() }));
    };
    await run({ id, imported, contact, edit });
  } finally {
    await store.close();
  }
}

/**
 * A `contact import` line that matches a contact already held is folded into it: its enrolment and intent score are
 * added when the contact has none. An agent then takes the contact out of the sequence and erases its score.
 * Importing the very same file again (a routine re-run of a leads export) must not enrol it again: the line was
 * folded in once, and a re-run ends in the same state. A file repeating the line is one fold too; and so is the next
 * export's line of the lead, which differs (one more open) but brings the same enrolment.
 */
it('a leads file imported again does not re-enrol a contact the agent took out of its sequence', async () => {
  await withImported(priya, async ({ id, imported, contact, edit }) => {
    const lead = canonicalContactSchema.parse({
      ...priya,
      mobilePhone: '07700 900461',
      intentScore: 70,
      nurtureSequence: { sequenceId: 'spring', step: 2, state: 'active', enrolledAt: '2025-05-20T08:00:00Z' },
    });
    const once = await imported([lead, lead]);
    expect(once.created).toEqual([]);
    expect(once.matched.map((m) => [m.line, m.matchedId, m.engagementAdded])).toEqual([
      [1, id, ['intentScore', 'nurtureSequence']],
      [2, id, []],
    ]);
    expect(once.matched[1]?.reason).toBe('the same contact as line 1');

    await edit({ nurtureSequence: null, intentScore: null });
    const cleared = await contact();

    const twice = await imported([lead, lead]);
    expect(twice.created).toEqual([]);
    expect(twice.matched.map((m) => [m.line, m.matchedId, m.engagementAdded, m.reason])).toEqual([
      [1, id, [], 'the same line was imported before and added to this contact'],
      [2, id, [], 'the same line was imported before and added to this contact'],
    ]);
    const after = await contact();
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
    const later = await imported([tomorrow]);
    expect(later.matched.map((m) => [m.matchedId, m.engagementAdded])).toEqual([[id, ['emailOpens']]]);
    expect((await contact())?.contact).toMatchObject({
      emailOpens: 4,
      nurtureSequence: null,
      intentScore: null,
    });
  });
}, 60_000);

it('a later export does not re-enrol a lead an earlier import created enrolled, once the agent took it out', async () => {
  const lead = canonicalContactSchema.parse({
    ...priya,
    emailOpens: 1,
    intentScore: 40,
    nurtureSequence: buyerWelcome,
  });
  await withImported(lead, async ({ id, imported, contact, edit }) => {
    await edit({ nurtureSequence: null, intentScore: null });

    const tomorrow = canonicalContactSchema.parse({ ...lead, emailOpens: 2, intentScore: 45 });
    const later = await imported([tomorrow]);
    expect(later.matched.map((m) => [m.matchedId, m.engagementAdded])).toEqual([[id, ['emailOpens']]]);
    expect((await contact())?.contact).toMatchObject({
      emailOpens: 2,
      nurtureSequence: null,
      intentScore: null,
    });
  });
}, 60_000);

it('an export line bringing the sequence a contact is in already does not re-enrol it once the agent took it out', async () => {
  await withImported(priya, async ({ imported, contact, edit }) => {
    // Enrolled before any import brought the sequence (by a CRM, or an import before this was remembered).
    await edit({ nurtureSequence: buyerWelcome });
    const exportLine = (emailOpens: number, step: number) =>
      canonicalContactSchema.parse({ ...priya, emailOpens, nurtureSequence: { ...buyerWelcome, step } });

    // Today's export brings the sequence the contact is in: nothing to add but the open.
    const today = await imported([exportLine(1, 2)]);
    expect(today.matched.map((m) => m.engagementAdded)).toEqual([['emailOpens']]);
    // The agent takes the contact out; tomorrow's export still has it in the sequence.
    await edit({ nurtureSequence: null });
    const tomorrow = await imported([exportLine(2, 3)]);
    expect(tomorrow.matched.map((m) => m.engagementAdded)).toEqual([['emailOpens']]);
    expect((await contact())?.contact).toMatchObject({ emailOpens: 2, nurtureSequence: null });
  });
}, 60_000);

it('an export line bringing a score to a contact that has one does not bring it back once the agent cleared it', async () => {
  await withImported(priya, async ({ imported, contact, edit }) => {
    // Scored before any import brought a score (by NurtureHub, or a CRM).
    await edit({ intentScore: 50 });
    const exportLine = (emailOpens: number, intentScore: number) =>
      canonicalContactSchema.parse({ ...priya, emailOpens, intentScore });

    // Today's export has a score: the contact keeps its own, and takes the open.
    const today = await imported([exportLine(1, 70)]);
    expect(today.matched.map((m) => m.engagementAdded)).toEqual([['emailOpens']]);
    // The agent clears the score; tomorrow's export, its score moved on, brought it back.
    await edit({ intentScore: null });
    const tomorrow = await imported([exportLine(2, 75)]);
    expect(tomorrow.matched.map((m) => m.engagementAdded)).toEqual([['emailOpens']]);
    expect((await contact())?.contact).toMatchObject({ emailOpens: 2, intentScore: null });
  });
}, 60_000);
