import { expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { MAX_HOLDERS_PER_KEY } from '../../src/core/dedup/blocking.ts';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { must } from '../support/syncHarness.ts';

/**
 * A leads file whose lines share a key held by more of them than a look-up in the store takes (the `info@` of many
 * agencies: one mailbox name) compares a line with its file's earlier contacts by that key no more (it was every
 * earlier line, 8,000 lines two minutes); a line repeating one of them by a selective key (its e-mail, its mobile)
 * is still folded into it, wherever it falls in the file.
 */
it('lines sharing one mailbox name at many agencies are each a contact, and a repeat of one still folds in', async () => {
  const store = must(await openMemoryStore());
  try {
    const tenantId = must(await store.createTenant({ name: 'acme', syncIntervalSeconds: 900 })).id;
    const surnames = ['Okafor', 'Lindqvist', 'Haddad', 'Moreau', 'Kowalski', 'Tanaka', 'Byrne', 'Novak'];
    const givenNames = ['Amelia', 'Oliver', 'Isla', 'George', 'Freya', 'Arthur', 'Rosie', 'Hamish', 'Yusuf'];
    const agencies = MAX_HOLDERS_PER_KEY + 20;
    const lead = (i: number) =>
      canonicalContactSchema.parse({
        firstName: givenNames[i % givenNames.length],
        lastName: `${surnames[Math.floor(i / givenNames.length) % surnames.length]}`,
        email: `info@agency${i}.co.uk`,
        mobilePhone: `07700 9${String(i).padStart(5, '0')}`,
      });
    const lines = Array.from({ length: agencies }, (_, i) => ({ line: i + 1, value: lead(i) }));
    // The first and the last of them again, each with a new intent score: the same person by e-mail and mobile.
    const repeats = [0, agencies - 1].map((i, n) => ({
      line: agencies + 1 + n,
      value: { ...lead(i), intentScore: 60 + n },
    }));

    const imported = await importContacts(store, {
      tenantId,
      lines: [...lines, ...repeats],
      now: new Date(),
    });
    expect(imported.created.map((c) => c.line)).toEqual(lines.map((l) => l.line));
    const idOfLine = new Map(imported.created.map((c) => [c.line, c.id]));
    expect(imported.matched.map((m) => [m.line, m.matchedId, m.engagementAdded])).toEqual([
      [agencies + 1, idOfLine.get(1), ['intentScore']],
      [agencies + 2, idOfLine.get(agencies), ['intentScore']],
    ]);
    expect(must(await store.listContacts({ tenantId, limit: 200 }))).toHaveLength(agencies);
  } finally {
    await store.close();
  }
});
