import { describe, expect, test } from 'vitest';
import { contentHash } from './canonicalJson.ts';
import {
  type FieldDecision,
  hashPushedFields,
  type MergeContactParams,
  type MergeOutcome,
  mergeContact,
  mergeValidated,
} from './merge.ts';
import {
  type CanonicalContact,
  type CanonicalContactInput,
  type ContactField,
  canonicalContactSchema,
  contactFields,
  crmOwnedFields,
} from './schemas.ts';

const contact = (fields: CanonicalContactInput = {}): CanonicalContact =>
  canonicalContactSchema.parse(fields);

function merged(params: MergeContactParams): MergeOutcome {
  const result = mergeContact(params);
  if (!result.ok) throw new Error(`unexpected invalid input: ${JSON.stringify(result.error)}`);
  return result.value;
}

function decisionOf(outcome: MergeOutcome, field: ContactField): FieldDecision {
  const decision = outcome.decisions.find((d) => d.field === field);
  if (!decision) throw new Error(`no decision for ${field}`);
  return decision;
}

/** Which side the merge sends a patch to for the field under test. */
type Patched = 'crm' | 'local' | 'neither';

type Row = [
  name: string,
  field: ContactField,
  base: unknown,
  crm: unknown,
  local: unknown,
  merged: unknown,
  reason: FieldDecision['reason'],
  winner: FieldDecision['winner'],
  patched: Patched,
];

const [A, B, C] = ['ann@example.co.uk', 'bo@example.com', 'cy@example.org'];
const conflict = 'both-changed-resolved-by-authority';
const withdrawal = 'both-changed-resolved-by-withdrawal';

// email is owned by the CRM, intentScore and emailOpens by NurtureHub.
// biome-ignore format: one row per line reads as a table
const withBase: Row[] = [
  ['nothing changed', 'email', A, A, A, A, 'unchanged', null, 'neither'],
  ['CRM edit flows to local', 'email', A, B, A, B, 'only-crm-changed', 'crm', 'local'],
  ['local edit of a CRM-owned field flows to the CRM', 'email', A, A, B, B, 'only-local-changed', 'nurturehub', 'crm'],
  ['both made the same edit', 'email', A, B, B, B, 'both-changed-to-same', null, 'neither'],
  ['conflict: the CRM owns email', 'email', A, B, C, B, conflict, 'crm', 'local'],
  ['CRM clearing a contact field is a change', 'email', A, null, A, null, 'only-crm-changed', 'crm', 'local'],
  ['CRM clearing beats a local edit of a CRM-owned field', 'email', A, null, B, null, conflict, 'crm', 'local'],
  ['local clearing a contact field flows to the CRM', 'email', A, A, null, null, 'only-local-changed', 'nurturehub', 'crm'],
  ['nothing changed', 'intentScore', 40, 40, 40, 40, 'unchanged', null, 'neither'],
  ['CRM edit of an engagement field flows to local', 'intentScore', 40, 55, 40, 55, 'only-crm-changed', 'crm', 'local'],
  ['local engagement change flows to the CRM', 'intentScore', 40, 40, 70, 70, 'only-local-changed', 'nurturehub', 'crm'],
  ['both made the same change', 'intentScore', 40, 70, 70, 70, 'both-changed-to-same', null, 'neither'],
  ['conflict: NurtureHub owns engagement', 'intentScore', 40, 55, 70, 70, conflict, 'nurturehub', 'crm'],
  ['CRM emptying engagement erases nothing; the CRM is repaired', 'intentScore', 40, null, 40, 40, 'unchanged', 'nurturehub', 'crm'],
  ['CRM zero opens do not wipe a local change', 'emailOpens', 5, 0, 7, 7, 'only-local-changed', 'nurturehub', 'crm'],
  ['local emptying engagement flows to the CRM: NurtureHub owns it', 'intentScore', 40, 40, null, null, 'only-local-changed', 'nurturehub', 'crm'],
  ['local emptying engagement beats a CRM change', 'intentScore', 40, 55, null, null, conflict, 'nurturehub', 'crm'],
  ['both emptied engagement', 'intentScore', 40, null, null, null, 'both-changed-to-same', null, 'neither'],
  ['local withdrawal of consent beats a CRM grant', 'marketingConsent', 'notAsked', 'grant', 'deny', 'deny', withdrawal, 'nurturehub', 'crm'],
  ['CRM withdrawal of consent beats a local grant', 'marketingConsent', 'notAsked', 'deny', 'grant', 'deny', withdrawal, 'crm', 'local'],
];

