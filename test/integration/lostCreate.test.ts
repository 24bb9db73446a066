import { describe, expect, it } from 'vitest';
import { reapitSpec } from '../../src/providers/reapit/spec.ts';
import { idOf, LEAD_ID, lead, loseCreate } from '../support/lostCreate.ts';
import { must } from '../support/syncHarness.ts';

/** Every provider that can create: Reapit and Alto are searched by e-mail, agentOS links a repeated
 * prospect by e-mail itself, Loop (neither) is looked for among the records changed since the fetch. */
const creators = ['reapit', 'alto', 'agentos', 'loop'] as const;

describe('regression: a create lost on the way', () => {
  it.each(creators)(
    '%s: is not repeated blind; the next run finds the record the CRM applied, and one contact exists',
    async (provider) => {
      const { h, resume, expectOneLinkedCreate } = await loseCreate(provider);
      try {
        await resume();
        await expectOneLinkedCreate();
      } finally {
        await h.close();
      }
    },
  );

  it.each(['reapit', 'loop'] as const)(
    '%s: a create that never reached the CRM is sent again once the look-up finds nothing',
    async (provider) => {
      const { h, before, resume, expectOneLinkedCreate } = await loseCreate(provider, 'request');
      try {
        expect((await h.sim.control.stats()).creates).toBe(before.creates);
        await resume();
        await expectOneLinkedCreate();
      } finally {
        await h.close();
      }
    },
  );

  it('alto: the record found takes the base Alto lists it with, so its unlisted home phone is kept everywhere', async () => {
    // Alto lists one phone per person: with the sent contact as the base, the first read-back looked like the
    // agency clearing the home phone, and the lead lost it.
    const withHomePhone = { ...lead, homePhone: '01632 960123' };
    const { h, resume, expectOneLinkedCreate } = await loseCreate('alto', 'response', {}, withHomePhone);
    try {
      await resume();
      await expectOneLinkedCreate();
      const readBack = must(await h.run());
      expect(readBack.state).toBe('idle');
      expect(readBack.context.lastAudit?.counts).toMatchObject({ upserts: 0, plannedWrites: 0, sent: 0 });
      const [held] = must(await h.store.getContacts({ tenantId: h.tenantId, ids: [LEAD_ID] }));
      expect(held?.contact.homePhone).toBe('01632 960123');
    } finally {
      await h.close();
    }
  });

  it('is acknowledged as the link it has when the contact was linked since, asking the CRM nothing', async () => {
    const { h, before, copies, leadLinks, resume } = await loseCreate('loop');
    try {
      // As a later cycle's reconcile would have it: the applied record fetched and matched to the lead.
      const externalId = idOf((await copies())[0]);
      const base = { ...lead, intentScore: 41 };
      const linked = await h.store.upsertLinks({
        tenantId: h.tenantId,
        connectionId: h.connectionId,
        links: [
          { externalId, contactId: LEAD_ID, base, pushedHashes: {}, remoteVersion: null, remoteHash: null },
        ],
        now: new Date(),
      });
      if (!linked.ok) throw new Error(linked.error.message);
      const requestsBefore = (await h.sim.control.stats()).requests;

      await resume();
      const after = await h.sim.control.stats();
      expect(after.requests).toBe(requestsBefore);
      expect(after.creates - before.creates).toBe(1);
      expect((await leadLinks()).map((l) => [l.externalId, l.base.intentScore])).toEqual([[externalId, 41]]);
    } finally {
      await h.close();
    }
  });
});

/** How long the Reapit simulator keeps a new record out of view (real time): [R1]'s "often asynchronous". */
const VISIBLE_AFTER_MS = 4_000;
/** Past the first backoff (15–30 s) but inside Reapit's settle time: the push comes back "right away". */
const SOON_AFTER_MS = 40_000;
/** Past every backoff of the cycle so far and Reapit's settle time. */
const LATER_MS = 10 * 60_000;

describe('regression: a lost create that Reapit applies asynchronously is not sent again before it shows', () => {
  const settleMessage =
    /^create of contact \S+ sent at \S+Z may still be being applied by Reapit: .+; looked for again after the backoff$/;
  const createdInBackground = { createVisibleAfterMs: VISIBLE_AFTER_MS };

  it('backs off while the record is not shown yet, then links the one record Reapit made', async () => {
    expect(SOON_AFTER_MS).toBeLessThan(reapitSpec.capabilities.createSettleMs);
    const { h, before, copies, leadLinks, runAt, expectOneLinkedCreate } = await loseCreate(
      'reapit',
      'response',
      createdInBackground,
    );
    const applied = Date.now();
    try {
      // Reapit holds the record but its search does not show it yet: the look-up answers absent.
      const soon = await runAt(SOON_AFTER_MS);
      expect(Date.now() - applied).toBeLessThan(VISIBLE_AFTER_MS);
      expect((await h.sim.control.stats()).creates - before.creates).toBe(1);
      expect(await copies()).toHaveLength(1);
      expect(await leadLinks()).toEqual([]);
      expect(soon.state).toBe('backoff');
      expect(soon.context.lastError).toMatchObject({ phase: 'pushing', kind: 'transient' });
      expect(soon.context.lastError?.message).toMatch(settleMessage);
      // One backoff reaches past the settle time (a shorter one would come back and spend another attempt).
      const sentAt = Date.parse(soon.context.lastError?.message.match(/ sent at (\S+Z) /)?.[1] ?? '');
      expect(Date.parse(soon.context.resumeAt ?? '')).toBeGreaterThanOrEqual(
        sentAt + reapitSpec.capabilities.createSettleMs,
      );

      await new Promise((r) => setTimeout(r, VISIBLE_AFTER_MS - (Date.now() - applied) + 100));
      const later = await runAt(LATER_MS);
      expect(later.state).toBe('idle');
      await expectOneLinkedCreate();
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const errors = must(await h.store.listAudit({ ...ref, limit: 1 })).entries[0]?.body.errors ?? [];
      // Listed as a retry of the push, not as a write Reapit refused.
      expect(errors.filter((e) => / may still be being applied /.test(e.message))).toEqual([
        { status: null, message: expect.stringMatching(/^pushing: create of contact /), retry: true },
      ]);
    } finally {
      await h.close();
    }
  });

  it('sends a create Reapit never received again once the settle time has passed, and one record exists', async () => {
    const { h, before, leadLinks, runAt, expectOneLinkedCreate } = await loseCreate(
      'reapit',
      'request',
      createdInBackground,
    );
    try {
      const soon = await runAt(SOON_AFTER_MS);
      expect(soon.state).toBe('backoff');
      expect(soon.context.lastError?.message).toMatch(settleMessage);
      expect((await h.sim.control.stats()).creates).toBe(before.creates);
      expect(await leadLinks()).toEqual([]);

      const later = await runAt(LATER_MS);
      expect(later.state).toBe('idle');
      await expectOneLinkedCreate();
    } finally {
      await h.close();
    }
  });
});
