import { describe, expect, it } from 'vitest';
import { importContacts } from '../../src/cli/importContacts.ts';
import { canonicalContactSchema } from '../../src/core/schemas.ts';
import type { StoreData, StoreHandle } from '../../src/persistence/store.ts';
import { usePostgresProcesses } from '../support/postgresProcesses.ts';
import { postgresAvailable } from '../support/postgresServer.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `store` as one process sees it, whose transaction runs `between` once, right after its first look-up of match
 * candidates: another process acts there, before the import writes.
 */
function actingAfterLookUp(
  store: StoreHandle,
  between: () => Promise<void>,
): StoreHandle & { acted: () => boolean } {
  let pending: (() => Promise<void>) | null = between;
  const inTransaction = <T extends StoreData>(tx: T): T =>
    new Proxy(tx, {
      get(target, key) {
        if (key === 'findCandidates') {
          return (async (request: Parameters<StoreData['findCandidates']>[0]) => {
            const found = await target.findCandidates(request);
            const run = pending;
            pending = null;
            if (run !== null) await run();
            return found;
          }) satisfies StoreData['findCandidates'];
        }
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  // A look-up outside the transaction is hooked too: it is the race, not a reason to skip it.
  return new Proxy(inTransaction(store), {
    get(target, key) {
      if (key === 'acted') return () => pending === null;
      if (key === 'transaction') {
        return ((fn: (tx: StoreData) => Promise<never>) =>
          target.transaction((tx) => fn(inTransaction(tx)))) as StoreHandle['transaction'];
      }
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as StoreHandle & { acted: () => boolean };
}

/**
 * A contact import on a PostgreSQL other processes share: another import of the same person, or a worker's cycle
 * bringing the same person in from a CRM, may run while it looks for duplicates. Done one after the other they make
 * one contact; at once they made two, for good (PGlite runs one transaction at a time, so only Postgres shows it).
 * The other process acts between the import's look-up and its write (or, where it must wait for the import, for
 * 2 s, and then the import goes on).
 */
describe.runIf(postgresAvailable('contact import racing other writers'))(
  'contact import on shared PostgreSQL',
  () => {
    const { openProcess } = usePostgresProcesses();

    const person = canonicalContactSchema.parse({
      firstName: 'Priya',
      lastName: 'Ramanathan',
      email: 'priya.r@example.net',
    });

    it('two imports of the same person in two processes make one contact', async () => {
      const one = await openProcess();
      const other = await openProcess();
      try {
        const tenantId = must(await one.createTenant({ name: 'acme-imports', syncIntervalSeconds: 900 })).id;
        const again = {
          line: 1,
          value: canonicalContactSchema.parse({ ...person, mobilePhone: '07700 900461' }),
        };
        let second: Promise<unknown> = Promise.resolve();
        const racing = actingAfterLookUp(one, async () => {
          second = importContacts(other, { tenantId, lines: [again], now: new Date() });
          await Promise.race([second, sleep(2000)]);
        });
        await importContacts(racing, { tenantId, lines: [{ line: 1, value: person }], now: new Date() });
        expect(racing.acted()).toBe(true);
        await second;
        expect(must(await one.listContacts({ tenantId, limit: 10 }))).toHaveLength(1);
      } finally {
        await one.close();
        await other.close();
      }
    }, 60_000);

    it("an import racing another process's cycle that brings the same person in makes one contact", async () => {
      const worker = await openProcess();
      const cli = await openProcess();
      const h = await createSyncHarness('reapit', { store: worker, simulator: { contacts: 0, seed: 1 } });
      try {
        const lead = canonicalContactSchema.parse({
          firstName: 'Oluwaseun',
          lastName: 'Adebayo-Price',
          email: 'seun.ap@example.net',
          mobilePhone: '07700 900123',
        });
        // The agency keyed the person into Reapit (from a portal) before the same lead's import.
        must(await agencyClient('reapit', h.sim).create({ contact: lead, reference: 'portal-1' }));
        let cycle: Promise<unknown> = Promise.resolve();
        const racing = actingAfterLookUp(cli, async () => {
          cycle = auditedCycle(h);
          await Promise.race([cycle, sleep(2000)]);
        });
        await importContacts(racing, {
          tenantId: h.tenantId,
          lines: [{ line: 1, value: lead }],
          now: new Date(),
        });
        expect(racing.acted()).toBe(true);
        await cycle;
        expect(must(await worker.listContacts({ tenantId: h.tenantId, limit: 10 }))).toHaveLength(1);
        // Nor is the person created in Reapit a second time.
        await auditedCycle(h);
        expect(await h.sim.control.records()).toHaveLength(1);
      } finally {
        await h.close();
        await worker.close();
        await cli.close();
      }
    }, 60_000);
  },
);