// biome-ignore format: one row per line reads as a table
const firstLink: Row[] = [
  ['CRM value fills an empty local field', 'email', null, A, null, A, 'only-crm-changed', 'crm', 'local'],
  ['local value fills an empty CRM field', 'email', null, null, A, A, 'only-local-changed', 'nurturehub', 'crm'],
  ['differing contact values: the CRM decides', 'email', null, A, B, A, conflict, 'crm', 'local'],
  ['agreeing values', 'email', null, A, A, A, 'both-changed-to-same', null, 'neither'],
  ['both empty', 'email', null, null, null, null, 'unchanged', null, 'neither'],
  ['differing engagement: NurtureHub decides', 'intentScore', null, 55, 70, 70, conflict, 'nurturehub', 'crm'],
  ['CRM default opens do not erase local opens', 'emailOpens', null, 0, 9, 9, 'only-local-changed', 'nurturehub', 'crm'],
  ['recorded consent beats notAsked', 'marketingConsent', null, 'notAsked', 'grant', 'grant', 'only-local-changed', 'nurturehub', 'crm'],
  ['a lead that unsubscribed stays unsubscribed when the CRM says grant', 'marketingConsent', null, 'grant', 'deny', 'deny', withdrawal, 'nurturehub', 'crm'],
  ["the CRM's deny beats a local grant", 'marketingConsent', null, 'deny', 'grant', 'deny', withdrawal, 'crm', 'local'],
  ['status has no empty value: the CRM decides', 'status', null, 'archived', 'active', 'archived', conflict, 'crm', 'local'],
];

describe.each([
  ['with a base', withBase],
  ['on a first link', firstLink],
])('mergeContact %s', (_, rows) => {
  test.each(rows)('%s (%s)', (_, field, base, crm, local, value, reason, winner, patched) => {
    const outcome = merged({
      base: rows === firstLink ? null : { [field]: base },
      crm: { [field]: crm },
      local: { [field]: local },
    });

    expect(decisionOf(outcome, field)).toMatchObject({ merged: value, reason, winner });
    expect(outcome.merged[field]).toEqual(value);
    expect(outcome.crmPatch).toEqual(patched === 'crm' ? { [field]: value } : {});
    expect(outcome.localPatch).toEqual(patched === 'local' ? { [field]: value } : {});
    expect(outcome.conflicts).toEqual(
      reason === conflict || reason === withdrawal ? [{ field, base, crm, local, winner, reason }] : [],
    );
    expect(outcome.firstLink).toBe(rows === firstLink);
  });
});

