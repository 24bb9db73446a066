import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createServerApp } from '../../src/server/app.ts';
import { ADMIN_TOKEN, browserTestsRun, withSignedInPage } from '../support/adminBrowser.ts';
import { commitDuplicatesAudit } from '../support/auditEntries.ts';
import { createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const appOf = (h: SyncHarness) =>
  createServerApp({ store: h.store, runner: h.deps, adminToken: ADMIN_TOKEN });

/** Answers the page's next `times` requests matching `url` with a 503, as a database failing over would. */
async function failNext(page: Page, url: string | RegExp, times: number) {
  let left = times;
  await page.route(url, (route) =>
    left-- > 0
      ? route.fulfill({
          status: 503,
          contentType: 'application/json',
          body: '{"error":"database unavailable"}',
        })
      : route.continue(),
  );
}

/** Holds the page's requests matching `url` for `ms` before sending them, as a busy server answers late. */
const answerLate = (page: Page, url: RegExp, ms: number) =>
  page.route(url, async (route) => {
    await sleep(ms);
    await route.continue();
  });

/**
 * The admin page's answers arriving late or failing: each load of the audit log shows what its latest request
 * asked for, and a read that fails leaves the page saying so and refreshing, not blank and still.
 */
describe.runIf(browserTestsRun)('the admin page when answers come late or fail', () => {
  it('lists each older entry once when "Load older entries" is clicked twice', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 1 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      for (let i = 0; i < 30; i++) await commitDuplicatesAudit(h.store, ref, 1);
      await withSignedInPage(appOf(h), h.store, 1360, async (page) => {
        const rows = page.getByTestId('audit-row');
        await expect.poll(() => rows.count()).toBe(25);
        await answerLate(page, /\/audit\?.*beforeId=/, 500);
        await page.getByTestId('audit-more').dblclick();
        await expect.poll(() => rows.count()).toBe(30);
        await sleep(1_500);
        const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-audit-id')));
        expect({ rows: ids.length, distinct: new Set(ids).size }).toEqual({ rows: 30, distinct: 30 });
      });
    } finally {
      await h.close();
    }
  }, 90_000);

  it('shows the entries of the connection filter as it reads, when an earlier choice answers last', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 1 } });
    const loop = await createSyncHarness('loop', {
      simulator: { contacts: 1 },
      store: h.store,
      tenantId: h.tenantId,
    });
    try {
      await commitDuplicatesAudit(h.store, { tenantId: h.tenantId, connectionId: h.connectionId }, 1);
      await commitDuplicatesAudit(h.store, { tenantId: h.tenantId, connectionId: loop.connectionId }, 1);
      await withSignedInPage(appOf(h), h.store, 1360, async (page) => {
        const rows = page.getByTestId('audit-row');
        await expect.poll(() => rows.count()).toBe(2);
        await answerLate(page, /\/audit\?.*connectionId=/, 800);
        const filter = page.getByTestId('audit-filter-connection');
        await filter.selectOption(h.connectionId);
        await filter.selectOption('');
        await sleep(2_000);
        expect({ filter: await filter.inputValue(), rows: await rows.count() }).toEqual({
          filter: '',
          rows: 2,
        });
      });
    } finally {
      await loop.close();
      await h.close();
    }
  }, 90_000);

  it('says why it shows no connections when the first read fails at sign-in, and refreshes them after', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 1 } });
    try {
      await withSignedInPage(
        appOf(h),
        h.store,
        1360,
        async (page) => {
          const status = page.getByTestId('connections-status');
          await expect
            .poll(() => status.textContent())
            .toMatch(/^Could not refresh at .*: database unavailable\./);
          expect(await status.isVisible()).toBe(true);
          // The store is back: the page's own refresh, every 10 s, shows the connection.
          await page.clock.runFor(11_000);
          await expect.poll(() => page.getByTestId('connection-card').count()).toBe(1);
          expect(await status.textContent()).toBe('');
        },
        async (page) => {
          await page.clock.install();
          await failNext(page, '**/api/tenants/*/connections', 1);
        },
      );
    } finally {
      await h.close();
    }
  }, 90_000);

  it('says the tenant interval was set when it was, though reading the cards again after failed', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 1 } });
    try {
      await withSignedInPage(appOf(h), h.store, 1360, async (page) => {
        await expect.poll(() => page.getByTestId('connection-card').count()).toBe(1);
        await failNext(page, '**/api/tenants/*/connections', 1);
        await page.getByTestId('tenant-interval-input').fill('2h');
        await page.getByTestId('tenant-set-interval').click();
        const connections = page.getByTestId('connections-status');
        await expect
          .poll(() => connections.textContent())
          .toMatch(/^Could not refresh at .*: database unavailable\./);
        expect(await page.locator('#tenant-status').textContent()).toBe('Tenant interval set to 2h.');
        expect(must(await h.store.getTenant({ tenantId: h.tenantId })).syncIntervalSeconds).toBe(7_200);
      });
    } finally {
      await h.close();
    }
  }, 90_000);

  it("keeps no other tenant's connections in the audit filter when a tenant's first read fails", async () => {
    const a = await createSyncHarness('reapit', { simulator: { contacts: 1 } });
    const b = await createSyncHarness('loop', { simulator: { contacts: 1 }, store: a.store });
    try {
      await commitDuplicatesAudit(a.store, { tenantId: b.tenantId, connectionId: b.connectionId }, 1);
      await withSignedInPage(
        appOf(a),
        a.store,
        1360,
        async (page) => {
          await page.getByTestId('tenant-select').selectOption(a.tenantId);
          await expect.poll(() => page.getByTestId('connection-card').count()).toBe(1);
          await failNext(page, `**/api/tenants/${b.tenantId}/connections`, 1);
          await page.getByTestId('tenant-select').selectOption(b.tenantId);
          const rows = page.getByTestId('audit-row');
          await expect.poll(() => rows.count()).toBe(1);
          await page.clock.runFor(11_000);
          await expect.poll(() => page.locator(`[data-connection-id="${b.connectionId}"]`).count()).toBe(1);
          const filter = page.getByTestId('audit-filter-connection').locator('option');
          const options = await filter.evaluateAll((os) =>
            os.map((o) => (o as unknown as { value: string }).value),
          );
          expect({ options, rows: await rows.count() }).toEqual({ options: ['', b.connectionId], rows: 1 });
        },
        (page) => page.clock.install(),
      );
    } finally {
      await b.close();
      await a.close();
    }
  }, 90_000);
});
