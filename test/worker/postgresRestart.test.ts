import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/persistence/postgres.ts';
import { createSecretBox } from '../../src/persistence/secrets.ts';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { createEmbeddedWorker } from '../../src/worker/embeddedWorker.ts';
import { leadEmailsIn, newLeads } from '../support/leads.ts';
import { postgresAvailable, startPostgres } from '../support/postgresServer.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

const LEADS = 40;
const MAX_TICKS = 400;

/**
 * The PostgreSQL server restarts (`pg_ctl restart`: every session ends) while two workers, each with its own store
 * as two processes have, push a cycle's creates. Nobody acts: the workers' ticks fail while it is down, the runs
 * it cut short leave the machine where it was persisted, and once their leases run out a tick resumes the
 * cycle, which ends idle with every lead created once and no lease left.
 */
describe.runIf(postgresAvailable('a server restart under the workers'))(
  'PostgreSQL restarted under two workers',
  () => {
    it('the cycle resumes by itself and completes, every lead created once', async () => {
      const server = await startPostgres();
      const secrets = createSecretBox(Buffer.alloc(32, 7));
      const open = async () =>
        must(await openPostgresStore({ url: server.url, secrets, isOwnerGone: () => false }));
      const stores: StoreHandle[] = [await open(), await open()];
      const [mine, theirs] = stores as [StoreHandle, StoreHandle];
      const h = await createSyncHarness('alto', {
        simulator: { contacts: 5, seed: 4, latencyMs: 40 },
        store: mine,
        // Short leases, so the test need not wait a minute for those the restart left behind.
        runner: { leaseTtlMs: 3_000 },
      });
      const log: string[] = [];
      const workers = [mine, theirs].map((store) =>
        createEmbeddedWorker(
          { ...h.deps, store, owner: `host-${randomUUID()}:1:${randomUUID()}` },
          { tickMs: 100, log: (line) => log.push(line) },
        ),
      );
      try {
        const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
        const first = must(await h.run()).context.lastAudit?.cycleId;
        const leads = newLeads(LEADS, 'Mensah');
        must(await h.store.upsertContacts({ tenantId: h.tenantId, contacts: leads, now: new Date() }));
        must(await h.store.setNextRun({ ...ref, nextRunAt: new Date() }));

        for (const worker of workers) worker.start();
        while ((await h.sim.control.stats()).creates === 0) await new Promise((r) => setTimeout(r, 20));
        await server.restart();

        // Ticks go on by themselves; the test only watches, for at most MAX_TICKS looks.
        let settled = false;
        for (let look = 0; look < MAX_TICKS && !settled; look++) {
          await new Promise((r) => setTimeout(r, 100));
          const audit = await h.store.listAudit({ ...ref, limit: 1 });
          const newest = audit.ok ? audit.value.entries[0] : undefined;
          settled = newest !== undefined && newest.body.cycleId !== first;
        }
        for (const worker of workers) await worker.stop({ graceMs: 10_000 });

        expect(log).toContainEqual(
          expect.stringMatching(/^tick: selecting due connections failed: database unavailable/),
        );
        expect(must(await h.store.loadSnapshot(ref))?.stateValue).toBe('idle');
        expect(must(await h.store.getConnection(ref)).lease).toBeNull();
        const [entry] = must(await h.store.listAudit({ ...ref, limit: 1 })).entries;
        expect(entry?.body.outcome).toBe('completed');
        const leadEmails = leadEmailsIn(await h.sim.control.records());
        expect(new Set(leadEmails).size).toBe(LEADS);
        expect(leadEmails).toHaveLength(LEADS);
      } finally {
        for (const worker of workers) await worker.stop({ graceMs: 0 });
        await h.close();
        for (const store of stores) await store.close();
        await server.stop();
      }
    }, 180_000);
  },
);
