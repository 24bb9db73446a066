import { describe, expect, it } from 'vitest';
import type { CanonicalContact } from '../../src/core/schemas.ts';
import { toInboundRecord } from '../../src/providers/reapit/mapping.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { newLeads } from '../support/leads.ts';
import { agencyClient } from '../support/simulators.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

/**
 * A Reapit connection after its first cycle, holding a NurtureHub lead to look for in Reapit, whose e-mail
 * searches the simulator answers 500 (`failingSearches` of them), one request per attempt, on a clock the test
 * moves to each backoff's end.
 */
async function leadWithFailingSearch(failingSearches: number) {
  const spec = withSpec(getProvider('reapit')?.spec ?? expect.unreachable(), { retry: { maxAttempts: 1 } });
  const clock = { offsetMs: 0 };
  const fails = { left: 0 };
  let sim: SyncHarness['sim'] | undefined;
  const h = await createSyncHarness('reapit', {
    simulator: { contacts: 5, seed: 6 },
    runner: {
      clock: () => new Date(Date.now() + clock.offsetMs),
      providerOptions: () => ({
        spec,
        // The simulator's own fault, on for the search request only.
        fetch: async (...[input, init]: Parameters<typeof fetch>) => {
          if (fails.left === 0 || !String(input).includes('&email=')) return fetch(input, init);
          fails.left -= 1;
          await sim?.control.faults({ errorRate: 1 });
          try {
            return await fetch(input, init);
          } finally {
            await sim?.control.faults({});
          }
        },
      }),
    },
  });
  sim = h.sim;
  expect(must(await h.run()).state).toBe('idle');
  must(
    await h.store.upsertContacts({ tenantId: h.tenantId, contacts: newLeads(1, 'Achebe'), now: new Date() }),
  );
  fails.left = failingSearches;
  /** Runs until the machine is idle or in error, each backoff waited out on the test's clock. */
  const settle = async () => {
    for (;;) {
      const outcome = must(await h.run());
      if (outcome.state !== 'backoff') return outcome;
      clock.offsetMs = Date.parse(outcome.context.resumeAt ?? '') - Date.now() + 1;
    }
  };
  return { h, settle };
}

/**
 * The agency changes the e-mail of a linked contact in Reapit, and an agent makes `agentChange` to it in NurtureHub:
 * by default the e-mail to another address, a conflict.
 */
async function editBothSides(
  h: SyncHarness,
  agentChange: Partial<CanonicalContact> = { email: 'agent.edit@example.org' },
) {
  const [person] = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 10 })).filter(
    (c) => c.links.length === 1,
  );
  const externalId = person?.links[0]?.externalId;
  if (person === undefined || externalId === undefined) throw new Error('no linked contact');
  const crm = agencyClient('reapit', h.sim);
  const raw = (await h.sim.control.records()).find((r) => (r as { id: string }).id === externalId);
  const listed = toInboundRecord(raw);
  if (!listed.ok) throw new Error('the record does not map');
  const patch = { email: 'agency.edit@example.org' };
  expect((await crm.update({ externalId, patch, version: listed.value.version })).ok).toBe(true);
  const contact = { ...person.contact, ...agentChange };
  must(
    await h.store.upsertContacts({
      tenantId: h.tenantId,
      contacts: [{ id: person.id, contact }],
      now: new Date(),
    }),
  );
}

const searchFailed = {
  status: 500,
  message: expect.stringMatching(/^reconciling: GET \/contacts\/\?.*&email=… → 500/),
  retry: true,
};

/**
 * A reconcile that fails on a CRM call (the e-mail search for a NurtureHub lead) is an error the cycle met, as a
 * failed fetch or push is: its audit entry lists it with its status and retry state. It was never noted, so a
 * cycle that backed off in reconcile and completed said it had met no error.
 */
describe('a reconcile whose CRM search fails', () => {
  it('is listed in the audit entry of the cycle that completes after the backoff', async () => {
    const { h, settle } = await leadWithFailingSearch(1);
    try {
      expect((await settle()).state).toBe('idle');
      const [entry] = must(await h.store.listAudit({ tenantId: h.tenantId, limit: 1 })).entries;
      expect(entry?.body.outcome).toBe('completed');
      expect(entry?.body.errors).toEqual([searchFailed]);
      expect(entry?.body.written.created).toBe(1);
    } finally {
      await h.close();
    }
  });

  it('is listed, each attempt, in the failed entry of a cycle it stops in error', async () => {
    const { h, settle } = await leadWithFailingSearch(Number.POSITIVE_INFINITY);
    try {
      expect((await settle()).state).toBe('error');
      const [entry] = must(await h.store.listAudit({ tenantId: h.tenantId, limit: 1 })).entries;
      expect(entry?.body.outcome).toBe('failed');
      const errors = entry?.body.errors ?? [];
      // The attempts that backed off, then the one that stopped the machine.
      expect(errors.slice(0, -1)).toEqual(Array(errors.length - 1).fill(searchFailed));
      expect(errors.length).toBeGreaterThan(1);
      expect(errors.at(-1)).toMatchObject({
        status: 500,
        message: expect.stringMatching(/^stopped in error \(attempts_exhausted\) during reconciling: /),
      });
    } finally {
      await h.close();
    }
  });

  it('leaves the status counting the conflicts the audit entry lists, though the re-run merged nothing', async () => {
    const { h, settle } = await leadWithFailingSearch(1);
    try {
      await editBothSides(h);
      const outcome = await settle();
      expect(outcome.state).toBe('idle');
      const [entry] = must(await h.store.listAudit({ tenantId: h.tenantId, limit: 1 })).entries;
      expect(entry?.itemCounts.conflicts).toBe(1);
      expect(outcome.context.lastAudit?.counts.conflicts).toBe(1);
    } finally {
      await h.close();
    }
  });

  it.each([
    ['a cycle whose search succeeds', 0],
    ['a cycle whose reconcile ran again after its search failed', 1],
  ])(
    'leaves the status counting the upserts and planned writes of every run of the reconcile: %s',
    async (_, failures) => {
      const { h, settle } = await leadWithFailingSearch(failures);
      try {
        await editBothSides(h, { firstName: 'Agentedit' });
        const outcome = await settle();
        expect(outcome.state).toBe('idle');
        // The agency's e-mail merged into the contact; its new first name and the lead planned as writes to Reapit.
        expect(outcome.context.lastAudit?.counts).toMatchObject({ upserts: 1, plannedWrites: 2 });
      } finally {
        await h.close();
      }
    },
  );
});
