import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';

/**
 * Headless Chromium from Debian's packages (`chromium`, installed by tools/test/prepare.sh),
 * driven by puppeteer-core over a pipe: no download, no network, a fresh profile per launch.
 */
export const CHROMIUM = process.env['LAB_CHROMIUM'] ?? '/usr/bin/chromium';

export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM}; install it with: apt-get install -y chromium (tools/test/prepare.sh does)`;
}

export async function launchBrowser(): Promise<Browser> {
  const { launch } = await import('puppeteer-core');
  return launch({
    executablePath: CHROMIUM,
    pipe: true,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
      `--user-data-dir=${mkdtempSync(join(tmpdir(), 'lab-chromium-'))}`,
    ],
  });
}

export interface Watched {
  /** Console errors, page errors, failed requests and requests that left the machine. */
  readonly problems: string[];
  /** Every response body the page received, to search for secrets. */
  readonly bodies: string[];
}

/** Record what a page must never do: log an error, fail a request, reach beyond loopback. */
export function watch(page: Page): Watched {
  const w: Watched = { problems: [], bodies: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') w.problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => w.problems.push(`page error: ${String(e)}`));
  page.on('requestfailed', (r) => w.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.hostname !== '127.0.0.1') w.problems.push(`request beyond loopback: ${r.url()}`);
  });
  page.on('response', (r) => {
    if (r.request().method() === 'POST' || r.status() === 303) return;
    void r.text().then((t) => void w.bodies.push(t)).catch(() => undefined);
  });
  return w;
}
