// The README's screenshots of the web UI, taken from the demo (its clock is
// fixed, so every run shows the same archive): the inbox and a post page,
// light theme, 1280 wide, into docs/screenshots/.
//
//   cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci && npm run screenshots

import { mkdir, stat } from 'node:fs/promises';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startDemo } from './lib/demo.mjs';
import { launchBrowser, openAs } from './lib/browser.mjs';
import { rows } from './lib/pages.mjs';

const OUT = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'screenshots');
/** The README asks for small pictures. */
const MAX_BYTES = 300 * 1024;

const demo = await startDemo();
let browser;
try {
  browser = await launchBrowser();
  await mkdir(OUT, { recursive: true });
  const { page } = await openAs(browser, demo, null, 'manager', { width: 1280, height: 860 });
  const shots = [];

  // the inbox: every post, the facets and the chips
  await page.goto('/');
  await page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
  shots.push(join(OUT, 'inbox.png'));
  await page.screenshot({ path: shots.at(-1) });

  // a post Microsoft revised, major, awaiting triage: its body, dates and triage panel
  await page.goto('/?major=true&q=updated');
  const post = (await rows(page)).find((r) => r.revision > 1 && r.state === 'new');
  if (!post) throw new Error('the demo has no revised major post awaiting triage to show');
  await page.goto(`/posts/${post.id}`);
  await page.getByRole('region', { name: 'Triage actions' }).waitFor();
  shots.push(join(OUT, 'post.png'));
  await page.screenshot({ path: shots.at(-1) });

  for (const path of shots) {
    const { size } = await stat(path);
    console.log(`${path}: ${Math.round(size / 1024)} KB`);
    if (size > MAX_BYTES) throw new Error(`${path} is ${size} bytes, over ${MAX_BYTES}`);
  }
} finally {
  await browser?.close();
  await demo.stop();
}
