// The web console's browser tests: Debian's Chromium driven by
// playwright-core (never a downloaded browser), the console bundle built by
// the project's own script, sign-in, and the scans for planted values in
// the DOM, every network response and the browser's storage.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureChromiumBinary, isInfraError } from '@latchkey/embedded';
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core';
import { findLeak } from './canary-scan.js';
import { signIn as openLoginLink } from './console-session.js';
import { REPO, type RunningSystem } from './system-harness.js';

/**
 * Debian's Chromium, installed with apt when missing and allowed (root on
 * Debian/Ubuntu), launched headless; or, where it is missing and cannot be
 * installed (a plain user), the reason to skip the browser tests, saying how
 * to install it.
 */
export async function launchChromium(): Promise<Browser | { skip: string }> {
  let executablePath: string;
  try {
    executablePath = await ensureChromiumBinary({ log: (line) => console.log(`chromium: ${line}`) });
  } catch (e) {
    // Missing and not installable here (not root, not Debian): skip, saying how to get it.
    // A failed install as root fails the tests instead.
    if (isInfraError(e) && e.code === 'infra.binary_missing') {
      return { skip: `the browser tests need Chromium: ${e.message}` };
    }
    throw e;
  }
  return chromium.launch({ executablePath, headless: true });
}

/** Builds the console bundle (nothing to do when it is newer than its sources), as npm test does. */
export function buildConsole(): void {
  const r = spawnSync(process.execPath, [join(REPO, 'scripts/build-console.mjs')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `scripts/build-console.mjs failed:\n${r.stdout}${r.stderr}`);
  process.stdout.write(r.stdout);
}

/** The console's origin from the `Console: https://127.0.0.1:PORT/` line `latchkey up` prints. */
export function consoleOrigin(sys: Pick<RunningSystem, 'output'>): string {
  const m = /^Console: (https?:\/\/[^/\s]+)\//m.exec(sys.output());
  assert.ok(m?.[1], `latchkey up printed no console URL:\n${sys.output()}`);
  return m[1];
}

/** Everything one browser context received and kept, for the scans. */
export interface Watched {
  context: BrowserContext;
  page: Page;
  /** Each response's URL, status, headers and body (text), as received. */
  responses(): Promise<{ url: string; status: number; text: string }[]>;
  /** Content-Security-Policy violations and page errors the browser reported. */
  problems: string[];
  /** The page's HTML at each screenshot (see `screenshot`), for the scan. */
  shown: string[];
}

/**
 * A fresh browser context (its own cookies and storage) and page, with
 * every response body and every CSP violation or page error recorded.
 * Certificates: the system's local CA is not in Chromium's store, so the
 * context accepts the gateway's certificate (the connection is still TLS).
 */
export async function openContext(browser: Browser): Promise<Watched> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const pending: Promise<{ url: string; status: number; text: string }>[] = [];
  const problems: string[] = [];
  const record = (r: Response) =>
    pending.push(
      (async () => {
        const headers = JSON.stringify(await r.allHeaders());
        const body = await r.text().catch(() => '');
        return { url: r.url(), status: r.status(), text: `${headers}\n${body}` };
      })(),
    );
  context.on('response', record);
  page.on('console', (m) => {
    if (/Content[- ]Security[- ]Policy|Refused to (load|execute|apply)/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { context, page, problems, shown: [], responses: () => Promise.all(pending) };
}

/**
 * Signs `user` in to the console in `watched`'s context as a person does: a
 * one-time login link from `latchkey console --user U`, opened; the gateway
 * sets the session cookie and sends the browser to the console, whose
 * writes then carry the session's CSRF token. Waits until the console shows
 * who is signed in.
 */
export async function signIn(
  sys: Pick<RunningSystem, 'cli'>,
  watched: Watched,
  user: string,
  groups: string[] = [],
): Promise<void> {
  await openLoginLink(watched.page, sys, user, groups);
  await watched.page.getByTestId('principal').filter({ hasText: user }).waitFor();
}

/** Everything the page shows or holds: its HTML and the current value of every form field. */
async function domText(page: Page): Promise<string> {
  const html = await page.content();
  const fields = await page.evaluate(() =>
    Array.from(document.querySelectorAll('input, textarea, select'))
      .map((e) => (e as HTMLInputElement).value)
      .join('\n'),
  );
  return `${html}\n${fields}`;
}

/** The context's cookies and the page's localStorage and sessionStorage, as text. */
async function storageText(watched: Watched): Promise<string> {
  const cookies = JSON.stringify(await watched.context.cookies());
  const storage = await watched.page.evaluate(() => {
    const dump = (s: Storage) => {
      const out: Record<string, string | null> = {};
      for (let i = 0; i < s.length; i++) {
        const k = s.key(i);
        if (k !== null) out[k] = s.getItem(k);
      }
      return out;
    };
    return JSON.stringify({ local: dump(window.localStorage), session: dump(window.sessionStorage) });
  });
  return `${cookies}\n${storage}`;
}

/**
 * Asserts that none of `canaries` (raw, base64 or hex) is in the page's DOM
 * (and form fields), in any response the context received, or in its
 * cookies, localStorage or sessionStorage. Returns how many responses were
 * scanned, so that a test can check the scan saw traffic.
 */
export async function assertNotInBrowser(watched: Watched, canaries: string[]): Promise<number> {
  // The page now (with its fields' values), and its HTML at each screenshot (a value shown once
  // and then replaced counts).
  const dom = [...watched.shown, await domText(watched.page)].join('\n');
  const responses = await watched.responses();
  const storage = await storageText(watched);
  for (const c of canaries) {
    assert.equal(findLeak(dom, c), undefined, `the page's DOM holds ${c}`);
    for (const r of responses) {
      assert.equal(findLeak(r.text, c), undefined, `the response of ${r.url} (${r.status}) holds ${c}`);
    }
    assert.equal(findLeak(storage, c), undefined, `the browser's storage holds ${c}`);
  }
  return responses.length;
}

/** Where screenshots go: LATCHKEY_SCREENSHOTS, else test/screenshots/ (git-ignored). */
export const SCREENSHOTS = process.env['LATCHKEY_SCREENSHOTS'] ?? join(REPO, 'test/screenshots');

/**
 * Writes a full-page screenshot `<name>.png` and prints its path; keeps
 * the page's HTML then for assertNotInBrowser.
 */
export async function screenshot(watched: Watched, name: string): Promise<string> {
  const { page } = watched;
  // Its HTML only: a form field may hold what the person is typing (a value going in).
  watched.shown.push(await page.content());
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
  return path;
}
