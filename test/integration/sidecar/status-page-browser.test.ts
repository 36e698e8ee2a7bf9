/**
 * The status page in a real browser (Debian's chromium via playwright-core): it loads without console
 * errors or outside requests, shows the verdict, one row and one plot point per backup, fits a phone
 * screen, and pages on. Screenshots at phone and desktop widths go to test-artifacts/.
 *
 * First against a real sidecar (`chatflow-db start`) whose stores hold backups made with the CLI; then, for
 * histories too long to make for real (120 daily backups, a failed drill), against pages rendered from
 * facts built in the test and served by a tiny server.
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStatus, parsePage, type StatusInputs } from '../../../src/sidecar/status-model.js';
import { renderStatusPage } from '../../../src/sidecar/status-page.js';
import { ARTIFACTS_DIR, browserSkipReason, launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { DAY, NOW, daily, drill, inputs } from '../../helpers/status.js';
import {
  BACKUP_NAMES,
  makeHistory,
  startSidecar,
  type RunningSidecar,
  type StatusHistory,
} from '../../helpers/status-sidecar.js';

const skip = browserSkipReason();
if (skip) console.warn(`status page browser test skipped: ${skip}`);

/** Serves GET /?page=N and /api/status for the facts `facts` gives. */
async function serve(facts: () => StatusInputs): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const status = buildStatus({ ...facts(), page: parsePage(url.searchParams.get('page')) });
    if (url.pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(renderStatusPage(status));
    } else if (url.pathname === '/api/status') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(status));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, server };
}

/** Console errors, page errors and requests that left loopback, collected while a page is used. */
function watch(page: Page): { problems: string[] } {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
  page.on('request', (request) => {
    if (!request.url().startsWith('http://127.0.0.1:')) problems.push(`outside request: ${request.url()}`);
  });
  return { problems };
}

