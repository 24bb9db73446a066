import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isPidAlive, ownerGoneOnHost } from '../../src/persistence/leaseOwner.ts';
import { openPgliteStore } from '../../src/persistence/pglite.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';
import { createEmbeddedWorker } from '../../src/worker/embeddedWorker.ts';
import { freshMemoryPglite } from '../support/pgliteTemplate.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * Credentials sealed with another key (a changed CRM_SYNC_SECRET_KEY) cannot be decrypted however often a run is
 * retried. The worker took that for a store outage: nothing was audited, the next run did not move, and every tick
 * ran the connection again, failing the same way. Now the run fails for good as a provider that cannot be built:
 * the failure is audited once and the connection is looked at again an interval on, as under Inngest's onFailure.
 */
describe('a connection whose credentials the worker cannot decrypt', () => {
  it('is audited once and put off an interval, not run again every tick', async () => {
    // Two stores on one database with different keys: what a changed CRM_SYNC_SECRET_KEY does.
    const db = await freshMemoryPglite();
    const isOwnerGone = ownerGoneOnHost(hostname(), isPidAlive);
    const open = () =>
      openPgliteStore({ dataDir: null, db, secrets: createSecretBox(randomBytes(32)), isOwnerGone });
    const savedWith = must(await open());
    const readWith = must(await open());
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 5 },
      store: savedWith,
      runner: { store: readWith },
    });
    try {
      const lines: string[] = [];
      const worker = createEmbeddedWorker(h.deps, { log: (line) => lines.push(line) });
      const before = Date.now();
      expect((await worker.tick()).started.map((c) => c.connectionId)).toEqual([h.connectionId]);
      await worker.drain();
      expect(lines.join('\n')).toMatch(/cannot be decrypted/);

      const audit = must(await readWith.listAudit({ tenantId: h.tenantId }));
      expect(audit.entries.map((e) => [e.body.outcome, e.body.errors[0]?.message])).toEqual([
        ['failed', expect.stringMatching(/^run failed outside a cycle: .*cannot be decrypted/)],
      ]);
      const connection = must(
        await readWith.getConnection({ tenantId: h.tenantId, connectionId: h.connectionId }),
      );
      // The tenant's interval is 15 minutes.
      expect(connection.nextRunAt.getTime()).toBeGreaterThanOrEqual(before + 899_000);
      expect((await worker.tick()).started).toEqual([]);
      expect((await h.sim.control.stats()).requests).toBe(0);
      await worker.stop();
    } finally {
      await h.sim.close();
      await savedWith.close();
      await readWith.close();
    }
  });
});
