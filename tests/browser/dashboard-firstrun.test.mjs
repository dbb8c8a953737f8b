// A new owner's first walk through the dashboard in headless Chromium, on
// a fresh server (only the default widget, no conversation): the empty
// Conversations page points to the default widget's page (its embed
// code); the header is one row at 1300, 1440 and 1920 px on every page
// but the inbox too; the widget form's live preview opens beside the form
// only where it fits (1920), else only its launcher shows and no form
// field is under it (1280, 1440); the rating's label and the Model
// hints say what they do; #/actions/new opens the new-action form;
// Notify me refused by the browser says so; axe-core on the empty list;
// at 390 px the widgets list's card labels break between words, never
// inside one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, SUITE_TIMEOUT, adminApi, assertClean, axeLightDark, dashLogin, openDash, openPage, startSuite, stopSuite,
} from './lib/browser.mjs';

// Two boxes overlap (playwright's boundingBox: x, y, width, height).
const overlap = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe('dashboard: a new owner\'s first visit in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let session;
  let wid; // the default widget's public id

  before(async () => {
    ({ stack, browser } = await startSuite({ workers: 1, mock: { chunks: 2 }, env: { DASHBOARD_PASSWORD } }));
    const d = await openPage(browser);
    session = await dashLogin(stack, d.ctx);
    await d.ctx.close();
    const ws = (await adminApi(stack, 'GET', '/v1/admin/widgets')).json.widgets;
    wid = ws.find((w) => w.id === 'default').widget_id;
  });
  after(() => stopSuite({ stack, browser }));

  // A dashboard page signed in as the owner, width × height.
  async function owner(width, height = 900) {
    const d = await openPage(browser, { viewport: { width, height } });
    await dashLogin(stack, d.ctx, session);
    return d;
  }

  test('no conversations yet: the empty list links to the default widget\'s page, where its embed code is', async () => {
    const { ctx, page, log } = await owner(1280);
    try {
      await openDash(page, stack, '#/conversations', '[data-testid="conv-empty"]:not([hidden])');
      const link = page.locator('[data-testid="conv-empty"] [data-testid="conv-empty-widget"]');
      await link.waitFor({ timeout: 10000 });
      assert.match(await page.textContent('[data-testid="conv-empty"]'), /^No conversations yet\. Chats show here once the widget is on your site: .+: its embed code\.$/);
      assert.equal(await link.getAttribute('href'), `#/widgets/${wid}`);
      assert.deepEqual(await axeLightDark(page, 'empty conversations'), []);
      await link.click();
      await page.waitForSelector('[data-testid="embed-snippet"]');
      assert.ok((await page.textContent('[data-testid="embed-snippet"]')).includes(`data-widget="${wid}"`));
      await assertClean(page, log, 'empty list');
    } finally { await ctx.close(); }
  });

  test('the header is one row at 1300, 1440 and 1920 px (Notify me and Log out beside the menu)', async () => {
    for (const width of [1300, 1440, 1920]) {
      const { ctx, page } = await owner(width);
      try {
        for (const route of ['#/widgets', '#/conversations']) {
          await openDash(page, stack, route, '#whoami:not([hidden])');
          await page.waitForSelector('#notify:not([hidden])');
          const boxes = await page.$$eval('.header-inner > *:not([hidden])',
            (els) => els.map((e) => { const r = e.getBoundingClientRect(); return { top: r.top, bottom: r.bottom }; }));
          const lowestTop = Math.max(...boxes.map((b) => b.top));
          const highestBottom = Math.min(...boxes.map((b) => b.bottom));
          assert.ok(lowestTop < highestBottom, `${route} at ${width}: one row ${JSON.stringify(boxes)}`);
          const h = (await page.locator('.site-header').boundingBox()).height;
          assert.ok(h < 70, `${route} at ${width}: header ${h} px`);
        }
      } finally { await ctx.close(); }
    }
  });

  test('the live preview: beside the form where it fits (1920), else closed and covering no field (1280, 1440)', async () => {
    for (const [width, open] of [[1280, false], [1440, false], [1920, true]]) {
      const { ctx, page, log } = await owner(width);
      try {
        await openDash(page, stack, `#/widgets/${wid}`, '[data-testid="widget-form"]');
        await page.waitForFunction(() => !!window.ParleyChat);
        assert.equal(await page.evaluate(() => window.ParleyChat.isOpen), open, `open at ${width}`);
        assert.match(await page.textContent('[data-testid="preview-status"]'),
          open ? /^The chat at the bottom right shows your changes/ : /^Open the chat button at the bottom right to see your changes/);
        const fixed = page.locator(`#parley-chat-widget [data-part="${open ? 'panel' : 'launcher'}"]`);
        const covers = async () => {
          const hit = [];
          for (const el of await page.locator('[data-testid="widget-form"] :is(input, select, textarea, button)').all()) {
            // each field scrolled into view in turn: the fixed preview stays where it is
            await el.scrollIntoViewIfNeeded();
            const b = await el.boundingBox();
            const now = await fixed.boundingBox();
            if (b && now && overlap(b, now)) hit.push(await el.evaluate((e) => e.id || e.name || e.textContent));
          }
          return hit;
        };
        assert.deepEqual(await covers(), [], `no field under the preview at ${width}`);
        if (!open) {
          // Opened by the owner, it stays open as the form is edited.
          await page.click('#parley-chat-widget [data-part="launcher"]');
          await page.waitForFunction(() => window.ParleyChat && window.ParleyChat.isOpen);
          await page.fill('#f-name', `Renamed at ${width}`);
          await page.waitForFunction((t) => document.getElementById('parley-chat-widget')?.shadowRoot
            .querySelector('[data-part="title"]')?.textContent === t, `Renamed at ${width}`, { timeout: 5000 });
          await page.waitForFunction(() => window.ParleyChat && window.ParleyChat.isOpen);
        }
        await assertClean(page, log, `preview at ${width}`);
      } finally { await ctx.close(); }
    }
  });

  test('the widget form says what its settings do: the rating\'s when, the Model section\'s empty is the agent\'s, the identity secret after saving', async () => {
    const { ctx, page, log } = await owner(1280);
    try {
      await openDash(page, stack, `#/widgets/${wid}`, '[data-testid="widget-form"]');
      assert.equal(await page.textContent('label[for="f-rating_enabled"]'),
        'Ask for a 1-5 rating when the visitor starts a new chat or a person hands the chat back to the assistant');
      assert.match(await page.textContent('[data-field="system_prompt"]'), /Empty: the agent's prompt \(the Default agent's is the server's SYSTEM_PROMPT\)/);
      assert.match(await page.textContent('[data-field="model"]'), /Empty: the agent's model \(the Default agent's is the server's OPENAI_MODEL\)/);
      // The Identity secret panel is the saved widget's: the new form says when it comes, never "see" it.
      assert.match(await page.textContent('#hint-identity_required'), /\(see Identity secret\)/);
      assert.equal(await page.locator('#sec-identity').count(), 1);
      await openDash(page, stack, '#/widgets/new', '[data-testid="widget-form"]');
      const hint = await page.textContent('#hint-identity_required');
      assert.doesNotMatch(hint, /see Identity secret/);
      assert.match(hint, /Needs an identity secret, which you can make once the widget is created\.$/);
      assert.equal(await page.locator('#sec-identity').count(), 0, 'no Identity secret section on the new form');
      await assertClean(page, log, 'widget form words');
    } finally { await ctx.close(); }
  });

  test('#/actions/new: the actions page, its new-action form focused; the list\'s New action goes there', async () => {
    const { ctx, page, log } = await owner(1280);
    try {
      await openDash(page, stack, '#/actions/new', '[data-testid="action-form"]');
      await page.waitForFunction(() => document.activeElement && document.activeElement.closest('[data-testid="action-form"]'));
      assert.equal(await page.evaluate(() => document.activeElement.closest('[data-field]').dataset.field), 'name');
      assert.equal(await page.locator('text=Action not found').count(), 0);
      assert.equal(await page.title(), 'New action · Parley dashboard');
      await openDash(page, stack, '#/actions', '[data-testid="new-action"]');
      await page.click('[data-testid="new-action"]');
      await page.waitForURL((u) => u.hash === '#/actions/new');
      await page.waitForFunction(() => document.activeElement && document.activeElement.closest('[data-testid="action-form"]'));
      await assertClean(page, log, 'actions/new');
    } finally { await ctx.close(); }
  });

  test('Notify me, the browser blocking notifications: the page says so', async () => {
    const { ctx, page, log } = await owner(1280);
    try {
      await page.addInitScript(() => {
        window.Notification = class {
          static permission = 'default';
          static requestPermission() { this.permission = 'denied'; return Promise.resolve('denied'); }
        };
      });
      await openDash(page, stack, '#/widgets', '#notify:not([hidden])');
      await page.click('#notify');
      await page.waitForSelector('[data-testid="flash"]:not([hidden])');
      assert.match(await page.textContent('[data-testid="flash"]'), /^Your browser blocks notifications from this dashboard/);
      assert.equal(await page.textContent('#notify'), 'Notify me');
      assert.equal(await page.getAttribute('#notify', 'aria-pressed'), 'false');
      await assertClean(page, log, 'notify refused');
    } finally { await ctx.close(); }
  });
  test('390 px: the widgets list\'s labels break between words, never inside one', async () => {
    const { ctx, page, log } = await owner(390, 844);
    try {
      await openDash(page, stack, '#/widgets', '[data-testid="widget-table"]');
      // Each card label (the cell's ::before, its data-label): as wide as
      // its widest word at least, that word measured alone in the label's font.
      const labels = await page.evaluate(() => [...document.querySelectorAll('[data-testid="widget-row"] td')].map((td) => {
        const s = getComputedStyle(td, '::before');
        const probe = document.createElement('span');
        probe.style.cssText = `position:absolute;white-space:nowrap;font:${s.font};letter-spacing:${s.letterSpacing}`;
        document.body.append(probe);
        const word = Math.max(...td.dataset.label.split(' ').map((w) => { probe.textContent = w; return probe.getBoundingClientRect().width; }));
        probe.remove();
        return { label: td.dataset.label, width: parseFloat(s.width), word };
      }));
      assert.deepEqual(labels.map((l) => l.label), ['Name', 'Public id', 'Status', 'Conversations', 'Updated']);
      for (const l of labels) assert.ok(l.width >= l.word - 0.5, `"${l.label}" broken inside a word: ${JSON.stringify(l)}`);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'no sideways scroll');
      await assertClean(page, log, 'widgets at 390 px');
    } finally { await ctx.close(); }
  });
});