describe('mergeContact', () => {
  test('decides every field once, in table order, and leaves untouched fields alone', () => {
    const outcome = merged({ base: {}, crm: { firstName: 'Ann' }, local: { emailClicks: 2 } });
    expect(outcome.decisions.map((d) => d.field)).toEqual(contactFields);
    expect(outcome.crmPatch).toEqual({ emailClicks: 2 });
    expect(outcome.localPatch).toEqual({ firstName: 'Ann' });
  });

  test('addresses compare structurally, not by key order', () => {
    const address = contact({
      address: { line1: '1 High St', postcode: 'AB1 2CD', countryCode: 'GB' },
    }).address;
    const reordered = address && Object.fromEntries(Object.entries(address).reverse());
    const base = contact({ address });
    const outcome = mergeValidated({
      base,
      crm: { ...base, address: reordered as typeof address },
      local: base,
    });
    expect(decisionOf(outcome, 'address').reason).toBe('unchanged');
    expect(outcome.crmPatch).toEqual({});
    expect(outcome.localPatch).toEqual({});
  });

  test('an e-mail in another letter case or a phone number written otherwise is the same value', () => {
    // A first link: both sides hold the person, each in its own form. No conflict, nothing written either way.
    const firstLink = merged({
      base: null,
      crm: { lastName: 'Okafor', email: 'W.Okafor@Example.com', mobilePhone: '07700 900612' },
      local: { lastName: 'Okafor', email: 'w.okafor@example.com', mobilePhone: '+447700900612' },
    });
    expect(firstLink.conflicts).toEqual([]);
    expect(firstLink.crmPatch).toEqual({});
    expect(firstLink.localPatch).toEqual({});
    expect(decisionOf(firstLink, 'mobilePhone')).toMatchObject({
      reason: 'both-changed-to-same',
      winner: null,
    });

    // Linked since: the CRM re-spacing a number is not a change; a new number is.
    const base = { lastName: 'Okafor', mobilePhone: '+447700900612', homePhone: '0161 496 0000' };
    const respaced = merged({ base, crm: { ...base, mobilePhone: '07700 900 612' }, local: base });
    expect(decisionOf(respaced, 'mobilePhone').reason).toBe('unchanged');
    expect(respaced.localPatch).toEqual({});
    const renumbered = merged({ base, crm: { ...base, mobilePhone: '07700 900613' }, local: base });
    expect(renumbered.localPatch).toEqual({ mobilePhone: '07700 900613' });
    // So is another extension of the same switchboard: another desk.
    const desk = { ...base, workPhone: '020 7946 0000 ext 214' };
    const moved = merged({ base: desk, crm: { ...desk, workPhone: '020 7946 0000 ext 300' }, local: desk });
    expect(moved.localPatch).toEqual({ workPhone: '020 7946 0000 ext 300' });
    // And a note typed beside the number: the parser drops it, the people dialling it do not.
    const noted = merged({ base, crm: { ...base, mobilePhone: '+447700900612 DO NOT CALL' }, local: base });
    expect(noted.localPatch).toEqual({ mobilePhone: '+447700900612 DO NOT CALL' });
    // Text that reads as no number at all is compared as text: two different notes are two values.
    const note = { ...base, workPhone: 'ask for Sue' };
    const renoted = merged({ base: note, crm: { ...note, workPhone: 'reception only' }, local: note });
    expect(renoted.localPatch).toEqual({ workPhone: 'reception only' });
    // Only the phone and e-mail fields: a surname's letter case is the agency's to correct.
    const recased = merged({ base, crm: { ...base, lastName: 'OKAFOR' }, local: base });
    expect(recased.localPatch).toEqual({ lastName: 'OKAFOR' });
  });

  test('text in another Unicode form or a postcode spaced or cased otherwise is the same value', () => {
    const composed = 'Jos\u00e9';
    const decomposed = 'Jose\u0301';
    // A first link: no conflict for a name the two sides merely encode differently, nothing written.
    const firstLink = merged({
      base: null,
      crm: { firstName: decomposed, lastName: 'Okafor' },
      local: { firstName: composed, lastName: 'Okafor' },
    });
    expect(firstLink.conflicts).toEqual([]);
    expect([firstLink.crmPatch, firstLink.localPatch]).toEqual([{}, {}]);

    // Two CRMs that store a postcode each in their own form do not hand it back and forth.
    const address = { line1: '1 Rue de la Paix', postcode: 'SW1A 1AA', countryCode: 'GB' };
    const base = { lastName: 'Okafor', address };
    const reformatted = merged({
      base,
      crm: {
        ...base,
        address: { ...address, line1: '1 Rue de la Paix'.normalize('NFD'), postcode: 'sw1a1aa' },
      },
      local: base,
    });
    expect(decisionOf(reformatted, 'address').reason).toBe('unchanged');
    expect([reformatted.crmPatch, reformatted.localPatch]).toEqual([{}, {}]);
    // Another postcode, or another line, is a change.
    const moved = merged({
      base,
      crm: { ...base, address: { ...address, postcode: 'SW1A 2AA' } },
      local: base,
    });
    expect(moved.localPatch.address).toMatchObject({ ...address, postcode: 'SW1A 2AA' });
    const cleared = merged({ base, crm: { ...base, address: { ...address, line1: null } }, local: base });
    expect(cleared.localPatch.address).toMatchObject({ ...address, line1: null });
  });

  test('a CRM value equal to our last push is an echo, so the newer local edit wins', () => {
    const params = { base: { email: A }, crm: { email: B }, local: { email: C } };
    expect(merged(params).merged.email).toBe(B);

    const outcome = merged({ ...params, lastPushed: hashPushedFields({ email: B }) });
    expect(decisionOf(outcome, 'email')).toMatchObject({
      reason: 'only-local-changed',
      crmIgnored: 'echo',
      merged: C,
    });
    expect(outcome.crmPatch).toEqual({ email: C });
    expect(outcome.conflicts).toEqual([]);
  });

  test('a CRM value other than our last push is still a change', () => {
    const outcome = merged({
      base: { email: A },
      crm: { email: B },
      local: { email: A },
      lastPushed: { email: contentHash(C) },
    });
    expect(decisionOf(outcome, 'email')).toMatchObject({ reason: 'only-crm-changed', merged: B });
  });

  test('regression: an echoed engagement value is not erased by an empty local value that did not change', () => {
    const openedAt = '2024-06-01T08:30:00.000Z';
    const outcome = merged({
      base: {},
      crm: { lastOpenedAt: openedAt },
      local: {},
      lastPushed: hashPushedFields({ lastOpenedAt: openedAt }),
    });
    expect(decisionOf(outcome, 'lastOpenedAt')).toMatchObject({
      reason: 'unchanged',
      crmIgnored: 'echo',
      winner: 'crm',
    });
    expect(outcome.localPatch).toEqual({ lastOpenedAt: openedAt });
    expect(outcome.crmPatch).toEqual({});
  });

  test('fields the provider cannot store are ignored on the CRM side and never patched', () => {
    const outcome = merged({
      base: { intentScore: 40, emailOpens: 3 },
      crm: { intentScore: 99 },
      local: { intentScore: 70, emailOpens: 3 },
      storedFields: crmOwnedFields,
    });
    expect(decisionOf(outcome, 'intentScore')).toMatchObject({
      reason: 'only-local-changed',
      crmIgnored: 'not-stored',
      merged: 70,
    });
    expect(decisionOf(outcome, 'emailOpens')).toMatchObject({ reason: 'unchanged', merged: 3 });
    expect(outcome.crmPatch).toEqual({});
    expect(outcome.localPatch).toEqual({});
    expect(outcome.skippedFields).toEqual([]);
  });

  test('an unwritable field is skipped, and the next base keeps the CRM value so it is not reverted', () => {
    const writableFields = contactFields.filter((f) => f !== 'title');
    const first = merged({
      base: { title: 'Mr' },
      crm: { title: 'Mr', firstName: 'Ann' },
      local: { title: 'Dr' },
      writableFields,
    });
    expect(first.skippedFields).toEqual(['title']);
    expect(first.crmPatch).toEqual({});
    expect(first.localPatch).toEqual({ firstName: 'Ann' });
    expect(first.merged.title).toBe('Dr');
    expect(first.nextBase.title).toBe('Mr');

    const again = mergeValidated({
      base: first.nextBase,
      crm: contact({ title: 'Mr', firstName: 'Ann' }),
      local: first.merged,
      writableFields,
    });
    expect(again.merged.title).toBe('Dr');
    expect(again.skippedFields).toEqual(['title']);
    expect(again.crmPatch).toEqual({});
    expect(again.localPatch).toEqual({});
  });
});

