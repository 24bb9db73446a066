import { expect, it } from 'vitest';
import { openStoreWithDb } from '../support/storeWithDb.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A phase that throws something no phase failure describes (here a push-ledger row that no longer parses) stops the
 * connection in error, audited; retried and failing again, it is audited again. The machine dated such a failure
 * the cycle's start, so the retry's entry took the first entry's id and was silently lost.
 */
it('audits each unexpected failure of a cycle, the retry that fails again too', async () => {
  const { db, store } = await openStoreWithDb();
  const h = await createSyncHarness('reapit', { simulator: { contacts: 4, seed: 3 }, store });
  try {
    expect(must(await h.run()).state).toBe('idle');
    const [linked] = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 10 })).filter(
      (c) => c.links.length === 1,
    );
    if (linked === undefined) throw new Error('no linked contact');
    must(
      await h.store.upsertContacts({
        tenantId: h.tenantId,
        contacts: [{ id: linked.id, contact: { ...linked.contact, firstName: 'Renamed' } }],
        now: new Date(),
      }),
    );
    for (let phases = 0; phases < 3 && must(await h.run('phase')).state !== 'pushing'; phases++);
    await db.query(`UPDATE push_ledger SET payload = '{"patch": 5}'::jsonb WHERE status = 'planned'`);

    const failedAudits = async () =>
      must(await h.store.listAudit({ tenantId: h.tenantId, limit: 10 })).entries.filter(
        (entry) => entry.body.outcome === 'failed',
      );
    const first = must(await h.run('phase'));
    expect(first.state).toBe('error');
    expect(first.context.lastError?.kind).toBe('fatal');
    expect(await failedAudits()).toHaveLength(1);

    const again = must(await h.run('retryPhase'));
    expect(again.state).toBe('error');
    const audits = await failedAudits();
    expect(audits).toHaveLength(2);
    expect(new Set(audits.map((entry) => entry.body.cycleId)).size).toBe(2);
    for (const entry of audits)
      expect(entry.body.errors).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(/^stopped in error \(fatal\) during pushing: /),
        }),
      ]);
  } finally {
    await h.close();
    await store.close();
  }
}, 120_000);
