// Triage at speed (issue 20), measured in a real browser against
// `changedesk demo`: 30 posts awaiting triage triaged by keyboard with the
// owner the rules suggest, the way the post page allowed before its one
// triage form (j, o, t, then u and Tab to the "Awaiting triage" chip) and the way it allows
// now (j, o once, then n: save and next); and the post page and the board on
// a phone, where nothing may be wider than the screen.
//
//   cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci && npm test

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startDemo } from './lib/demo.mjs';
import { launchBrowser, openAs, Recorder, pressAndLoad } from './lib/browser.mjs';
import { rows, itemState } from './lib/pages.mjs';

const TEST_TIMEOUT_MS = 300_000;
/** How many posts each flow triages. */
const POSTS = 30;
/** The goal: 30 posts in at most this many keystrokes. */
const KEYSTROKE_GOAL = 90;

let demo;
let browser;
const recorder = new Recorder();

before(async () => {
  demo = await startDemo();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

/** The owner the triage form shows (the item's, else the suggested one). */
function formOwner(page) {
  return page.locator('#triage-form #owner').inputValue();
}

test(`${POSTS} posts triaged by keyboard with the suggested owner: before and after the one triage form`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { context, page } = await openAs(browser, demo, recorder, 'manager');
  try {
    await page.goto('/?chip=awaiting');
    const awaiting = await rows(page);
    assert.ok(awaiting.length >= 2, 'posts await triage');

    // before: from the list, j o opens the first, t triages it (the page
    // comes back), u returns to the inbox, and Tab … Enter follows the
    // "Awaiting triage" chip to the list again, which has lost it
    let keys = 0;
    const key = async (k) => { keys++; await page.keyboard.press(k); };
    const keyAndLoad = async (k, url) => { keys++; await pressAndLoad(page, k, url); };
    const beforeStart = Date.now();
    const triagedBefore = [];
    for (let i = 0; i < POSTS; i++) {
      await key('j');
      await keyAndLoad('o', (u) => u.pathname.startsWith('/posts/'));
      const id = new URL(page.url()).pathname.split('/').pop();
      const owner = await formOwner(page);
      await keyAndLoad('t', (u) => u.pathname === `/posts/${id}`);
      assert.equal(await itemState(page), 'triaged', id);
      triagedBefore.push({ id, owner });
      await keyAndLoad('u', (u) => u.pathname === '/');
      let focused = '';
      for (let n = 0; n < 80 && !focused.startsWith('Awaiting triage'); n++) {
        await key('Tab');
        focused = await page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
      }
      assert.ok(focused.startsWith('Awaiting triage'), 'Tab reaches the chip');
      await keyAndLoad('Enter', (u) => u.searchParams.get('chip') === 'awaiting');
    }
    const beforeKeys = keys;
    const beforeSeconds = (Date.now() - beforeStart) / 1000;

    // after: j o opens the first, then n saves the form (owner as
    // suggested, state triaged) and opens the next post awaiting triage
    await page.goto('/?chip=awaiting');
    keys = 0;
    const afterStart = Date.now();
    await key('j');
    await keyAndLoad('o', (u) => u.pathname.startsWith('/posts/'));
    const triagedAfter = [];
    for (let i = 0; i < POSTS; i++) {
      const id = new URL(page.url()).pathname.split('/').pop();
      const owner = await formOwner(page);
      assert.ok(owner, `${id}: the form suggests an owner`);
      triagedAfter.push({ id, owner });
      await keyAndLoad('n', (u) => u.pathname.startsWith('/posts/') && !u.pathname.endsWith(`/${id}`));
    }
    const afterKeys = keys;
    const afterSeconds = (Date.now() - afterStart) / 1000;

    // every one of them is triaged, owned by whom the form suggested
    const ids = new Set([...triagedBefore, ...triagedAfter].map((p) => p.id));
    assert.equal(ids.size, 2 * POSTS, 'sixty different posts');
    for (const p of triagedAfter) {
      await page.goto(`/posts/${p.id}`);
      assert.equal(await itemState(page), 'triaged', p.id);
      const owner = await page.locator('#triage dl.item dt:text-is("Owner") + dd').textContent();
      assert.equal(owner.trim(), p.owner, `${p.id} is owned as suggested`);
    }
    const line = `keyboard triage of ${POSTS} posts: before ${beforeKeys} keystrokes in ${beforeSeconds.toFixed(1)} s; after ${afterKeys} keystrokes in ${afterSeconds.toFixed(1)} s`;
    t.diagnostic(line);
    console.log(line);
    assert.ok(afterKeys <= KEYSTROKE_GOAL, `${afterKeys} keystrokes > ${KEYSTROKE_GOAL}`);
    assert.ok(afterKeys < beforeKeys, 'fewer keystrokes than before');
  } finally {
    await context.close();
  }
});

test('on a phone the post page and the board are no wider than the screen, and titles wrap', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { context, page } = await openAs(browser, demo, recorder, 'manager', { width: 390, height: 844 });
  try {
    await page.goto('/?chip=awaiting');
    const first = (await rows(page))[0];
    for (const path of [`/posts/${first.id}`, '/board', '/']) {
      await page.goto(path);
      const { scroll, client } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      assert.ok(scroll <= client, `${path}: ${scroll} px wide on a ${client} px screen`);
    }
    await page.goto(`/posts/${first.id}`);
    const h1 = await page.locator('h1').evaluate((el) => ({ width: el.scrollWidth, box: el.clientWidth }));
    assert.ok(h1.width <= h1.box, `the title wraps: ${h1.width} > ${h1.box}`);
  } finally {
    await context.close();
  }
});

