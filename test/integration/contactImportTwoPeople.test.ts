import { expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { must } from '../support/syncHarness.ts';

const household = {
  lastName: 'Smith',
  homePhone: '0117 496 0000',
  address: { line1: '4 Elm Grove', postcode: 'BS6 6AA' },
};
const lines = {
  j: canonicalContactSchema.parse({ ...household, firstName: 'J' }),
  john: canonicalContactSchema.parse({ ...household, firstName: 'John', email: 'john.smith@example.com' }),
  jane: canonicalContactSchema.parse({
    ...household,
    firstName: 'Jane',
    email: 'jane.smith@example.com',
    intentScore: 70,
  }),
};

/**
 * A leads file with J Smith, John Smith and Jane Smith of one house and landline: J matches either of the others,
 * which are two people (two given names, two mailboxes). J first, John and Jane were each folded into J's contact:
 * one contact for two people, Jane's intent score on it, and neither e-mail kept. In any order John and Jane are two
 * contacts, and J is folded into neither of them once both are there.
 */
it.each([
  ['j', 'john', 'jane'],
  ['john', 'jane', 'j'],
  ['jane', 'j', 'john'],
] as const)(
  'J, John and Jane Smith of one house in the order %s, %s, %s: John and Jane are never one contact',
  async (...order) => {
    const store = must(await openMemoryStore());
    try {
      const tenantId = must(await store.createTenant({ name: 'acme', syncIntervalSeconds: 900 })).id;
      const imported = await importContacts(store, {
        tenantId,
        lines: order.map((name, i) => ({ line: i + 1, value: lines[name] })),
        now: new Date(),
      });
      const lineOf = (name: keyof typeof lines) => order.indexOf(name) + 1;
      const contactOf = (name: keyof typeof lines) =>
        imported.created.find((c) => c.line === lineOf(name))?.id ??
        imported.matched.find((m) => m.line === lineOf(name))?.matchedId;
      expect(contactOf('john')).toBeDefined();
      expect(contactOf('jane')).toBeDefined();
      expect(contactOf('john')).not.toBe(contactOf('jane'));
      const contacts = must(await store.listContacts({ tenantId, limit: 10 }));
      // Jane's intent score is on Jane's contact only.
      expect(contacts.filter((c) => c.contact.intentScore === 70).map((c) => c.id)).toEqual([
        contactOf('jane'),
      ]);
    } finally {
      await store.close();
    }
  },
);

/**
 * One person spelt two ways that the scorer matches (29 bits), with and without a date of birth, is one contact in
 * these orders of one file. Not in every order: an undated Mohammed before any dated line is its own contact (the
 * scorer does not match it with a dated Muhammad, and an import never joins two contacts a later line matches).
 */
it.each([
  [
    ['Mohammed', 'Muhammad', 'Mohammed'],
    [true, true, true],
  ],
  [
    ['Mohammed', 'Muhammad', 'Mohammed'],
    [true, true, false],
  ],
  [
    ['Mohammed', 'Mohammed', 'Muhammad'],
    [true, false, true],
  ],
] as const)('folds %j Khan of one house and landline (dated: %j) into one contact', async (names, dated) => {
  const store = must(await openMemoryStore());
  try {
    const tenantId = must(await store.createTenant({ name: 'acme', syncIntervalSeconds: 900 })).id;
    const khan = {
      lastName: 'Khan',
      dateOfBirth: '1980-03-14',
      homePhone: '0161 496 0000',
      address: { line1: '7 Park Road', postcode: 'M14 5AA' },
    };
    const imported = await importContacts(store, {
      tenantId,
      lines: names.map((firstName, i) => ({
        line: i + 1,
        value: canonicalContactSchema.parse({
          ...khan,
          firstName,
          dateOfBirth: dated[i] ? khan.dateOfBirth : null,
          homePhone: i === 2 ? '01614960000' : khan.homePhone,
        }),
      })),
      now: new Date(),
    });
    expect(imported.created.map((c) => c.line)).toEqual([1]);
    expect(must(await store.listContacts({ tenantId, limit: 10 }))).toHaveLength(1);
  } finally {
    await store.close();
  }
});
