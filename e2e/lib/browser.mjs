// Headless Chromium through playwright-core, always the system's browser
// (Debian's `chromium`; CHROMIUM_PATH overrides): the project never
// downloads one.

import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export async function launchBrowser() {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
}

/**
 * Everything the pages of a test run asked for, to check that no request
 * leaves the server: each request's URL, each page's answer headers, and
 * what the browser complained about (script errors, Content-Security-Policy
 * refusals).
 */
export class Recorder {
  constructor() {
    this.requests = [];
    this.documents = [];
    this.problems = [];
  }

  /** Records what `context`'s pages do. */
  watch(context) {
    context.on('request', (r) => this.requests.push({ url: r.url(), type: r.resourceType() }));
    context.on('response', (r) => {
      if (r.request().resourceType() === 'document') {
        // read now, awaited by documentHeaders()
        const headers = r.allHeaders().catch((e) => ({ error: e.message }));
        this.documents.push({ url: r.url(), status: r.status(), headers });
      }
    });
    context.on('page', (page) => this.watchPage(page));
    for (const page of context.pages()) this.watchPage(page);
  }

  /** Every page's answer with its headers. */
  async documentHeaders() {
    return Promise.all(this.documents.map(async (d) => ({ ...d, headers: await d.headers })));
  }

  watchPage(page) {
    page.on('pageerror', (e) => this.problems.push(`${page.url()}: script error: ${e.message}`));
    page.on('console', (m) => {
      // a 4xx page is a test's own doing; a refused script, style or
      // connection is not
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) {
        this.problems.push(`${page.url()}: console: ${m.text()}`);
      }
    });
  }
}

/**
 * A new browser context (no cookies, no cache) for one user of the demo,
 * light theme, 1280 wide; signs in through the sign-in form when `user` is
 * given. Returns `{ context, page }`.
 */
export async function openAs(browser, demo, recorder, user, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({
    baseURL: demo.url,
    viewport: { width, height },
    colorScheme: 'light',
    reducedMotion: 'reduce',
  });
  recorder?.watch(context);
  const page = await context.newPage();
  if (user) await signIn(page, user, demo.passwords[user]);
  return { context, page };
}

/** Opens the inbox, is sent to the sign-in form, signs in, lands on the inbox. */
export async function signIn(page, name, password) {
  await page.goto('/');
  await page.waitForURL((u) => u.pathname === '/sign-in');
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await clickAndLoad(page, page.getByRole('button', { name: 'Sign in', exact: true }), (u) => u.pathname === '/');
}

/**
 * Runs `action` (a click, a key) and waits until the page it leads to has
 * loaded (also when it is the same address again, as after a form's
 * redirect back to the post). With `url`, checks where it went.
 */
export async function navigating(page, action, url) {
  const committed = page.waitForEvent('framenavigated', {
    predicate: (f) => f === page.mainFrame(),
    timeout: 15_000,
  });
  await Promise.all([committed, action()]);
  await page.waitForLoadState('load');
  if (url) {
    const at = new URL(page.url());
    const ok = typeof url === 'function' ? url(at) : url instanceof RegExp ? url.test(at.href) : at.href === new URL(url, at).href;
    if (!ok) throw new Error(`went to ${at.href}, expected ${url}`);
  }
}

/** Clicks `locator` and waits for the page it leads to. */
export async function clickAndLoad(page, locator, url) {
  await navigating(page, () => locator.click(), url);
}

/** Presses `key` and waits for the page it leads to. */
export async function pressAndLoad(page, key, url) {
  await navigating(page, () => page.keyboard.press(key), url);
}

/** The text of `locator`, whitespace collapsed. */
export async function text(locator) {
  return ((await locator.textContent()) ?? '').replace(/\s+/g, ' ').trim();
}
