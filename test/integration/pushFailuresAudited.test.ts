import { describe, expect, it } from 'vitest';
import { getProvider } from '../../src/providers/registry.ts';
import type { SimFaults } from '../../src/providers/simulator/gate.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A Reapit connection after its first cycle, with three linked contacts renamed in NurtureHub, stopped before its
 * push: three updates that go out at once (Reapit takes five requests at a time), one request each, on a clock the
 * test moves to each backoff's end.
 */
async function threeUpdatesPlanned(fetchImpl: typeof fetch = fetch) {
  const spec = withSpec(getProvider('reapit')?.spec ?? expect.unreachable(), { retry: { maxAttempts: 1 } });
  const clock = { offsetMs: 0 };
  const h = await createSyncHarness('reapit', {
    simulator: { contacts: 8, seed: 6 },
    runner: {
      clock: () => new Date(Date.now() + clock.offsetMs),
      providerOptions: () => ({ spec, fetch: fetchImpl }),
    },
  });
  expect(must(await h.run()).state).toBe('idle');
  const linked = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 10 }))
    .filter((c) => c.links.length === 1)
    .slice(0, 3);
  expect(linked).toHaveLength(3);
  must(
    await h.store.upsertContacts({
      tenantId: h.tenantId,
      contacts: linked.map((c) => ({
        id: c.id,
        contact: { ...c.contact, firstName: `Renamed${c.id.slice(0, 4)}` },
      })),
      now: new Date(),
    }),
  );
  for (let phases = 0; phases < 3 && must(await h.run('phase')).state !== 'pushing'; phases++);
  /** Runs until the machine is idle or in error, each backoff waited out on the test's clock. */
  const settle = async () => {
    for (;;) {
      const outcome = must(await h.run());
      if (outcome.state !== 'backoff') return outcome;
      clock.offsetMs = Date.parse(outcome.context.resumeAt ?? '') - Date.now() + 1;
    }
  };
  const records = linked.map((c) => ({ contactId: c.id, externalId: c.links[0]?.externalId ?? '' }));
  return { h, settle, records };
}

/**
 * Writes a push has in flight at once that fail alike (each answered 500, or each connection cut) are each an error
 * of the cycle: its audit entry lists every one, naming the contact and the record, with its status and retry
 * state. It listed the first only, so two of the three writes that failed were nowhere in the audit. A write that
 * succeeds when the push runs again after the backoff is not listed a second time.
 */
describe('writes of a push that fail at once', () => {
  it.each<[string, SimFaults, number | null]>([
    ['answered 500', { errorRate: 1 }, 500],
    ['whose connections are cut', { dropRate: 1 }, null],
  ])('are each listed in the audit entry when %s', async (_, faults, status) => {
    const { h, settle, records } = await threeUpdatesPlanned();
    try {
      await h.sim.control.faults(faults);
      const failed = must(await h.run('phase'));
      expect(failed.state).toBe('backoff');
      expect(failed.context.lastError?.message).toMatch(/^update of contact \S+ \(\S+\): PATCH /);
      await h.sim.control.faults({});
      expect((await settle()).state).toBe('idle');

      const [entry] = must(await h.store.listAudit({ tenantId: h.tenantId, limit: 1 })).entries;
      expect(entry?.body.outcome).toBe('completed');
      expect(entry?.body.written.updated).toBe(3);
      const errors = entry?.body.errors ?? [];
      expect(errors).toHaveLength(3);
      expect(errors).toEqual(
        expect.arrayContaining(
          records.map(({ contactId, externalId }) => ({
            status,
            message: expect.stringMatching(
              new RegExp(
                `^pushing: update of contact ${contactId} \\(${externalId}\\): PATCH /contacts/${externalId} `,
              ),
            ),
            retry: true,
          })),
        ),
      );
    } finally {
      await h.close();
    }
  });
});

/**
 * A push that wrote some of its updates and stopped in `error` over the rest: its failed entry counted no write
 * (`written` was always zero there, `fetched` the cycle's), so when nobody retries it no entry holds the updates
 * the CRM applied.
 */
describe('a cycle stopped in error after some of its writes', () => {
  it('counts in its failed entry the writes the CRM applied', async () => {
    const failing = { externalId: '' };
    const { h, settle, records } = await threeUpdatesPlanned(async (input, init) => {
      if (init?.method === 'PATCH' && String(input).endsWith(`/contacts/${failing.externalId}`))
        throw new TypeError('fetch failed: connect ECONNRESET');
      return fetch(input, init);
    });
    try {
      failing.externalId = records[0]?.externalId ?? expect.unreachable();
      const stopped = await settle();
      expect(stopped).toMatchObject({ state: 'error', context: { errorReason: 'attempts_exhausted' } });
      const [entry] = must(await h.store.listAudit({ tenantId: h.tenantId, limit: 1 })).entries;
      expect(entry?.body).toMatchObject({ outcome: 'failed', written: { created: 0, updated: 2 } });
    } finally {
      await h.close();
    }
  });
});
