/**
 * A real browser for tests: Debian's chromium (installed by `scripts/test-tools.sh`), driven by
 * playwright-core, which brings no browser of its own. A test that needs it fails, never skips,
 * when it is missing: a report that was never opened in a browser is not tested.
 *
 * `visit` opens a local file and records everything the page tries behind the reader's back:
 * every network request (all refused, except the document itself), console errors and warnings
 * (a Content-Security-Policy violation is one), and uncaught page errors.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where Debian installs chromium. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where tests keep what a person may want to look at after a run (git-ignored). */
export const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;

/** Launches headless chromium; one per test file, closed in its afterAll. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Debian's chromium is not installed (${CHROMIUM} is missing): run \`bash scripts/test-tools.sh\` (apt-get install chromium), then the tests again`);
  }
  const root = process.getuid?.() === 0;
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // chromium refuses to run as root with its sandbox; CI and this machine run as root.
    chromiumSandbox: !root,
    args: root ? ['--no-sandbox'] : [],
  });
}

/** What a page did while it was open. */
export interface Visit {
  readonly page: Page;
  readonly url: string;
  /** Every request the page made, the document included, in order. */
  readonly requests: string[];
  /** Console messages of type error or warning, as `type: text`. */
  readonly console: string[];
  /** Uncaught exceptions in the page. */
  readonly pageErrors: string[];
  close(): Promise<void>;
}

/**
 * Opens the local file `path` in a new page and waits for its load event. Every request but the
 * document's is aborted and recorded.
 */
export async function visit(browser: Browser, path: string): Promise<Visit> {
  const url = pathToFileURL(path).href;
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests: string[] = [];
  const messages: string[] = [];
  const pageErrors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') messages.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await context.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort('blockedbyclient')));
  await page.goto(url, { waitUntil: 'load' });
  return { page, url, requests, console: messages, pageErrors, close: () => context.close() };
}

/** Every `data-figure` on the page as [name, text] pairs, in document order (duplicates kept). */
export async function pageFigures(page: Page): Promise<[string, string][]> {
  return page.$$eval('[data-figure]', (elements) => elements.map((e) => [e.getAttribute('data-figure') ?? '', e.textContent ?? ''] as [string, string]));
}

/**
 * A full-page screenshot into `test-artifacts/<name>.png`; returns its path after checking it is
 * a PNG with a non-empty image (signature, then the IHDR's width and height).
 */
export async function screenshot(page: Page, name: string): Promise<{ path: string; width: number; height: number; bytes: number }> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  const png = readFileSync(path);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (png.length < 33 || !png.subarray(0, 8).equals(signature) || png.toString('latin1', 12, 16) !== 'IHDR') {
    throw new Error(`${path} is not a PNG`);
  }
  return { path, width: png.readUInt32BE(16), height: png.readUInt32BE(20), bytes: png.length };
}
