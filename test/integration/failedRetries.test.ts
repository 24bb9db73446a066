import { describe, expect, it } from 'vitest';
import { credentialsSchema } from '../../src/persistence/records.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * Each failure of a cycle gets its own audit entry. A retry that fails again lists its own errors, not every
 * earlier one again (the entries' error counts grew 1, 2, 3 …); the entry of the cycle completed at last lists
 * them all.
 */
describe('a cycle retried while its credentials are still refused', () => {
  it('writes one failure entry per stop, each with its own error, and the completed entry lists every one', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 5, seed: 4 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const good = credentialsSchema.parse(h.sim.credentials);
      must(
        await h.store.setConnectionCredentials({ ...ref, credentials: { ...good, clientSecret: 'revoked' } }),
      );
      expect(must(await h.run()).state).toBe('error');
      expect(must(await h.run('retry')).state).toBe('error');
      expect(must(await h.run('retry')).state).toBe('error');
      const failed = must(await h.store.listAudit({ ...ref })).entries.map((e) => e.body);
      expect(failed.map((e) => [e.outcome, e.errors.length])).toEqual([
        ['failed', 1],
        ['failed', 1],
        ['failed', 1],
      ]);
      for (const entry of failed)
        expect(entry.errors[0]?.message).toMatch(/^stopped in error \(auth_failed\)/);

      must(await h.store.setConnectionCredentials({ ...ref, credentials: good }));
      expect(must(await h.run('retry')).state).toBe('idle');
      const [completed] = must(await h.store.listAudit({ ...ref, limit: 1 })).entries.map((e) => e.body);
      expect(completed?.outcome).toBe('completed');
      expect(completed?.errors).toHaveLength(3);
      expect(completed?.errors.every((e) => e.status === 401 && e.retry === false)).toBe(true);
    } finally {
      await h.close();
    }
  });
});
