import { describe, expect, it } from 'vitest';
import { MAX_HOLDERS_PER_KEY } from '../../core/dedup/blocking.ts';
import { generateContacts, SEED_EPOCH_MS } from './generator.ts';

const DAY_MS = 86_400_000;

describe('generateContacts', () => {
  it.each([1_000, 200_000])(
    'spreads %i seeds over the 180 days after the epoch, in modified order',
    (count) => {
      const seeds = generateContacts({ count, seed: 5 });
      expect(seeds).toHaveLength(count);
      const modified = seeds.map((s) => s.modifiedMs);
      expect(modified.every((ms, i) => i === 0 || ms >= (modified[i - 1] ?? 0))).toBe(true);
      const last = modified.at(-1) ?? 0;
      // All in the past of any clock after mid-2025, so a fetch window up to now holds every seed.
      expect(last).toBeLessThanOrEqual(SEED_EPOCH_MS + 180 * DAY_MS);
      expect(last).toBeGreaterThan(SEED_EPOCH_MS + (count > 10_000 ? 120 : 5) * DAY_MS);
    },
  );

  it('keeps 100,000 people apart: no full name is shared past the block-size cap, no e-mail by more than 20', () => {
    const seeds = generateContacts({ count: 100_000, seed: 5 });
    const mostShared = (values: string[]) => {
      const counts = new Map<string, number>();
      for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
      return Math.max(...counts.values());
    };
    const fold = (text: string) => text.trim().toLowerCase();
    const names = seeds.flatMap(({ contact }) =>
      contact.firstName === null ? [] : [`${fold(contact.firstName)} ${fold(contact.lastName)}`],
    );
    const emails = seeds.flatMap(({ contact }) => (contact.email === null ? [] : [fold(contact.email)]));
    // With 20 surnames and 22 given names a full name was held by up to 266 people, an e-mail by up to 37.
    expect(mostShared(names)).toBeLessThanOrEqual(MAX_HOLDERS_PER_KEY);
    expect(mostShared(emails)).toBeLessThanOrEqual(20);
  });
});
