// The profile page in headless Chromium: the owner (named "Support" by
// DASHBOARD_PASSWORD's boot) opens it from the header, sees its initials,
// sets the display name "Dana Reyes": the avatar says DR and the header
// the new name at once; a visitor asks for a person, the owner takes over
// and replies: the widget says "Dana Reyes joined" and signs the reply
// with that name; last, the owner changes the password on the page (a
// wrong current one and two new ones that differ are told by their
// fields): this tab stays signed in, another session ends, the old
// password no longer logs in and the new one does. Screenshots of the
// profile at 1280 and 390, light and dark, and of the widget's signed
// reply; axe-core clean on each; no page error.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, PHONE, SUITE_TIMEOUT, adminApi, assertClean, axeLightDark, dashLogin, openDash, openPage, overflow,
  part, sendByKeyboard, startSuite, stopSuite, waitFor, waitReady, waitReplyEnd,
  shotsLightDark,
  atLoginPage,
} from './lib/browser.mjs';

const NAME = 'Dana Reyes';
const NEXT = 'Dana\'s own new password';
const R = '#parley-chat-widget';
const inWidget = (page, fn) => page.locator(R).evaluate(fn, NAME);
const waitWidget = (page, fn, what = String(fn)) => waitFor(() => inWidget(page, fn), 10000, what);

const shots = (page, name) => shotsLightDark(page, name);

