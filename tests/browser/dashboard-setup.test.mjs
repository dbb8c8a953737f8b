// A widget's Setup panel (setup.js) in headless Chromium: each list says
// what it counts. The sites list counts every request seen from an origin,
// accepted or refused, with how the last one went ("12 requests seen, last
// one refused: origin not allowed"); the refusals list counts the requests
// refused for each reason ("Refused because the origin is not in the
// allowed origins: 1 request"), the widget's CSP reports as reports. A
// widget no site has asked for says so plainly, with where to look. The
// counts come from the server (GET /v1/admin/widgets/:id/setup), made here
// by fetching the widget's config with an Origin. "Check my page" fetches
// a page the test serves on 127.0.0.1 (PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on):
// a mistyped data-widget is "Not found" with both ids and the tag listed,
// the right one "Found". Screenshots at 1280 and 390 px, axe-core in light
// and dark.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, PHONE, SCREENSHOTS, SUITE_TIMEOUT, adminApi, assertClean, axeLightDark, dashLogin, openDash, openPage, overflow,
  startSuite, stopSuite,
} from './lib/browser.mjs';
import { login } from '../integration/lib/dashboard.mjs';
import { receiver } from '../integration/lib/receiver.mjs';

const SITE = 'https://shop.example';
const OTHER = 'https://other.example';
const ACCEPTED = 10; // config fetches from SITE while it is allowed
const NOT_SEEN = 'Not seen on any site yet: check the data-widget id in your page\'s embed tag.';

