// What the tests read off the web UI's pages: the inbox's rows, total and
// facets, and the post page's triage state.

import { text } from './browser.mjs';

/** The inbox's (or an item list's) rows: id, tenants, triage state, revision, badges. */
export function rows(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('table.posts tbody tr[data-row]')].map((tr) => {
      const meta = tr.querySelector('td.title .meta')?.textContent ?? '';
      const dates = tr.querySelectorAll('td.date');
      const rev = dates.length ? dates[dates.length - 1].textContent.match(/rev (\d+)/) : null;
      return {
        id: tr.querySelector('td.id').textContent.trim(),
        title: tr.querySelector('a[data-open]').textContent.trim(),
        // "services · badges · tenant-001, tenant-002"
        tenants: meta
          .split('·')
          .pop()
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        state: tr.querySelector('[class^="state-"]')?.textContent.trim() ?? null,
        revision: rev ? Number(rev[1]) : 1,
        major: tr.querySelector('.badge.major') !== null,
      };
    }),
  );
}

/** The number of posts the inbox says match ("123 posts"). */
export async function total(page) {
  const t = await text(page.locator('.active-filters > span').first());
  const m = t.match(/^(\d+) posts?$/);
  if (!m) throw new Error(`the inbox shows no total: ${JSON.stringify(t)}`);
  return Number(m[1]);
}

/** The inbox's facets: `{ Tenant: [{ label, count, active }], … }`. */
export function facets(page) {
  return page.evaluate(() => {
    const out = {};
    for (const h of document.querySelectorAll('aside[aria-label="Filters"] h2')) {
      const list = h.nextElementSibling;
      out[h.textContent.trim()] = [...(list?.querySelectorAll('a') ?? [])].map((a) => ({
        label: a.querySelector('span').textContent.trim(),
        count: Number(a.querySelector('.n').textContent.trim()),
        active: a.getAttribute('aria-current') === 'true',
      }));
    }
    return out;
  });
}

/** The work item's state on a post page ("new", "triaged", "in progress (…)"). */
export async function itemState(page) {
  return text(page.locator('#triage dl.item dt:text-is("State") + dd'));
}

/** The decision log's entries on a post page, newest first. */
export async function decisionLog(page) {
  return page.locator('#triage ol.log > li').allTextContents();
}
