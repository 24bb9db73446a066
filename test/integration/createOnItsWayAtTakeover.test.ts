import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { type RunnerDeps, runConnection } from '../../src/runner/connectionRunner.ts';
import { postgresBackend, unwrap, useBackend } from '../store/backends.ts';
import { leadEmailsIn, newLeads } from '../support/leads.ts';
import { postgresAvailable } from '../support/postgresServer.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

const LEADS = 4;
/** Longer than a write's time limit (20 s): the create goes out again that long after it was marked sent. */
const RETRY_AFTER_S = 21;

/**
 * A run's lock session ends on PostgreSQL while creates it sent are still on their way to Loop, which shows a create
 * once applied (`createSettleMs` 0): the run waits for their answers (a write once sent is not cut by a stop), and a
 * run elsewhere takes its live lease over at once. The creates reach Loop after that run has looked for them. Before,
 * the look found nothing, the creates went out again, and Loop held people twice: 4 leads made 5 records.
 */
describe.runIf(postgresAvailable('creates on their way at a takeover'))(
  'a create on its way when a live lease is taken over',
  () => {
    const backend = useBackend(postgresBackend);

    /**
     * A first sync, then `LEADS` leads whose creates are held on their way to Loop (after `firstAnswer`, which may
     * answer for them) until `arrive`; the lock session ends once one is held. `takeOver` runs elsewhere, at once.
     */
    async function createsOnTheirWay(firstAnswer?: (body: string) => Response | null) {
      const database = await backend().createDatabase();
      const [mine, theirs] = [unwrap(await database.open()), unwrap(await database.open())];
      let holding = false;
      let onItsWay = () => {};
      const sent = new Promise<void>((resolve) => {
        onItsWay = resolve;
      });
      let arrive = () => {};
      const arrived = new Promise<void>((resolve) => {
        arrive = resolve;
      });
      const heldCreates: typeof fetch = async (input, init) => {
        if (holding && init?.method === 'POST') {
          const answer = firstAnswer?.(String(init.body));
          if (answer) return answer;
          onItsWay();
          await arrived;
        }
        return fetch(input, init);
      };
      const h = await createSyncHarness('loop', {
        simulator: { contacts: 5, seed: 2 },
        store: mine,
        runner: { providerOptions: () => ({ fetch: heldCreates }) },
      });
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      must(await h.run());
      must(
        await h.store.upsertContacts({
          tenantId: h.tenantId,
          contacts: newLeads(LEADS, 'Okafor'),
          now: new Date(),
        }),
      );
      holding = true;
      const pushing = h.run();
      await sent;
      await database.raw(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted`,
      );
      const elsewhere = (store: StoreHandle, extra: Partial<RunnerDeps> = {}): RunnerDeps => ({
        ...h.deps,
        store,
        owner: `other-host:4243:${randomUUID()}`,
        providerOptions: () => ({}),
        ...extra,
      });
      return {
        ref,
        theirs,
        elsewhere,
        /** The creates on their way reach Loop; the stopped run ends, its lease lost. */
        arrive: async () => {
          arrive();
          expect(await pushing).toMatchObject({ ok: false, error: { kind: 'lease_held' } });
        },
        /** A run once the backoff is over ends the cycle: every lead is one record. */
        expectEachLeadOnce: async () => {
          const later = elsewhere(theirs, { clock: () => new Date(Date.now() + 2 * 60_000) });
          expect(must(await runConnection(later, ref)).state).toBe('idle');
          const leadEmails = leadEmailsIn(await h.sim.control.records());
          expect(new Set(leadEmails).size).toBe(LEADS);
          expect(leadEmails).toHaveLength(LEADS);
        },
        close: async () => {
          arrive();
          await h.close();
          await mine.close();
          await theirs.close();
          await database.drop();
        },
      };
    }

    type World = Awaited<ReturnType<typeof createsOnTheirWay>>;

    /**
     * `takeOver` runs elsewhere while the creates are on their way, and must back off for them; they arrive, and a
     * run after the backoff finds each: one record a lead.
     */
    async function expectEachCreatedOnce(world: World, takeOver: () => ReturnType<typeof runConnection>) {
      try {
        const outcome = must(await takeOver());
        await world.arrive();
        expect(outcome).toMatchObject({ state: 'backoff', context: { lastError: { phase: 'pushing' } } });
        expect(outcome.context.lastError?.message).toMatch(
          /till when writes of a run found gone may still reach Loop/,
        );
        await world.expectEachLeadOnce();
      } finally {
        await world.close();
      }
    }

    it('is looked for again, not sent again, once the holder could write no more', async () => {
      const world = await createsOnTheirWay();
      await expectEachCreatedOnce(world, () => runConnection(world.elsewhere(world.theirs), world.ref));
    }, 120_000);

    it('waits for a create that goes out again after a 429 longer than its time limit', async () => {
      // Marked sent, refused 429 with a wait past 20 s, sent again then: a wait counted from the mark was over.
      const refused = new Set<string>();
      const world = await createsOnTheirWay((body) => {
        if (refused.has(body)) return null;
        refused.add(body);
        return new Response('{"message":"slow down"}', {
          status: 429,
          headers: { 'retry-after': String(RETRY_AFTER_S), 'content-type': 'application/json' },
        });
      });
      await expectEachCreatedOnce(world, () => runConnection(world.elsewhere(world.theirs), world.ref));
    }, 120_000);

    it('waits as well in a run after one that took the lease over and let it go without pushing', async () => {
      // The run that takes over is in a process told to stop (a deploy): it releases the lease, and the next run took
      // it as a free one, with no holder found gone.
      const world = await createsOnTheirWay();
      const stopping = new AbortController();
      const stoppingStore = new Proxy(world.theirs, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver);
          if (key !== 'acquireLease') return typeof value === 'function' ? value.bind(target) : value;
          return async (request: Parameters<StoreHandle['acquireLease']>[0]) => {
            const acquired = await target.acquireLease(request);
            stopping.abort();
            return acquired;
          };
        },
      });
      await expectEachCreatedOnce(world, async () => {
        const stopped = await runConnection(
          world.elsewhere(stoppingStore, { stopping: stopping.signal }),
          world.ref,
        );
        expect(stopped).toMatchObject({ ok: false, error: { kind: 'stopping' } });
        return runConnection(world.elsewhere(world.theirs), world.ref);
      });
    }, 120_000);

    it('lets a holder unaware its session ended send none of the creates the run taking over sends', async () => {
      // The holder never hears that its lock session ended (a failover whose old socket never reset): it goes on
      // taking the creates it listed as planned. Before, it marked and sent them beside the run that took over and
      // had sent them too: 16 records for 12 leads.
      const leads = 12;
      const database = await backend().createDatabase();
      const [mine, theirs] = [unwrap(await database.open()), unwrap(await database.open())];
      const unaware = new Proxy(mine, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver);
          if (key !== 'acquireLease') return typeof value === 'function' ? value.bind(target) : value;
          return async (request: Parameters<StoreHandle['acquireLease']>[0]) => {
            const acquired = await target.acquireLease(request);
            if (!acquired.ok) return acquired;
            const { sessionLost: _unheard, ...lease } = acquired.value;
            return { ...acquired, value: lease };
          };
        },
      });
      // Both runs' creates wait at one gate, so that the holder goes on while the taker's creates are out.
      let open = () => {};
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      let gating = false;
      const gatedFor =
        (onPost: () => void): typeof fetch =>
        async (input, init) => {
          if (gating && init?.method === 'POST') {
            onPost();
            await opened;
          }
          return fetch(input, init);
        };
      let holderPosted = () => {};
      const holderPosts = new Promise<void>((resolve) => {
        holderPosted = resolve;
      });
      let takerPosted = () => {};
      const takerPosts = new Promise<void>((resolve) => {
        takerPosted = resolve;
      });
      const h = await createSyncHarness('loop', {
        simulator: { contacts: 5, seed: 2 },
        store: unaware,
        runner: { providerOptions: () => ({ fetch: gatedFor(holderPosted) }) },
      });
      try {
        const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
        must(await h.run());
        const contacts = newLeads(leads, 'Adeyemi');
        must(await h.store.upsertContacts({ tenantId: h.tenantId, contacts, now: new Date() }));
        gating = true;
        const pushing = h.run();
        await holderPosts;
        await database.raw(
          `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted`,
        );
        const owner = `other-host:4244:${randomUUID()}`;
        const taker = {
          ...h.deps,
          store: theirs,
          owner,
          providerOptions: () => ({ fetch: gatedFor(takerPosted) }),
        };
        const taking = runConnection(taker, ref);
        // The taker has its creates out when the holder's first answers come back.
        await takerPosts;
        open();
        await pushing;
        await taking;
        const later = { ...taker, clock: () => new Date(Date.now() + 2 * 60_000) };
        expect(must(await runConnection(later, ref)).state).toBe('idle');
        const leadEmails = leadEmailsIn(await h.sim.control.records());
        expect(new Set(leadEmails).size).toBe(leads);
        expect(leadEmails).toHaveLength(leads);
      } finally {
        open();
        await h.close();
        await mine.close();
        await theirs.close();
        await database.drop();
      }
    }, 120_000);
  },
);
