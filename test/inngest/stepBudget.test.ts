import { InngestTestEngine, mockCtx } from '@inngest/test';
import { describe, expect, it } from 'vitest';
import type { ConnectionProgress } from '../../src/inngest/driveConnection.ts';
import { createSyncConnection } from '../../src/inngest/functions/syncConnection.ts';
import { capturingClient, dueEvent } from '../support/inngest.ts';
import { leadEmailsIn, newLeads } from '../support/leads.ts';
import { auditedCycle, createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

type Ctx = Parameters<typeof mockCtx>[0];

/** CRM records (Reapit lists 100 a page: six pages, two reconcile batches of 500) and NurtureHub leads to create. */
const RECORDS = 600;
const LEADS = 12;

/** One run of sync-connection over the harness, each phase step's budget `stepBudgetMs`; the step ids it ran. */
async function runFunction(h: SyncHarness, stepBudgetMs?: number) {
  const { client } = capturingClient();
  const engine = new InngestTestEngine({
    function: createSyncConnection(client, h.deps, stepBudgetMs === undefined ? {} : { stepBudgetMs }),
    events: [dueEvent(h)],
    transformCtx: (ctx: Ctx) => mockCtx(ctx) as Ctx,
  });
  const run = await engine.execute();
  expect(run).not.toHaveProperty('error');
  const ids = run.ctx.step.run.mock.calls.map((call) => call[0] as string);
  const count = (phase: string) => ids.filter((id) => id.startsWith(`${phase}-`)).length;
  return {
    result: run.result as ConnectionProgress,
    steps: {
      fetch: count('fetch'),
      reconcile: count('reconcile'),
      push: count('push'),
      audit: count('audit'),
    },
  };
}

/** A Reapit connection whose first cycle lists RECORDS records and creates LEADS NurtureHub leads in Reapit. */
async function firstSyncWithLeads(): Promise<SyncHarness> {
  const h = await createSyncHarness('reapit', { simulator: { contacts: RECORDS, seed: 8 } });
  must(
    await h.store.upsertContacts({
      tenantId: h.tenantId,
      contacts: newLeads(LEADS, 'Budget'),
      now: new Date(),
    }),
  );
  return h;
}

async function endState(h: SyncHarness) {
  const records = (await h.sim.control.records()) as unknown[];
  const leadEmails = leadEmailsIn(records);
  const contacts = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 1_000 }));
  const audit = must(await h.store.listAudit({ tenantId: h.tenantId })).entries.map((e) => e.body);
  return {
    crmRecords: records.length,
    leadRecords: leadEmails.length,
    distinctLeadRecords: new Set(leadEmails).size,
    contacts: contacts.length,
    unlinked: contacts.filter((c) => c.links.length !== 1).length,
    audits: audit.map((a) => ({ outcome: a.outcome, fetched: a.fetched, errors: a.errors.length })),
  };
}

describe('sync-connection, a phase longer than its step may run', () => {
  it('hands each phase over to further steps once the budget is spent, and ends as one unbroken step would', async () => {
    // Spent from the start: every phase hands over after its first unit of work (a page, a batch, a write).
    const bounded = await firstSyncWithLeads();
    const whole = await firstSyncWithLeads();
    try {
      const handedOver = await runFunction(bounded, 0);
      const oneStepEach = await runFunction(whole);

      expect(handedOver.result).toMatchObject({ state: 'idle', stopped: null, errorReason: null });
      // Before, a phase was one step however long: a first push of 100,000 contacts to agentOS (50 requests a
      // minute) is about 33 hours, and Inngest ends a step at two.
      expect(oneStepEach.steps).toEqual({ fetch: 1, reconcile: 1, push: 1, audit: 1 });
      // Six full pages, and the seventh, empty, that ends Reapit's listing; the second batch; each write.
      expect(handedOver.steps).toEqual({ fetch: RECORDS / 100 + 1, reconcile: 2, push: LEADS, audit: 1 });

      const bounds = await endState(bounded);
      expect(bounds).toEqual(await endState(whole));
      expect(bounds).toMatchObject({
        crmRecords: RECORDS + LEADS,
        leadRecords: LEADS,
        distinctLeadRecords: LEADS,
        unlinked: 0,
        audits: [{ outcome: 'completed', fetched: RECORDS, errors: 0 }],
      });
      // Nothing was left half done: the next cycle finds nothing to create on either side.
      const next = await auditedCycle(bounded);
      expect(next).toMatchObject({ outcome: 'completed', written: { created: 0 } });
      expect((await endState(bounded)).crmRecords).toBe(RECORDS + LEADS);
    } finally {
      await bounded.close();
      await whole.close();
    }
  }, 180_000);
});
