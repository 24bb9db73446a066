import { describe, expect, it } from 'vitest';
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
});
