import { expect, it } from 'vitest';
import { createFetchPhase } from '../../src/actors/fetchPhase.ts';
import { ok } from '../../src/core/result.ts';
import type { ChangePage, CrmProvider, InboundRecord } from '../../src/providers/provider.ts';
import { agencyClient } from '../support/simulators.ts';
import { auditedCycle, createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * A CRM lists a record twice in one window (saved and set back while the window was listed, a CRM's clock behind
 * ours, a listing that restarts): once edited, once as its link holds it. The later listing was dropped as
 * unchanged, and the edit the CRM no longer held stayed staged: reconcile applied it, and NurtureHub and the CRM
 * stayed apart until the next edit. The pages are Loop's own listing of the record, given in that order.
 */
it('stages and counts the latest listing of a record a window lists twice, on two pages or on one', async () => {
  const h = await createSyncHarness('loop', { simulator: { contacts: 3, seed: 2 } });
  try {
    await auditedCycle(h);
    const loop = agencyClient('loop', h.sim);
    const listed = must(
      await loop.listChanges({ window: { from: null, to: new Date().toISOString() }, pageToken: null }),
    );
    const record = listed.records[0] ?? expect.unreachable('nothing listed');
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    const edited: InboundRecord = {
      ...record,
      contact: { ...record.contact, lastName: 'Edited' },
      modified: at(1_000),
    };
    const setBack: InboundRecord = { ...record, modified: at(2_000) };
    const window = { from: null, to: at(10_000) };
    const connection = { tenantId: h.tenantId, connectionId: h.connectionId, provider: 'loop' as const };

    const stagedAfter = async (cycleId: string, pages: InboundRecord[][]) => {
      const page = (i: number): ChangePage => ({
        records: pages[i] ?? [],
        errors: [],
        nextPageToken: i + 1 < pages.length ? `p${i + 1}` : null,
      });
      const provider: CrmProvider = {
        ...loop,
        listChanges: async ({ pageToken }) => ok(page(pageToken === null ? 0 : Number(pageToken.slice(1)))),
      };
      const fetchPage = createFetchPhase({ store: h.store, provider, clock: () => new Date() });
      const signal = new AbortController().signal;
      let counted = 0;
      for (let i = 0; i < pages.length; i++) {
        const input = {
          connection,
          cycleId,
          window,
          pageToken: i === 0 ? null : `p${i}`,
          page: i,
          localCursor: 0,
        };
        counted += (await fetchPage({ input, signal })).records;
      }
      const staged = must(
        await h.store.listStaged({
          tenantId: h.tenantId,
          connectionId: h.connectionId,
          cycleId,
          afterExternalId: null,
          limit: 10,
        }),
      );
      // The records fetched, as the cycle's audit entry counts them: each record staged once, however often listed.
      return {
        staged: staged.filter((s) => s.externalId === record.externalId).map((s) => s.contact.lastName),
        counted,
      };
    };

    expect(await stagedAfter('two-pages', [[edited], [setBack]])).toEqual({ staged: [], counted: 0 });
    expect(await stagedAfter('one-page', [[edited, setBack]])).toEqual({ staged: [], counted: 0 });
    expect(await stagedAfter('edited-last', [[setBack], [edited]])).toEqual({
      staged: ['Edited'],
      counted: 1,
    });
    const editedAgain: InboundRecord = {
      ...edited,
      contact: { ...edited.contact, lastName: 'Again' },
      modified: at(3_000),
    };
    expect(await stagedAfter('edited-twice', [[edited], [editedAgain]])).toEqual({
      staged: ['Again'],
      counted: 1,
    });
  } finally {
    await h.close();
  }
}, 60_000);