describe('mergeContact with bad input', () => {
  test.each<[string, Partial<MergeContactParams>, string, { path: string; message?: string }[]]>([
    ['a malformed CRM email', { crm: { email: 'not-an-email' } }, 'crm', [{ path: 'email' }]],
    [
      'an over-long local postcode',
      { local: { address: { postcode: 'X'.repeat(20) } } },
      'local',
      [{ path: 'address.postcode' }],
    ],
    [
      'an unknown base field',
      { base: { favouriteColour: 'red' } },
      'base',
      [{ path: 'favouriteColour', message: 'unknown field' }],
    ],
    ['a CRM record that is not an object', { crm: null }, 'crm', [{ path: '' }]],
    ['a missing base (null is the first link)', { base: undefined }, 'base', [{ path: '' }]],
    ['a negative open count', { local: { emailOpens: -1 } }, 'local', [{ path: 'emailOpens' }]],
    [
      'a lastPushed entry that is not a hash',
      { lastPushed: { email: A } },
      'lastPushed',
      [{ path: 'email' }],
    ],
    [
      'a lastPushed entry for no field',
      { lastPushed: { shoeSize: contentHash(9) } },
      'lastPushed',
      [{ path: 'shoeSize' }],
    ],
    [
      'bad base and crm: base is reported',
      { base: { email: 1 }, crm: { email: 2 } },
      'base',
      [{ path: 'email' }],
    ],
  ])('%s is a typed error naming the field', (_, params, side, fields) => {
    const result = mergeContact({ base: {}, crm: {}, local: {}, ...params });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({ kind: 'invalid_input', side, fields });
    expect(result.error.fields).toHaveLength(fields.length);
  });
});

