import { existsSync } from 'node:fs';
import type { Hono } from 'hono';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { startServer } from '../../src/server/serve.ts';

/** The admin page in Chromium (`apt-get install -y chromium`), driven by playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
export const ADMIN_TOKEN = 'browser-test-admin-token-9f8e7d6c5b4a';

const haveChromium = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true' || process.env.CI === '1';
/** Without Chromium the browser tests are skipped, out loud; in CI (`CI=true`) they run and fail instead. */
export const browserTestsRun = haveChromium || inCi;
if (!browserTestsRun) {
  console.warn(
    `\n*** SKIPPING the admin page browser tests: ${CHROMIUM} is missing. ` +
      'Install it (apt-get install -y chromium) or run .ci/run; with CI=true these tests fail instead. ***\n',
  );
}

/**
 * Serves `app`, opens the admin page in Chromium at `width` (after `prepare`, e.g. a fake clock) and signs in; the
 * page's errors must stay none.
 */
export async function withSignedInPage(
  app: Hono,
  store: StoreHandle,
  width: number,
  use: (page: Page, requests: string[]) => Promise<void>,
  prepare?: (page: Page) => Promise<void>,
): Promise<void> {
  const server = await startServer({ app, store, port: 0, host: '127.0.0.1' });
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const requests: string[] = [];
    page.on('request', (request) => requests.push(`${request.method()} ${new URL(request.url()).pathname}`));
    await prepare?.(page);
    await page.goto(`${server.url}/admin`);
    await page.getByTestId('token-input').fill(ADMIN_TOKEN);
    await page.getByTestId('login-button').click();
    await page.getByTestId('dashboard').waitFor();
    await use(page, requests);
    expect(pageErrors).toEqual([]);
  } finally {
    await browser?.close();
    await server.close();
  }
}