describe('the Setup panel in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let session;
  let used; // a widget SITE loaded, then was refused
  let fresh; // a widget no site asked for
  let seen; // requests from SITE, all told
  const t0 = Date.now();
  let pages; // the owner's pages, for "Check my page"
  const TYPO = 'wid_0123456789abcdef0123456789abcdef';
  const pageBody = {};

  const admin = (method, p, body) => adminApi(stack, method, p, body);
  const config = (wid, origin) => stack.parley.get(`/api/widget/${wid}/config`, { headers: { origin } });

  before(async () => {
    pages = await receiver((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><html><head><title>Shop</title>${pageBody[req.url] || ''}</head><body></body></html>`);
    });
    ({ stack, browser } = await startSuite({ mock: { chunks: 2 }, env: { DASHBOARD_PASSWORD, PARLEY_KNOWLEDGE_ALLOW_PRIVATE: 'on' } }));
    const logged = login(stack.parley);
    logged.catch(() => {});
    let r = await admin('POST', '/v1/admin/widgets', { name: 'Used shop', allowed_origins: [SITE] });
    assert.equal(r.status, 201, r.text);
    used = r.json;
    r = await admin('POST', '/v1/admin/widgets', { name: 'Fresh shop', allowed_origins: [] });
    assert.equal(r.status, 201, r.text);
    fresh = r.json;
    for (let i = 0; i < ACCEPTED; i++) assert.equal((await config(used.widget_id, SITE)).status, 200);
    seen = ACCEPTED;
    // SITE taken out of the allowed origins: its next fetch refused (those
    // before the change reaches the worker still accepted, and counted).
    assert.equal((await admin('PATCH', `/v1/admin/widgets/${used.widget_id}`, { allowed_origins: [OTHER] })).status, 200);
    for (let status = 0; status !== 403; seen++) {
      status = (await config(used.widget_id, SITE)).status;
      assert.ok(status === 200 || status === 403, `config: ${status}`);
      assert.ok(seen < ACCEPTED + 50, 'refused at last');
    }
    // The widget's own CSP report from SITE: counted as a report, listed apart.
    const rep = await stack.parley.request('POST', `/api/widget/${used.widget_id}/report?reason=csp`, { headers: { origin: SITE } });
    assert.equal(rep.status, 204);
    session = await logged;
  });
  after(async () => {
    if (pages) await pages.close();
    await stopSuite({ stack, browser });
    console.log(`# dashboard-setup.test.mjs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  // The panel of widget wid in page, loaded.
  async function openSetup(page, wid) {
    await openDash(page, stack, `#/widgets/${wid}`, '[data-testid="setup"]');
    await page.waitForSelector('[data-testid="setup-origins"] li');
    await page.locator('[data-testid="setup"]').scrollIntoViewIfNeeded();
  }

  test('each list says what it counts: requests seen per site, refusals per reason', async () => {
    const s = (await admin('GET', `/v1/admin/widgets/${used.widget_id}/setup`)).json;
    const site = s.origins.find((o) => o.origin === SITE);
    assert.equal(site.count, seen, `every request from the site: ${JSON.stringify(s.origins)}`);
    assert.equal(site.result, 'origin');
    assert.equal(s.refusals.find((x) => x.reason === 'origin').count, 1);

    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openSetup(page, used.widget_id);
      const sites = await page.locator('[data-testid="setup-origins"] [data-testid="setup-origin"]').allTextContents();
      assert.equal(sites.length, 1, JSON.stringify(sites));
      assert.match(sites[0], new RegExp(`^${SITE.replace(/\./g, '\\.')}: ${seen} requests seen, last one refused: origin not allowed \\(.+\\)\\.$`));
      const refused = await page.textContent('[data-testid="setup-refusal-origin"]');
      assert.ok(refused.startsWith('Refused because the origin is not in the allowed origins: 1 request. '), refused);
      assert.match(refused, /add it in the widget's settings/, 'the fix');
      const csp = await page.textContent('[data-testid="setup-refusal-csp"]');
      assert.ok(csp.startsWith('Chat socket blocked by the page\'s Content-Security-Policy: 1 report from the widget. '), csp);
      assert.match(await page.textContent('[data-testid="setup-reports"] [data-testid="setup-report"]'),
        new RegExp(`^${SITE.replace(/\./g, '\\.')}: 1 report, the last .+\\.$`));
      const all = await page.textContent('[data-testid="setup"]');
      assert.ok(!all.includes('×') && !/Not allowed,/.test(all), `no bare "Not allowed, N×": ${all}`);
      assert.equal(await page.locator('[data-testid="setup-not-seen"]').count(), 0, 'seen on a site');

      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await page.locator('[data-testid="setup"]').screenshot({ path: path.join(SCREENSHOTS, 'dashboard-setup-1280.png') });
      const bad = await axeLightDark(page, 'setup panel with counts');
      const phone = await openPage(browser, PHONE);
      try {
        await dashLogin(stack, phone.ctx, session);
        await openSetup(phone.page, used.widget_id);
        const o = await overflow(phone.page);
        assert.ok(o.scrollWidth <= o.innerWidth, `no sideways scroll: ${JSON.stringify(o)}`);
        await phone.page.locator('[data-testid="setup"]').screenshot({ path: path.join(SCREENSHOTS, 'dashboard-setup-390.png') });
        bad.push(...await axeLightDark(phone.page, 'phone setup panel with counts'));
        await assertClean(phone.page, phone.log, 'phone setup');
      } finally { await phone.ctx.close(); }
      assert.deepEqual(bad, []);
      await assertClean(page, log, 'setup');
    } finally { await ctx.close(); }
  });

  test('a widget no site asked for: "Not seen on any site yet", and where to look', async () => {
    const s = (await admin('GET', `/v1/admin/widgets/${fresh.widget_id}/setup`)).json;
    assert.deepEqual(s.origins, []);
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openSetup(page, fresh.widget_id);
      assert.equal(await page.textContent('[data-testid="setup-not-seen"]'), NOT_SEEN);
      assert.equal(await page.textContent('[data-testid="setup-refusals"]'), 'None: no visitor was refused.');
      assert.equal(await page.locator('[data-testid="setup-origin"]').count(), 0);
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await page.locator('[data-testid="setup"]').screenshot({ path: path.join(SCREENSHOTS, 'dashboard-setup-not-seen-1280.png') });
      const bad = await axeLightDark(page, 'setup panel, not seen');
      const phone = await openPage(browser, PHONE);
      try {
        await dashLogin(stack, phone.ctx, session);
        await openSetup(phone.page, fresh.widget_id);
        assert.equal(await phone.page.textContent('[data-testid="setup-not-seen"]'), NOT_SEEN);
        await phone.page.locator('[data-testid="setup"]').screenshot({ path: path.join(SCREENSHOTS, 'dashboard-setup-not-seen-390.png') });
        bad.push(...await axeLightDark(phone.page, 'phone setup panel, not seen'));
        await assertClean(phone.page, phone.log, 'phone not seen');
      } finally { await phone.ctx.close(); }
      assert.deepEqual(bad, []);
      await assertClean(page, log, 'not seen');
    } finally { await ctx.close(); }
  });

  test('"Check my page": a mistyped id is named beside the widget\'s, the right tag found', async () => {
    const tag = (id) => `<script src="http://127.0.0.1:${stack.parley.port}/widget/chat-widget.js" data-widget="${id}"></script>`;
    pageBody['/typo'] = tag(TYPO);
    pageBody['/right'] = tag(fresh.widget_id);
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openSetup(page, fresh.widget_id);
      const verdict = '[data-testid="check-page-verdict"]';
      await page.getByLabel('Page address').fill(pages.url('/typo'));
      await page.click('[data-testid="check-page-run"]');
      await page.waitForSelector(verdict);
      assert.equal(await page.textContent(verdict), 'Not found');
      const msg = await page.textContent('[data-testid="check-page-message"]');
      assert.ok(msg.includes(TYPO) && msg.includes(fresh.widget_id), msg);
      assert.match(await page.textContent('[data-testid="check-page-tags"]'), new RegExp(`data-widget ${TYPO}`));
      const bad = await axeLightDark(page, 'check my page, not found');
      await page.getByLabel('Page address').fill(pages.url('/right'));
      await page.click('[data-testid="check-page-run"]');
      await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Found', verdict);
      assert.ok(await page.locator('[data-testid="check-page-tags"]').isHidden(), 'no tag list when found');
      bad.push(...await axeLightDark(page, 'check my page, found'));
      assert.deepEqual(bad, []);
      await assertClean(page, log, 'check my page');
    } finally { await ctx.close(); }
  });
});
