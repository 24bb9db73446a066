import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CrmProvider, FetchWindow } from '../provider.ts';
import { getProvider } from '../registry.ts';
import { type SimControl, simControlClient } from '../simulator/server.ts';
import { startReapitSimulator } from './simulator.ts';

type Raw = { id: string; created: string; modified: string };

/**
 * A Reapit delta first lists the records created in the `createSettleMs` (60 s) before its cursor, then its window
 * (`firstToken` in adapter.ts). A bulk import creates more than a page of records on one millisecond; such a run
 * may fall at either end of the creates' listing.
 */
describe('the listing of the creates before a Reapit cursor, with a run of one millisecond longer than a page', () => {
  let sim: Awaited<ReturnType<typeof startReapitSimulator>>;
  let control: SimControl;
  let provider: CrmProvider;
  let run: Raw[];
  let at: number;

  beforeEach(async () => {
    sim = await startReapitSimulator({ contacts: 50, seed: 2, port: 0 });
    control = simControlClient(sim.baseUrl);
    const made = getProvider('reapit')?.createProvider({
      baseUrl: sim.baseUrl,
      credentials: sim.credentials,
    });
    if (!made?.ok) throw new Error('no Reapit provider');
    provider = made.value;
    // One bulk save: its creates share one millisecond.
    await control.edits({ count: 1500, seed: 7 });
    const raws = (await control.records()) as Raw[];
    at = Math.max(...raws.map((r) => Date.parse(r.modified)));
    run = raws.filter((r) => Date.parse(r.created) === at && Date.parse(r.modified) === at);
    expect(run.length).toBeGreaterThan(100);
  });
  afterEach(async () => {
    await sim.close();
  });

  async function listed(window: FetchWindow): Promise<Set<string>> {
    const ids = new Set<string>();
    let token: string | null = null;
    let pages = 0;
    do {
      const page = await provider.listChanges({ window, pageToken: token });
      if (!page.ok) throw new Error(`page ${pages + 1}: ${page.error.message}`);
      for (const r of page.value.records) ids.add(r.externalId);
      token = page.value.nextPageToken;
      pages += 1;
    } while (token !== null && pages < 50);
    expect(token).toBeNull();
    return ids;
  }

  it('lists the run at its first instant, 60 s before the cursor', async () => {
    // The run's page token once held the creates' bound with an empty id, which no token may: read back, fatal.
    const window = {
      from: { modified: new Date(at + 60_000).toISOString(), externalId: 'OXF25999999' },
      to: new Date(at + 120_000).toISOString(),
    };
    const ids = await listed(window);
    expect(run.filter((r) => !ids.has(r.id))).toEqual([]);
  });

  it('lists the run at the cursor, its last instant, and asks for no range ending before it begins', async () => {
    // Past the run, the listing went on from the next millisecond to the cursor: a range Reapit may refuse.
    const window = {
      from: { modified: new Date(at).toISOString(), externalId: 'OXF25000000' },
      to: new Date(at + 60_000).toISOString(),
    };
    const ids = await listed(window);
    expect(run.filter((r) => !ids.has(r.id))).toEqual([]);
  });

  it('lists a window whose cursor is past its end (a clock behind the CRM’s): the creates, and no inverted range', async () => {
    // The cursor 5 s after the window's end: the creates' listing (from 60 s before the cursor to it) holds the run;
    // the window's own listing would be a range ending before it begins, which Reapit may refuse.
    const window = {
      from: { modified: new Date(at + 5_000).toISOString(), externalId: 'OXF25000000' },
      to: new Date(at).toISOString(),
    };
    const ids = await listed(window);
    expect(run.filter((r) => !ids.has(r.id))).toEqual([]);
  });
});