describe.skipIf(skip !== undefined)('status page of a real sidecar in chromium', () => {
  let browser: TestBrowser;
  let history: StatusHistory;
  let sidecar: RunningSidecar;

  beforeAll(async () => {
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    history = await makeHistory();
    sidecar = await startSidecar(history);
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await sidecar?.process.kill();
    await history?.close();
  });

  it('loads without console errors, shows the verdict, the backups and one point per backup', async () => {
    for (const view of [
      { name: 'phone', width: 390, height: 844, colorScheme: 'light' as const },
      { name: 'desktop', width: 1280, height: 900, colorScheme: 'light' as const },
      { name: 'desktop-dark', width: 1280, height: 900, colorScheme: 'dark' as const },
    ]) {
      const page = await browser.context.newPage();
      const { problems } = watch(page);
      await page.setViewportSize({ width: view.width, height: view.height });
      await page.emulateMedia({ colorScheme: view.colorScheme });
      const response = await page.goto(`${sidecar.url}/`, { waitUntil: 'load' });
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");

      await expect(page.locator('#verdict .word').textContent()).resolves.toBe('All fine');
      expect(await page.locator('#verdict').isVisible()).toBe(true);
      const rows = page.locator('tr.backup');
      expect(await rows.count()).toBe(3);
      const shown = await Promise.all([0, 1, 2].map((i) => rows.nth(i).getAttribute('data-name')));
      expect(shown).toEqual([...BACKUP_NAMES].reverse());
      expect(await rows.first().isVisible()).toBe(true);
      expect(await page.locator('svg[data-plot="size"] .point').count()).toBe(3);
      expect(await page.locator('svg[data-plot="duration"] .point').count()).toBe(3);
      expect(await page.locator('svg[data-plot="drill"] .point').count()).toBe(1);
      const scrollWidth = await page.evaluate<number>('document.documentElement.scrollWidth');
      expect(scrollWidth).toBeLessThanOrEqual(view.width);

      await page.screenshot({
        path: join(ARTIFACTS_DIR, `status-page-sidecar-${view.name}.png`),
        fullPage: true,
      });
      expect(problems).toEqual([]);
      await page.close();
    }
  });

  it('the page links to its JSON, which holds the same backups', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${sidecar.url}/`);
    await page.getByRole('link', { name: '/api/status' }).click();
    await page.waitForURL(/\/api\/status$/);
    const status = JSON.parse((await page.locator('body').textContent()) ?? '') as {
      backups: { items: { name: string }[] };
    };
    expect(status.backups.items.map((item) => item.name)).toEqual([...BACKUP_NAMES].reverse());
    await page.close();
  });
});

describe.skipIf(skip !== undefined)('status page in chromium (rendered from test facts)', () => {
  let browser: TestBrowser;
  const servers: Server[] = [];

  beforeAll(async () => {
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    for (const server of servers) server.close();
  });

  it('a few backups: verdict, one row and one point per backup, phone and desktop screenshots', async () => {
    // Six daily backups with yesterday's slot missed, in two stores, one drilled.
    const backups = daily(7)
      .filter((backup) => backup.daysAgo !== 1)
      .map((backup, i) => ({
        ...backup,
        size: 40_000_000 + i * 1_500_000,
        durationMs: 20_000 + i * 900,
        stores: ['local', 's3'] as ('local' | 's3')[],
      }));
    const base = inputs(backups);
    const drills = new Map([
      [base.entries.at(-1)!.name, [drill(new Date(NOW.getTime() - 3 * DAY), true, 41_000)]],
    ]);
    const { url, server } = await serve(() => ({ ...base, drills }));
    servers.push(server);

    for (const view of [
      { name: 'phone', width: 390, height: 844, colorScheme: 'light' as const },
      { name: 'phone-dark', width: 390, height: 844, colorScheme: 'dark' as const },
      { name: 'desktop', width: 1280, height: 900, colorScheme: 'light' as const },
      { name: 'desktop-dark', width: 1280, height: 900, colorScheme: 'dark' as const },
    ]) {
      const page = await browser.context.newPage();
      const { problems } = watch(page);
      await page.setViewportSize({ width: view.width, height: view.height });
      await page.emulateMedia({ colorScheme: view.colorScheme });
      const response = await page.goto(url, { waitUntil: 'load' });
      expect(response?.status()).toBe(200);

      await expect(page.locator('#verdict .word').textContent()).resolves.toBe('All fine');
      expect(await page.locator('#verdict').isVisible()).toBe(true);
      expect(await page.locator('tr.backup').count()).toBe(6);
      expect(await page.locator('tr.backup').first().isVisible()).toBe(true);
      expect(await page.locator('svg[data-plot="size"] .point').count()).toBe(6);
      expect(await page.locator('svg[data-plot="duration"] .point').count()).toBe(6);
      expect(await page.locator('svg[data-plot="drill"] .point').count()).toBe(1);
      expect(await page.locator('svg[data-plot="size"] .missed').count()).toBe(1);
      // Nothing wider than the screen: no sideways scrolling on a phone.
      const scrollWidth = await page.evaluate<number>('document.documentElement.scrollWidth');
      expect(scrollWidth).toBeLessThanOrEqual(view.width);
      // Dark mode really changes the background.
      const background = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
      expect(background).toBe(view.colorScheme === 'dark' ? 'rgb(21, 23, 26)' : 'rgb(247, 247, 245)');
      // On a phone the table is cards: the header row is only there for screen readers.
      if (view.width < 700)
        expect((await page.locator('thead').boundingBox())?.height).toBeLessThanOrEqual(1);

      await page.screenshot({ path: join(ARTIFACTS_DIR, `status-page-${view.name}.png`), fullPage: true });
      expect(problems).toEqual([]);
      await page.close();
    }
  });

  it('many backups and a failed drill: the problem in words, 50 rows, and "older" goes to page 2', async () => {
    const base = inputs(daily(120));
    const drills = new Map([
      [base.entries[0]!.name, [drill(new Date(NOW.getTime() - 3_600_000), false, 30_000, ['row counts'])]],
    ]);
    const { url, server } = await serve(() => ({ ...base, drills }));
    servers.push(server);
    const page = await browser.context.newPage();
    const { problems } = watch(page);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(url);

    await expect(page.locator('#verdict .word').textContent()).resolves.toBe('One problem');
    expect(await page.locator('#verdict li').textContent()).toContain('failed (row counts)');
    expect(await page.locator('tr.backup').count()).toBe(50);
    expect(await page.locator('svg[data-plot="size"] .point').count()).toBe(90);
    expect(await page.locator('svg[data-plot="drill"] .point.failed').count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'status-page-problem-desktop.png'), fullPage: false });

    await page.getByRole('link', { name: 'older →' }).click();
    await page.waitForURL(/\?page=2$/);
    expect(await page.locator('tr.backup').count()).toBe(50);
    expect(await page.locator('.pager').textContent()).toContain('page 2 of 3');
    expect(problems).toEqual([]);
    await page.close();
  });
});
