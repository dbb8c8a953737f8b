// The dashboard's Email page (#/email, issue 23 item 4) in headless
// Chromium: reached from the nav, it shows the signed-in user's own email
// notifications (all off at first) and that this server sends no email
// (no SMTP_URL); two boxes ticked and saved are what the API then answers
// for that user, and what the page shows after a reload. axe-core in
// light and dark; no horizontal scroll at 390 px; no page error, console
// error or CSP violation.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, SUITE_TIMEOUT, assertClean, axeLightDark, dashLogin, openDash, openPage, overflow, startSuite, stopSuite,
  atLoginPage,
} from './lib/browser.mjs';

describe('the dashboard\'s Email page in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;

  before(async () => {
    ({ stack, browser } = await startSuite({ workers: 1, mock: { chunks: 1 }, env: { DASHBOARD_PASSWORD } }));
  });
  after(() => stopSuite({ stack, browser }));

  test('the user\'s own choice: shown, saved, kept; accessible', async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      const session = await dashLogin(stack, ctx);
      await openDash(page, stack, '#/conversations');
      await page.click('[data-testid="nav-more"] summary');
      await page.click('[data-testid="nav-email"]');
      await page.waitForSelector('[data-testid="email-form"]');
      assert.equal(await page.textContent('h1'), 'Email notifications');
      assert.ok(await page.isVisible('[data-testid="email-off"]'), 'this server sends no email');
      for (const name of ['handoff_requested', 'visitor_waiting', 'new_contact']) {
        assert.equal(await page.isChecked(`[data-testid="email-${name}"]`), false, name);
      }
      assert.deepEqual(await axeLightDark(page, 'email'), []);
      // The boxes framed as the other forms' groups (not the browser's
      // default groove), Save below them, apart.
      const frame = await page.$eval('[data-testid="email-form"] fieldset', (f) => {
        const cs = getComputedStyle(f);
        return { style: cs.borderTopStyle, width: cs.borderTopWidth, radius: cs.borderTopLeftRadius, bottom: f.getBoundingClientRect().bottom };
      });
      assert.deepEqual([frame.style, frame.width], ['solid', '1px']);
      assert.notEqual(frame.radius, '0px');
      const saveTop = (await page.locator('[data-testid="email-save"]').boundingBox()).y;
      assert.ok(saveTop - frame.bottom >= 8, `Save ${saveTop - frame.bottom} px below the boxes`);
      await page.check('[data-testid="email-handoff_requested"]');
      await page.getByLabel('A new contact').check();
      await page.click('[data-testid="email-save"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="email-status"]').textContent === 'Saved.');
      const r = await session.get('/v1/admin/notifications');
      assert.deepEqual(r.json(), { handoff_requested: true, visitor_waiting: false, new_contact: true, email_enabled: false });
      await page.reload();
      await page.waitForSelector('[data-testid="email-form"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="email-handoff_requested"]').checked);
      assert.equal(await page.isChecked('[data-testid="email-visitor_waiting"]'), false);
      assert.equal(await page.isChecked('[data-testid="email-new_contact"]'), true);
      // At a phone's width: no horizontal scroll.
      await page.setViewportSize({ width: 390, height: 844 });
      const o = await overflow(page);
      assert.ok(o.scrollWidth <= o.innerWidth, JSON.stringify(o));
      await assertClean(page, log, 'email page');
    } finally { await ctx.close(); }
  });

  // A session that ended while the boxes were being changed: the form is
  // shown before its saved choices are read, and that read undid the
  // boxes kept and put back meanwhile.
  test('a session ended while the boxes were changed: signed in again, the changes are back, not saved', async () => {
    const { ctx, page, log } = await openPage(browser);
    const ready = '[data-testid="email-save"]:not([disabled])';
    const boxes = () => page.$$eval('[data-testid^="email-"][type=checkbox]', (bs) => bs.map((b) => [b.name, b.checked]));
    try {
      const session = await dashLogin(stack, ctx);
      await openDash(page, stack, '#/email', ready);
      const saved = (await session.get('/v1/admin/notifications')).json();
      await page.setChecked('[data-testid="email-visitor_waiting"]', !saved.visitor_waiting);
      const wanted = await boxes();
      await ctx.clearCookies();	// the session gone for this browser
      await page.click('[data-testid="email-save"]');
      await atLoginPage(page);
      await dashLogin(stack, ctx, session);
      await page.goto(`${stack.parleyOrigin}/dashboard/`);
      await page.waitForSelector(ready);
      assert.deepEqual(await boxes(), wanted);
      assert.match(await page.textContent('[data-testid="flash"]'), /are back: save them/);
      assert.deepEqual((await session.get('/v1/admin/notifications')).json(), saved, 'nothing saved meanwhile');
      await page.click('[data-testid="email-save"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="email-status"]').textContent === 'Saved.');
      assert.equal((await session.get('/v1/admin/notifications')).json().visitor_waiting, !saved.visitor_waiting);
      await assertClean(page, log, 'email page signed in again', { allowConsole: /401/ });
    } finally { await ctx.close(); }
  });
});
