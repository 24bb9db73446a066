import { expect, it } from 'vitest';
import type { CrmProvider } from '../../src/providers/provider.ts';
import type { SimulatorOptions } from '../../src/providers/simulator/server.ts';
import type { ProviderHarness } from './providerSuite.ts';

type WithHarness = (options: SimulatorOptions, run: (h: ProviderHarness) => Promise<void>) => Promise<void>;

const firstPage = async (provider: CrmProvider) => {
  const page = await provider.listChanges({
    window: { from: null, to: new Date(Date.now() + 1000).toISOString() },
    pageToken: null,
  });
  if (!page.ok) throw new Error(page.error.message);
  return page.value.records;
};

/**
 * The suite's case for a read of several records by id (`getRecords`), for every provider that declares
 * `maxIdsPerRead`: one request answers each id as `getRecord` answers it (a record held, one archived, one deleted,
 * one never held), as many ids as declared are taken, and more are refused unsent. The engine takes either read
 * for whether a linked record is gone, so the two must agree.
 */
export function batchReadCase(params: { withHarness: WithHarness }): void {
  it('reads several records by id in one request as getRecord reads each, where it declares maxIdsPerRead', async () => {
    await params.withHarness({ contacts: 12, seed: 14 }, async (h) => {
      const provider = h.provider();
      const max = provider.capabilities.maxIdsPerRead;
      if (max === null || provider.getRecords === undefined) {
        expect(provider.getRecords).toBeUndefined();
        expect(max).toBeNull();
        return;
      }
      const [archiving, deleting, ...held] = (await firstPage(provider)).filter((r) => !r.removed);
      if (archiving === undefined || deleting === undefined || held.length < 2)
        throw new Error('too few listed');
      const archived = await provider.update({
        externalId: archiving.externalId,
        patch: { status: 'archived' },
        version: archiving.version,
      });
      expect(archived.ok).toBe(true);
      expect(await h.control.remove([deleting.externalId])).toEqual({ removed: [deleting.externalId] });
      const named = [
        ...held.slice(0, 2).map((r) => r.externalId),
        archiving.externalId,
        deleting.externalId,
        'nh-never-held-0',
      ];
      const padding = Array.from({ length: max - named.length }, (_, i) => `nh-never-held-${i + 1}`);

      const requestsBefore = (await h.control.stats()).requests;
      const batch = await provider.getRecords({ externalIds: [...named, ...padding] });
      expect((await h.control.stats()).requests).toBe(requestsBefore + 1);
      if (!batch.ok) throw new Error(batch.error.message);
      expect(batch.value.size).toBe(max);
      for (const externalId of named) {
        const single = await provider.getRecord({ externalId });
        const answered = batch.value.get(externalId);
        if (single.ok) expect(answered).toEqual(single);
        else expect(answered).toMatchObject({ ok: false, error: { kind: single.error.kind } });
      }
      expect(batch.value.get(archiving.externalId)).toMatchObject({ ok: true, value: { removed: true } });
      expect(batch.value.get(deleting.externalId)).toMatchObject({ ok: false, error: { kind: 'not_found' } });
      for (const externalId of padding)
        expect(batch.value.get(externalId)).toMatchObject({ ok: false, error: { kind: 'not_found' } });

      const requestsThen = (await h.control.stats()).requests;
      const tooMany = await provider.getRecords({ externalIds: [...named, ...padding, 'nh-one-too-many'] });
      expect(tooMany).toMatchObject({ ok: false, error: { kind: 'validation' } });
      expect((await h.control.stats()).requests).toBe(requestsThen);
    });
  });
}
