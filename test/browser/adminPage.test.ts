import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CONNECTION_MACHINE_VERSION } from '../../src/machines/connectionMachine.ts';
import { formatLeaseOwner } from '../../src/persistence/leaseOwner.ts';
import { credentialsSchema } from '../../src/persistence/records.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { runConnection } from '../../src/runner/connectionRunner.ts';
import { createServerApp } from '../../src/server/app.ts';
import { startServer } from '../../src/server/serve.ts';
import { editInCrm } from '../server/apiFixture.ts';
import {
  ADMIN_TOKEN,
  browserTestsRun,
  CHROMIUM,
  CHROMIUM_FLAGS,
  withSignedInPage,
} from '../support/adminBrowser.ts';
import { commitDuplicatesAudit } from '../support/auditEntries.ts';
import { openMemoryStore } from '../support/memoryStore.ts';
import { auditedCycle, createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

const SCREENSHOT = 'test-results/admin.png';

/** Values that would run script if the page ever turned data into markup. */
const LOCAL_SURNAME = '<img src=x onerror="window.__injected=1">';
const CRM_SURNAME = "O'Brien <b>&amp;</b> <script>window.__injected=2</script>";

/**
 * A tenant with two connections: Reapit against its simulator (synced once, with a conflict waiting: the
 * surname edited locally through the API and in the CRM, both times to markup) and Alto against an address where nothing listens
 * (run once, so it waits in backoff with its last error).
 */
async function arrangeTenant(
  h: SyncHarness,
  api: (method: string, path: string, body?: unknown) => Promise<unknown>,
) {
  const base = `/api/tenants/${h.tenantId}`;
  await api('POST', `${base}/connections/${h.connectionId}/sync`);
  const page = (await api('GET', `${base}/contacts?limit=1`)) as {
    contacts: Array<{
      id: string;
      contact: { lastName: string | null };
      links: Array<{ externalId: string }>;
    }>;
  };
  const target = page.contacts[0];
  const externalId = target?.links[0]?.externalId;
  if (target === undefined || externalId === undefined) throw new Error('the first sync linked no contact');
  await api('PATCH', `${base}/contacts/${target.id}`, { lastName: LOCAL_SURNAME });
  await editInCrm(h, externalId, { lastName: CRM_SURNAME });

  const alto = getProvider('alto');
  if (alto === undefined) throw new Error('alto is not registered');
  const gone = await alto.startSimulator({ port: 0 });
  await gone.close();
  const added = await h.store.addConnection({
    tenantId: h.tenantId,
    provider: 'alto',
    baseUrl: gone.baseUrl,
    credentials: credentialsSchema.parse(gone.credentials),
    nextRunAt: new Date(),
  });
  if (!added.ok) throw new Error(added.error.message);
  const ran = await runConnection(h.deps, { tenantId: h.tenantId, connectionId: added.value.id });
  if (!ran.ok || ran.value.state !== 'backoff')
    throw new Error(`alto should wait in backoff: ${JSON.stringify(ran)}`);
  // The conflict's base: the surname both sides changed from (formatted as the page formats a value).
  return { altoId: added.value.id, surnameBefore: target.contact.lastName ?? '—' };
}

const card = (page: Page, connectionId: string) =>
  page.locator(`[data-testid="connection-card"][data-connection-id="${connectionId}"]`);

describe.runIf(browserTestsRun)('admin page in a real browser', () => {
  it('signs in, shows each connection state, syncs, shows the new audit row, expands its conflict and pages a long list', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 120, seed: 7 } });
    const app = createServerApp({ store: h.store, runner: h.deps, adminToken: ADMIN_TOKEN });
    const server = await startServer({ app, store: h.store, port: 0, host: '127.0.0.1' });
    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${await response.text()}`);
      return response.json();
    };
    let browser: Browser | undefined;
    try {
      const { altoId, surnameBefore } = await arrangeTenant(h, api);
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
      const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));

      await page.goto(`${server.url}/admin`);
      await page.getByTestId('token-input').fill('a-wrong-token-for-this-server');
      await page.getByTestId('login-button').click();
      await expect.poll(() => page.getByTestId('login-error').textContent()).toMatch(/refused/);
      await page.getByTestId('token-input').fill(ADMIN_TOKEN);
      await page.getByTestId('login-button').click();

      // Each connection's state, as its badge and as the highlighted node of its diagram.
      const reapit = card(page, h.connectionId);
      const alto = card(page, altoId);
      await reapit.waitFor();
      await alto.waitFor();
      expect(await page.getByTestId('connection-card').count()).toBe(2);
      expect(await reapit.getByTestId('connection-state').textContent()).toBe('idle');
      expect(await alto.getByTestId('connection-state').textContent()).toBe('backoff');
      expect(await reapit.locator('.state.current').getAttribute('data-state')).toBe('idle');
      expect(await alto.locator('.state.current').getAttribute('data-state')).toBe('backoff');
      expect(await alto.locator('.state.resume').getAttribute('data-state')).toBe('fetching');
      expect(await reapit.getByTestId('connection-cursor').textContent()).toMatch(/OXF/);
      expect(await alto.getByTestId('connection-last-error').textContent()).toMatch(/transient.*fetching/);
      expect(await alto.getByTestId('connection-last-error').textContent()).toMatch(/retrying: attempt 1/);
      expect(await reapit.getByTestId('retry').isDisabled()).toBe(true);

      const rows = page.getByTestId('audit-row');
      await rows.first().waitFor();
      const before = await rows.count();
      const newestBefore = Number(await rows.first().getAttribute('data-audit-id'));

      await reapit.getByTestId('sync-now').click();
      await expect
        .poll(() => reapit.getByTestId('action-status').textContent(), { timeout: 30_000 })
        .toBe('Sync finished: idle.');
      await expect.poll(() => rows.count()).toBe(before + 1);
      const newest = rows.first();
      expect(Number(await newest.getAttribute('data-audit-id'))).toBeGreaterThan(newestBefore);
      expect(await newest.getByTestId('audit-conflict-count').textContent()).toBe('1');

      // Expand the new row: its conflict, field by field.
      const detail = page.locator(
        `[data-testid="audit-detail"][data-audit-id="${await newest.getAttribute('data-audit-id')}"]`,
      );
      expect(await detail.isVisible()).toBe(false);
      await newest.getByTestId('audit-toggle').click();
      await detail.waitFor({ state: 'visible' });
      const conflict = detail.getByTestId('conflict-row');
      expect(await conflict.count()).toBe(1);
      expect(await conflict.getByTestId('conflict-field').textContent()).toBe('lastName');
      expect(await conflict.getByTestId('conflict-base').textContent()).toBe(surnameBefore);
      expect(await conflict.getByTestId('conflict-crm').textContent()).toBe(CRM_SURNAME);
      expect(await conflict.getByTestId('conflict-local').textContent()).toBe(LOCAL_SURNAME);
      expect(await conflict.getByTestId('conflict-winner').textContent()).toBe('CRM');
      // Shown as text: no element was made from the values and no script ran.
      expect(await detail.locator('img, b, script').count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as { __injected?: unknown }).__injected)).toBeUndefined();

      // The first cycle's row explains the duplicates it suppressed.
      const first = rows.last();
      await first.click();
      const firstDetail = page.locator(
        `[data-testid="audit-detail"][data-audit-id="${await first.getAttribute('data-audit-id')}"]`,
      );
      expect(await firstDetail.getByTestId('duplicate-row').count()).toBeGreaterThan(0);

      mkdirSync('test-results', { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(existsSync(SCREENSHOT)).toBe(true);

      // An entry longer than a page: its row counts every duplicate, its detail adds the rest on demand.
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const { auditId, duplicates } = await commitDuplicatesAudit(h.store, ref, 130);
      await page.getByTestId('audit-refresh').click();
      const large = page.locator(`[data-testid="audit-row"][data-audit-id="${auditId}"]`);
      await large.waitFor();
      expect(await large.getByTestId('audit-duplicate-count').textContent()).toBe('130');
      await large.click();
      const largeDetail = page.locator(`[data-testid="audit-detail"][data-audit-id="${auditId}"]`);
      await largeDetail.waitFor({ state: 'visible' });
      expect(await largeDetail.locator('h4').textContent()).toBe('Suppressed duplicates (130)');
      const duplicateRows = largeDetail.getByTestId('duplicate-row');
      expect(await duplicateRows.count()).toBe(100);
      const showMore = largeDetail.getByTestId('audit-show-more');
      expect(await showMore.textContent()).toBe('Show 30 more');
      await showMore.click();
      await expect.poll(() => duplicateRows.count()).toBe(130);
      expect(await showMore.count()).toBe(0);
      expect(await duplicateRows.last().locator('td').first().textContent()).toBe(
        duplicates.at(-1)?.incoming,
      );
      // A reload of the table (Refresh, or the one after an action) keeps the detail open with what it showed.
      await Promise.all([
        page.waitForResponse((response) => new URL(response.url()).pathname.endsWith('/audit')),
        page.getByTestId('audit-refresh').click(),
      ]);
      await expect.poll(() => largeDetail.isVisible()).toBe(true);
      expect(await duplicateRows.count()).toBe(130);
      expect(await showMore.count()).toBe(0);
      expect(pageErrors).toEqual([]);
    } finally {
      await browser?.close();
      await server.close();
      await h.close();
    }
    // Two simulators' worth of sync, a browser start and a page: slow on a busy machine.
  }, 120_000);

  it('with no tenants: names the real command, turns the tenant forms off and says the lists are empty', async () => {
    const opened = await openMemoryStore();
    if (!opened.ok) throw new Error(opened.error.message);
    const store = opened.value;
    const runner = {
      store,
      clock: () => new Date(),
      owner: formatLeaseOwner({ host: 'test', pid: process.pid, id: randomUUID() }),
      newCycleId: randomUUID,
    };
    try {
      const app = createServerApp({ store, runner, adminToken: ADMIN_TOKEN });
      await withSignedInPage(app, store, 1360, async (page, requests) => {
        await expect.poll(() => page.getByTestId('tenant-name').textContent()).toMatch(/^No tenants yet/);
        expect(await page.getByTestId('tenant-name').textContent()).toContain('crm-sync tenant add');
        for (const testid of ['tenant-select', 'tenant-interval-input', 'tenant-set-interval']) {
          expect(await page.getByTestId(testid).isDisabled(), testid).toBe(true);
        }
        expect(await page.locator('#no-connections').isVisible()).toBe(true);
        expect(await page.locator('#audit-empty').isVisible()).toBe(true);
        expect(requests.filter((r) => r.includes('/null'))).toEqual([]);
      });
    } finally {
      await store.close();
    }
  }, 60_000);

  it('keeps Sign out on screen beside tenant names of 200 characters', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 1 } });
    try {
      const words = 'Harbour Lettings and Property Management of the North West '.repeat(4).slice(0, 200);
      for (const name of [words, `A${'x'.repeat(199)}`]) {
        const created = await h.store.createTenant({ name, syncIntervalSeconds: 900 });
        if (!created.ok) throw new Error(created.error.message);
      }
      const app = createServerApp({ store: h.store, runner: h.deps, adminToken: ADMIN_TOKEN });
      await withSignedInPage(app, h.store, 1400, async (page) => {
        const select = page.getByTestId('tenant-select');
        expect(await select.locator('option').count()).toBe(3);
        for (const option of await select.locator('option').all()) {
          await select.selectOption((await option.getAttribute('value')) ?? '');
          const width = await page.evaluate<number>('document.documentElement.scrollWidth');
          expect(width).toBeLessThanOrEqual(1400);
          const signOut = await page.getByTestId('sign-out').boundingBox();
          expect(signOut && signOut.x + signOut.width).toBeLessThanOrEqual(1400);
        }
      });
    } finally {
      await h.close();
    }
  }, 60_000);

  it('tells a connection stopped on refused credentials to get new ones, not to retry the same', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 5 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const good = credentialsSchema.parse(h.sim.credentials);
      await h.store.setConnectionCredentials({ ...ref, credentials: { ...good, clientSecret: 'revoked' } });
      const ran = await h.run();
      if (!ran.ok || ran.value.state !== 'error')
        throw new Error(`should stop in error: ${JSON.stringify(ran)}`);
      const app = createServerApp({ store: h.store, runner: h.deps, adminToken: ADMIN_TOKEN });
      await withSignedInPage(app, h.store, 1360, async (page) => {
        const lastError = card(page, h.connectionId).getByTestId('connection-last-error');
        await expect.poll(() => lastError.textContent()).toMatch(/auth_failed/);
        const text = await lastError.textContent();
        expect(text).toContain('crm-sync connection set-credentials');
        expect(text).toContain('--provider reapit');
        expect(text).not.toMatch(/press Retry to resume/);
      });
    } finally {
      await h.close();
    }
  }, 60_000);

  it('tells a connection out of attempts that the schedule retries it, and when', async () => {
    let offsetMs = 0;
    const reapit = getProvider('reapit');
    if (reapit === undefined) throw new Error('reapit is not registered');
    const spec = withSpec(reapit.spec, { retry: { maxAttempts: 1 } });
    const h = await createSyncHarness('reapit', {
      simulator: { contacts: 5 },
      runner: { clock: () => new Date(Date.now() + offsetMs), providerOptions: () => ({ spec }) },
    });
    try {
      await h.sim.control.faults({ errorRate: 1 });
      let ran = await h.run();
      while (ran.ok && ran.value.state === 'backoff') {
        offsetMs += Date.parse(ran.value.context.resumeAt ?? '') - h.deps.clock().getTime() + 1;
        ran = await h.run();
      }
      if (!ran.ok || ran.value.context.errorReason !== 'attempts_exhausted')
        throw new Error(`should run out of attempts: ${JSON.stringify(ran)}`);
      const app = createServerApp({ store: h.store, runner: h.deps, adminToken: ADMIN_TOKEN });
      await withSignedInPage(app, h.store, 1360, async (page) => {
        const lastError = card(page, h.connectionId).getByTestId('connection-last-error');
        await expect.poll(() => lastError.textContent()).toMatch(/attempts_exhausted/);
        expect(await lastError.textContent()).toMatch(
          /the schedule retries fetching at .+, or press Retry to resume it now/,
        );
        // Sync now would be refused in error (409); Retry is the button that goes on.
        expect(await card(page, h.connectionId).getByTestId('sync-now').isDisabled()).toBe(true);
        expect(await card(page, h.connectionId).getByTestId('retry').isDisabled()).toBe(false);
      });
    } finally {
      await h.close();
    }
  }, 90_000);

  it('keeps Sync now off in a backoff not yet due, says why, and turns it on once due', async () => {
    const h = await createSyncHarness('agentos', { simulator: { contacts: 5 } });
    try {
      await h.sim.control.faults({ errorRate: 1 });
      const ran = await h.run();
      if (!ran.ok || ran.value.state !== 'backoff' || !ran.value.context.resumeAt)
        throw new Error(`should wait in backoff: ${JSON.stringify(ran)}`);
      const resumeAt = Date.parse(ran.value.context.resumeAt);
      const app = createServerApp({ store: h.store, runner: h.deps, adminToken: ADMIN_TOKEN });
      await withSignedInPage(
        app,
        h.store,
        1360,
        async (page) => {
          const agentos = card(page, h.connectionId);
          await agentos.waitFor();
          // The CRM's own spelling, from the server's table.
          expect(await agentos.locator('h3').textContent()).toBe('agentOS');
          // The API would refuse it (409) until resumeAt: the button says so rather than failing on click.
          const syncNow = agentos.getByTestId('sync-now');
          expect(await syncNow.isDisabled()).toBe(true);
          expect(await syncNow.getAttribute('title')).toMatch(/^in backoff: it resumes by itself at /);
          // Past resumeAt, the next refresh turns it on.
          await page.clock.runFor(resumeAt - Date.now() + 10_000);
          await expect.poll(() => syncNow.isDisabled()).toBe(false);
          expect(await syncNow.getAttribute('title')).toBe('');
        },
        (page) => page.clock.install(),
      );
    } finally {
      await h.close();
    }
  }, 60_000);

  it('keeps Sync now on for an older machine version after an upgrade, and off for a newer one', async () => {
    const h = await createSyncHarness('loop', { simulator: { contacts: 3 } });
    try {
      await auditedCycle(h);
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const restamp = async (machineVersion: number) => {
        const stored = must(await h.store.loadSnapshot(ref)) ?? expect.unreachable();
        must(
          await h.store.saveSnapshot({
            ...ref,
            machineVersion: String(machineVersion),
            snapshot: stored.snapshot,
            stateValue: stored.stateValue,
            now: new Date(),
          }),
        );
      };
      // As a rolled-back crm-sync finds what a newer one left: the API refuses a sync until a reset.
      await restamp(CONNECTION_MACHINE_VERSION + 1);
      const app = createServerApp({ store: h.store, runner: h.deps, adminToken: ADMIN_TOKEN });
      await withSignedInPage(app, h.store, 1360, async (page) => {
        const loop = card(page, h.connectionId);
        await loop.waitFor();
        const syncNow = loop.getByTestId('sync-now');
        expect(await syncNow.isDisabled()).toBe(true);
        expect(await syncNow.getAttribute('title')).toMatch(/cannot be restored: reset it/);
      });
      // As an upgraded crm-sync finds what the older one left: the run restarts it, so Sync now is on and works.
      await restamp(CONNECTION_MACHINE_VERSION - 1);
      await withSignedInPage(app, h.store, 1360, async (page) => {
        const loop = card(page, h.connectionId);
        await loop.waitFor();
        expect(await loop.getByTestId('connection-last-error').textContent()).toMatch(/next run restarts it/);
        const syncNow = loop.getByTestId('sync-now');
        expect(await syncNow.isDisabled()).toBe(false);
        await syncNow.click();
        await expect
          .poll(() => loop.getByTestId('action-status').textContent(), { timeout: 30_000 })
          .toBe('Sync finished: idle.');
      });
    } finally {
      await h.close();
    }
  }, 60_000);

  it('says when a refresh of the cards fails, keeps them, and clears the message once one works', async () => {
    const h = await createSyncHarness('reapit', { simulator: { contacts: 5 } });
    try {
      await auditedCycle(h);
      const app = createServerApp({ store: h.store, runner: h.deps, adminToken: ADMIN_TOKEN });
      const connections = '**/api/tenants/*/connections';
      await withSignedInPage(
        app,
        h.store,
        1360,
        async (page) => {
          const status = page.getByTestId('connections-status');
          const state = card(page, h.connectionId).getByTestId('connection-state');
          await expect.poll(() => state.textContent()).toMatch(/idle/);
          expect(await status.textContent()).toBe('');
          await page.route(connections, (route) =>
            route.fulfill({
              status: 503,
              contentType: 'application/json',
              body: '{"error":"database unavailable"}',
            }),
          );
          await page.clock.runFor(10_000);
          await expect
            .poll(() => status.textContent())
            .toMatch(
              /^Could not refresh at .+: database unavailable\. The cards show the state read at .+\.$/,
            );
          expect(await state.textContent()).toMatch(/idle/);
          await page.unroute(connections);
          await page.clock.runFor(10_000);
          await expect.poll(() => status.textContent()).toBe('');
        },
        (page) => page.clock.install(),
      );
    } finally {
      await h.close();
    }
  }, 60_000);
});