describe('mergeContact with newerElsewhere', () => {
  const newerElsewhere = new Set<ContactField>(['email']);

  test('a differing CRM value there is the older copy: the local value wins and goes to the CRM', () => {
    const outcome = merged({ base: null, crm: { email: A }, local: { email: B }, newerElsewhere });
    expect(decisionOf(outcome, 'email')).toMatchObject({
      merged: B,
      reason: 'both-changed-resolved-by-recency',
      winner: 'nurturehub',
    });
    expect(outcome.crmPatch).toEqual({ email: B });
    expect(outcome.localPatch).toEqual({});
    expect(outcome.conflicts).toEqual([
      {
        field: 'email',
        base: null,
        crm: A,
        local: B,
        winner: 'nurturehub',
        reason: 'both-changed-resolved-by-recency',
      },
    ]);
  });

  test('other fields, agreeing values and an empty side follow the first-link rules', () => {
    const outcome = merged({
      base: null,
      crm: { email: A, mobilePhone: '+447700900123', firstName: 'Ann' },
      local: { email: A, mobilePhone: '+447700900999' },
      newerElsewhere: new Set<ContactField>(['email', 'firstName']),
    });
    expect(decisionOf(outcome, 'email').reason).toBe('both-changed-to-same');
    expect(decisionOf(outcome, 'firstName')).toMatchObject({ reason: 'only-crm-changed', merged: 'Ann' });
    expect(decisionOf(outcome, 'mobilePhone')).toMatchObject({ reason: conflict, winner: 'crm' });
  });

  test('on a linked record, a conflict there goes to the local value; a change on one side still flows', () => {
    const outcome = merged({ base: { email: C }, crm: { email: A }, local: { email: B }, newerElsewhere });
    expect(decisionOf(outcome, 'email')).toMatchObject({
      reason: 'both-changed-resolved-by-recency',
      winner: 'nurturehub',
      merged: B,
    });
    expect(outcome.crmPatch).toEqual({ email: B });
    const crmOnly = merged({ base: { email: C }, crm: { email: A }, local: { email: C }, newerElsewhere });
    expect(decisionOf(crmOnly, 'email')).toMatchObject({ reason: 'only-crm-changed', merged: A });
  });

  test("a CRM's withdrawal of consent is not outranked by a grant another CRM's later-dated record holds", () => {
    const outcome = merged({
      base: null,
      crm: { marketingConsent: 'deny' },
      local: { marketingConsent: 'grant' },
      newerElsewhere: new Set<ContactField>(['marketingConsent']),
    });
    expect(decisionOf(outcome, 'marketingConsent')).toMatchObject({
      merged: 'deny',
      reason: withdrawal,
      winner: 'crm',
    });
    expect(outcome.localPatch).toEqual({ marketingConsent: 'deny' });
  });
});