test('the inbox: more rows on a screen in the compact list, each with a preview the keyboard opens', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { context, page } = await openAs(browser, demo, recorder, 'manager', { width: 1280, height: 800 });
  try {
    // rows wholly on one screen of the list (scrolled to its first row)
    const onScreen = () => page.evaluate(() => {
      const rows = Array.from(document.querySelectorAll('[data-row]'));
      rows[0].scrollIntoView({ block: 'start' });
      return rows.filter((r) => r.getBoundingClientRect().bottom <= window.innerHeight).length;
    });
    const wide = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    await page.goto('/?density=comfortable');
    const comfortable = await onScreen();
    assert.equal(await wide(), 0, 'the comfortable list fits the screen');
    await page.goto('/?density=compact');
    assert.equal(await page.locator('table.posts.compact').count(), 1);
    const compact = await onScreen();
    assert.equal(await wide(), 0, 'the compact list fits the screen');
    // remembered: the inbox without the parameter stays compact
    await page.goto('/?chip=awaiting');
    assert.equal(await page.locator('table.posts.compact').count(), 1, 'the density is remembered');
    const line = `inbox rows on a 1280×800 screen: ${comfortable} comfortable, ${compact} compact`;
    t.diagnostic(line);
    console.log(line);
    assert.ok(compact > comfortable, line);
    // j moves to the first row, p opens its preview, p again closes it
    await page.keyboard.press('j');
    const preview = page.locator('[data-row].current details[data-preview]');
    assert.equal(await preview.count(), 1, 'the first row has a preview');
    await page.keyboard.press('p');
    assert.equal(await preview.evaluate((d) => d.open), true, 'p opens the preview');
    // fetched as it opens: the row's link to the post gives way to the preview
    await page.waitForFunction(() => document.querySelector('[data-row].current details[data-preview] .preview-body') !== null);
    const text = await preview.innerText();
    assert.ok(text.includes('Open MC'), `the preview links its post: ${text}`);
    await page.keyboard.press('p');
    assert.equal(await preview.evaluate((d) => d.open), false, 'p again closes it');
    await page.goto('/?density=comfortable');
  } finally {
    await context.close();
  }
});