describe('dashboard: the profile page', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let desk;
  let phone;
  let visitor;
  let session;
  let w;

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 2 }, env: { DASHBOARD_PASSWORD } }));
    const r = await adminApi(stack, 'POST', '/v1/admin/widgets', { name: 'Profile shop', handoff_enabled: true });
    assert.equal(r.status, 201, r.text);
    w = r.json;
    desk = await openPage(browser);
    phone = await openPage(browser, PHONE);
    session = await dashLogin(stack, desk.ctx);
    await dashLogin(stack, phone.ctx, session);
  });
  // The owner's name as the server has it (the install key has no profile).
  const ownerName = async () => (await adminApi(stack, 'GET', '/v1/admin/users')).json.users.find((u) => u.email === 'owner@localhost').name;

  after(async () => {
    for (const x of [desk, phone, visitor]) if (x) await x.ctx.close();
    await stopSuite({ stack, browser });
  });

  test('from the header to the profile; a new display name shows in the avatar and the header at once', async () => {
    const { page } = desk;
    await openDash(page, stack, '#/conversations', '[data-testid="whoami-profile"]');
    assert.equal(await page.textContent('[data-testid="whoami-profile"] .avatar'), 'S');
    await page.click('[data-testid="whoami-profile"]');
    await page.waitForSelector('[data-testid="profile-name-form"]');
    assert.equal(await page.getAttribute('[data-testid="whoami-profile"]', 'aria-current'), 'page');
    assert.equal(await page.inputValue('[data-testid="profile-name"]'), 'Support');
    await page.waitForSelector('[data-testid="email-save"]:not([disabled])');

    // An empty name is told by its field, nothing sent.
    await page.fill('[data-testid="profile-name"]', '   ');
    await page.click('[data-testid="profile-name-save"]');
    assert.equal(await page.textContent('[data-testid="field-error-name"]'), 'A name is needed.');

    await page.fill('[data-testid="profile-name"]', NAME);
    await page.click('[data-testid="profile-name-save"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="profile-name-status"]').textContent === 'Saved.');
    assert.equal(await page.textContent('[data-testid="profile-avatar"]'), 'DR');
    assert.equal(await page.textContent('[data-testid="whoami-name"]'), NAME);
    assert.equal(await page.textContent('[data-testid="whoami-profile"] .avatar'), 'DR');
    assert.equal(await page.textContent('[data-testid="profile-shown-name"]'), NAME);
    const users = (await adminApi(stack, 'GET', '/v1/admin/users')).json.users;
    assert.equal(users.find((u) => u.email === 'owner@localhost').name, NAME);
    await shots(page, 'dashboard-profile');
    assert.deepEqual(await axeLightDark(page, 'the profile page'), []);

    // On a phone: the same page, no sideways scroll.
    await openDash(phone.page, stack, '#/profile', '[data-testid="profile-name-form"]');
    assert.equal(await phone.page.textContent('[data-testid="profile-avatar"]'), 'DR');
    const o = await overflow(phone.page);
    assert.ok(o.scrollWidth <= o.innerWidth, JSON.stringify(o));
    await shots(phone.page, 'dashboard-profile-phone');
    assert.deepEqual(await axeLightDark(phone.page, 'the profile page on a phone'), []);
    await assertClean(page, desk.log, 'profile');
  });

  // A button is disabled while its request runs: the browser moved the
  // keyboard focus to the body, and the next Tab started from the top.
  test('a keyboard user\'s Save keeps the focus through its request', async () => {
    const { page } = desk;
    await openDash(page, stack, '#/profile', '[data-testid="profile-name-save"]');
    // The request on its way a while, as on a slow network.
    const slow = async (route) => { await new Promise((r) => setTimeout(r, 400)); await route.continue(); };
    await page.route('**/v1/admin/profile', slow);
    try {
      await page.focus('[data-testid="profile-name-save"]');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelector('[data-testid="profile-name-status"]').textContent === 'Saved.');
      assert.equal(await page.evaluate(() => document.activeElement.dataset.testid || document.activeElement.tagName), 'profile-name-save');
    } finally {
      await page.unroute('**/v1/admin/profile', slow);
    }
  });

  // A form's edits were lost without a word on a link, Back or a reload.
  test('unsaved edits: a link, Back and a reload ask first; saved ones do not', async () => {
    const { page } = desk;
    await openDash(page, stack, '#/conversations', '[data-testid="nav-conversations"]');
    await page.click('[data-testid="whoami-profile"]');
    await page.waitForSelector('[data-testid="profile-name-form"]');
    const typed = 'Dana R. (not saved)';
    await page.fill('[data-testid="profile-name"]', typed);
    const unloadAsks = () => page.evaluate(() => {
      const ev = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(ev);
      return ev.defaultPrevented;
    });
    assert.equal(await unloadAsks(), true, 'a reload asks');
    // A save refused (an empty name) leaves it unsaved.
    await page.fill('[data-testid="profile-name"]', '  ');
    await page.click('[data-testid="profile-name-save"]');
    await page.waitForSelector('[data-testid="field-error-name"]:not([hidden])');
    assert.equal(await unloadAsks(), true, 'a refused save still asks');
    assert.equal(await page.textContent('[data-testid="profile-name-status"]'), '', 'a refused save is not said saved');
    await page.fill('[data-testid="profile-name"]', typed);

    // A link: asked; Cancel stays, the text kept.
    await page.click('[data-testid="nav-conversations"]');
    await page.waitForSelector('[data-testid="confirm-dialog"]');
    await page.click('[data-testid="confirm-cancel"]');
    assert.equal(await page.evaluate(() => location.hash), '#/profile');
    assert.equal(await page.inputValue('[data-testid="profile-name"]'), typed);
    // Back: the same.
    await page.goBack();
    await page.waitForSelector('[data-testid="confirm-dialog"]');
    await page.click('[data-testid="confirm-cancel"]');
    assert.equal(await page.evaluate(() => location.hash), '#/profile');
    assert.equal(await page.inputValue('[data-testid="profile-name"]'), typed);
    // Leave without saving: gone there, nothing saved.
    await page.click('[data-testid="nav-conversations"]');
    await page.click('[data-testid="confirm-ok"]');
    await page.waitForFunction(() => location.hash === '#/conversations');
    assert.notEqual(await ownerName(), typed);
    assert.equal(await unloadAsks(), false, 'nothing left to lose');

    // Saved: leaves without a question.
    await page.click('[data-testid="whoami-profile"]');
    await page.waitForSelector('[data-testid="profile-name-form"]');
    await page.fill('[data-testid="profile-name"]', NAME);
    await page.click('[data-testid="profile-name-save"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="profile-name-status"]').textContent === 'Saved.');
    assert.equal(await unloadAsks(), false);
    await page.click('[data-testid="nav-conversations"]');
    await page.waitForFunction(() => location.hash === '#/conversations');
    assert.equal(await page.$('[data-testid="confirm-dialog"][open]'), null);
  });

  // A session that ended while a form was being edited sent the page to
  // the login page, and what was typed was gone.
  test('a session ended in the middle of an edit: signed in again, the text is back, not saved', async () => {
    const { page, ctx } = desk;
    await openDash(page, stack, '#/profile', '[data-testid="profile-name-form"]');
    const typed = 'Dana, typed as the session ended';
    await page.fill('[data-testid="profile-name"]', typed);
    await ctx.clearCookies();	// the session gone for this browser
    await page.click('[data-testid="profile-name-save"]');
    await atLoginPage(page);
    await dashLogin(stack, ctx, session);
    await page.goto(`${stack.parleyOrigin}/dashboard/`);
    await page.waitForSelector('[data-testid="profile-name-form"]');
    await waitFor(async () => (await page.inputValue('[data-testid="profile-name"]')) === typed, 5000, 'the text back');
    assert.match(await page.textContent('[data-testid="flash"]'), /are back: save them/);
    assert.notEqual(await ownerName(), typed, 'nothing saved meanwhile');
    await page.click('[data-testid="profile-name-save"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="profile-name-status"]').textContent === 'Saved.');
    assert.equal(await ownerName(), typed);
    // Kept once: a reload finds the form as the server has it.
    await page.reload();
    await page.waitForSelector('[data-testid="profile-name-form"]');
    assert.equal(await page.inputValue('[data-testid="profile-name"]'), typed);
    // The name the next tests expect, saved as it was.
    await page.fill('[data-testid="profile-name"]', NAME);
    await page.click('[data-testid="profile-name-save"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="profile-name-status"]').textContent === 'Saved.');
    assert.equal(await ownerName(), NAME);
  });

  test('a reply from the dashboard is signed with the display name in the widget', async () => {
    visitor = await openPage(browser, PHONE);
    const v = visitor.page;
    await v.goto(stack.host.widgetEmbedUrl(w.widget_id));
    await waitReady(v);
    await v.click(part('launcher'));
    await sendByKeyboard(v, 'can a person help me?');
    await waitReplyEnd(v);
    await v.click(part('handoff'));

    const { page } = desk;
    await openDash(page, stack, '#/conversations', '[data-testid="conv-handoff-badge"]');
    const conv = await page.locator('[data-testid="conv-row"]').first().getAttribute('data-id');
    await page.click(`[data-testid="conv-row"][data-id="${conv}"] [data-testid="conv-link"]`);
    await page.click('[data-testid="take-over"]');
    await page.waitForSelector('[data-testid="reply-form"]:not([hidden])');
    await waitWidget(v, ({ shadowRoot: root }, name) => root.querySelector('[data-part="handoff-status"]').textContent === `${name} joined`,
      'the widget says who joined');
    await page.fill('[data-testid="reply-input"]', 'Hello, Dana here.');
    await page.keyboard.press('Control+Enter');
    await waitWidget(v, ({ shadowRoot: root }, name) => {
      const m = root.querySelector('[data-part="message"][data-role="agent"]:not([data-state="pending"])');
      return !!m && m.querySelector('[data-part="name"]').textContent === name &&
        m.querySelector('[data-part="content"]').textContent === 'Hello, Dana here.';
    }, 'the reply signed with the display name');
    await shots(v, 'widget-reply-display-name-phone');
    assert.deepEqual(await axeLightDark(v, 'the widget with a signed reply, on a phone'), []);
    // The same conversation at 1280 wide: the panel beside the page.
    await v.setViewportSize({ width: 1280, height: 800 });
    await waitWidget(v, ({ shadowRoot: root }, name) => root.querySelector('[data-part="handoff-status"]').textContent === `${name} joined`,
      'who joined, at 1280');
    await shots(v, 'widget-reply-display-name');
    assert.deepEqual(await axeLightDark(v, 'the widget with a signed reply'), []);
  });

  test('the password changed on the page: this tab stays, another session ends, the new password logs in', async () => {
    const { page } = desk;
    const { login, loginRequest } = await import('../integration/lib/dashboard.mjs');
    const other = await login(stack.parley);
    await openDash(page, stack, '#/profile', '[data-testid="profile-password-form"]');

    await page.fill('[data-testid="profile-current"]', 'not my password');
    await page.fill('[data-testid="profile-new"]', NEXT);
    await page.fill('[data-testid="profile-confirm"]', `${NEXT}!`);
    await page.click('[data-testid="profile-password-save"]');
    assert.equal(await page.textContent('[data-testid="field-error-confirm"]'), 'The two new passwords differ.');

    await page.fill('[data-testid="profile-confirm"]', NEXT);
    await page.click('[data-testid="profile-password-save"]');
    await page.waitForSelector('[data-testid="field-error-current_password"]:not([hidden])', { timeout: 10000 });
    assert.equal(await page.textContent('[data-testid="field-error-current_password"]'), 'wrong password');
    assert.equal((await other.get('/v1/admin/profile')).status, 200, 'a wrong guess ends nothing');

    await page.fill('[data-testid="profile-current"]', DASHBOARD_PASSWORD);
    await page.click('[data-testid="profile-password-save"]');
    await page.waitForFunction(() => /^Password changed/.test(document.querySelector('[data-testid="profile-password-status"]').textContent),
      null, { timeout: 10000 });
    assert.equal(await page.inputValue('[data-testid="profile-new"]'), '', 'the fields are emptied');
    assert.equal((await other.get('/v1/admin/profile')).status, 401, 'the other session ended');

    // This tab goes on.
    await page.reload();
    await page.waitForSelector('[data-testid="profile-name-form"]');
    assert.equal(await page.textContent('[data-testid="whoami-name"]'), NAME);
    assert.equal((await loginRequest(stack.parley, DASHBOARD_PASSWORD)).status, 401, 'the old password is gone');
    assert.equal((await (await login(stack.parley, NEXT)).get('/v1/admin/profile')).json().name, NAME);
    await assertClean(page, desk.log, 'profile password', { allowConsole: /401|403/ });
  });
});
