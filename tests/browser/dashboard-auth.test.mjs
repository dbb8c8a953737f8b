// The dashboard's login and session in headless Chromium (docs/dashboard.md):
// a wrong then the right password through the form; a hand-made cookie
// (the Open Chat Widget's flaw: a constant value was enough) and a
// tampered real one refused; logout ends the session (back, reload and
// the old cookie replayed over the API all fail); a request without the
// CSRF token is refused; the login page under axe-core in light and dark,
// on a phone; and, last, the 11th login attempt in a minute refused with
// a visible message.
//
// The browser always connects from 127.0.0.1; logins made from Node for
// set-up come from other loopback addresses (dashLogin). The 11th attempt
// runs on a stack of its own, so it makes all ten before it itself and
// never waits for the first suite's minute to end. Both suites share one
// browser (each test has its own context); the browser and both stacks
// start side by side, before the first test.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, LOGIN_TIMEOUT, PHONE, SUITE_TIMEOUT, axeLightDark, dashLogin, dashShot, launch, openDash, openPage, overflow,
  startStack, stopSuite,
} from './lib/browser.mjs';
import { chat, sid } from '../integration/lib/chat.mjs';
import { Session, tampered } from '../integration/lib/dashboard.mjs';

// No page error, no CSP violation, no console error but the browser's own
// report of an answer the test asked for (401, 403, 429).
async function assertClean(page, log, what) {
  assert.deepEqual(log.errors, [], `${what}: page errors`);
  const errs = log.console.filter((m) => m.type === 'error' && !/^Failed to load resource: the server responded with a status of (401|403|429)/.test(m.text));
  assert.deepEqual(errs, [], `${what}: console errors`);
  assert.deepEqual(await page.evaluate(() => window.__csp), [], `${what}: CSP violations`);
}

let browser;
const stackOpts = { mock: { chunks: 2 }, env: { DASHBOARD_PASSWORD } };
let stacks;   // [the first suite's, the login limit's]: promises, awaited by each suite's before
before(async () => {
  stacks = [startStack(stackOpts), startStack(stackOpts)];
  for (const s of stacks) s.catch(() => {});   // awaited (and reported) by the suites
  browser = await launch();
});
after(async () => {
  await stopSuite({ browser });
  await Promise.all((stacks || []).map((s) => s.then((stack) => stopSuite({ stack }), () => {})));
});

describe('dashboard login and session in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let convId;            // a conversation to look for and to delete

  before(async () => {
    stack = await stacks[0];
    const r = await chat(stack.parley, sid('auth'), 'a conversation to see');
    assert.equal(r.status, 200, r.text);
    convId = r.json().conversationId;
  });

  const dash = (route = '') => `${stack.parleyOrigin}/dashboard/${route}`;
  const loginUrl = () => `${stack.parleyOrigin}/dashboard/login`;

  // No conversation data anywhere in the page.
  async function assertNoData(page, what) {
    assert.equal(await page.locator('[data-testid="conv-row"]').count(), 0, `${what}: no conversation row`);
    const text = await page.evaluate(() => document.body.innerText);
    assert.ok(!text.includes('a conversation to see'), `${what}: no message text`);
  }

  async function waitLoginPage(page) {
    await page.waitForURL((u) => u.pathname === '/dashboard/login', { timeout: 10000 });
    await page.waitForSelector('[data-testid="login-form"]');
  }

  test('without a session the dashboard sends to the login page', async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      await page.goto(dash('#/conversations'));
      await waitLoginPage(page);
      await assertNoData(page, 'no cookie');
      await assertClean(page, log, 'no session');
      const redirect = await fetch(`${stack.parleyOrigin}/login`, { redirect: 'manual' });
      assert.equal(redirect.status, 302);
      assert.equal(redirect.headers.get('location'), '/dashboard/login');
    } finally { await ctx.close(); }
  });

  test('a wrong password is refused with a message; the right one opens the dashboard', async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      await page.goto(loginUrl());
      await page.waitForSelector('[data-testid="login-form"]');
      await page.fill('[data-testid="login-password"]', 'not the password at all');
      const t0 = Date.now();
      await page.click('[data-testid="login-submit"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="login-error"]').textContent.trim() !== '', null, { timeout: LOGIN_TIMEOUT });
      assert.ok(Date.now() - t0 >= 900, 'the answer took about a second');
      assert.match(await page.textContent('[data-testid="login-error"]'), /wrong password/i);
      assert.equal(await page.getAttribute('[data-testid="login-password"]', 'aria-invalid'), 'true');
      assert.equal(new URL(page.url()).pathname, '/dashboard/login', 'still on the login page');
      const cookies = await ctx.cookies(stack.parleyOrigin);
      assert.ok(!cookies.some((c) => c.name === 'parley_session'), 'no session cookie');

      await page.fill('[data-testid="login-password"]', DASHBOARD_PASSWORD);
      await page.click('[data-testid="login-submit"]');
      await page.waitForURL((u) => u.pathname === '/dashboard/', { timeout: LOGIN_TIMEOUT });
      await page.waitForSelector(`[data-testid="conv-row"][data-id="${convId}"]`, { timeout: 10000 });
      const c = (await ctx.cookies(stack.parleyOrigin)).find((x) => x.name === 'parley_session');
      assert.ok(c, 'the session cookie');
      assert.equal(c.httpOnly, true);
      assert.equal(c.sameSite, 'Strict');
      assert.equal(c.path, '/');
      assert.ok(c.expires * 1000 - Date.now() > 6.9 * 86400000, 'kept for 7 days');
      assert.equal(await page.evaluate(() => document.cookie.includes('parley_session')), false, 'not readable by scripts');
      await assertClean(page, log, 'login');
    } finally { await ctx.close(); }
  });

  test('a hand-made cookie (constant or random) and a tampered real one are refused', async () => {
    const real = await (await import('../integration/lib/dashboard.mjs')).login(stack.parley);
    // One page for all: the cookie jar is emptied before each value.
    const { ctx, page, log } = await openPage(browser);
    try {
      for (const value of ['authenticated', 'true', '1', 'admin', crypto.randomBytes(32).toString('hex'), tampered(real.id), tampered(real.id, 0)]) {
        await ctx.clearCookies();
        await ctx.addCookies([{ name: 'parley_session', value, domain: '127.0.0.1', path: '/', httpOnly: true, sameSite: 'Strict' }]);
        await page.goto(dash('#/conversations'));
        await waitLoginPage(page);
        await assertNoData(page, `cookie ${value}`);
        const r = await page.evaluate(async () => {
          const x = await fetch('/v1/admin/conversations');
          return { status: x.status, body: await x.text() };
        });
        assert.equal(r.status, 401, `the API with cookie ${value}: ${r.body}`);
        await assertClean(page, log, `cookie ${value}`);
      }
      // the real one works
      await ctx.clearCookies();
      await ctx.addCookies([{ name: 'parley_session', value: real.id, domain: '127.0.0.1', path: '/', httpOnly: true, sameSite: 'Strict' }]);
      await openDash(page, stack, '#/conversations', `[data-testid="conv-row"][data-id="${convId}"]`);
    } finally { await ctx.close(); }
  });

  test('a request without the CSRF token is refused (403); with it, it works', async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx);
      await openDash(page, stack, '#/conversations', `[data-testid="conv-row"][data-id="${convId}"]`);
      const victim = (await chat(stack.parley, sid('csrf'), 'csrf victim')).json().conversationId;
      const r = await page.evaluate(async (id) => {
        const out = {};
        let x = await fetch(`/v1/admin/conversations/${id}`, { method: 'DELETE' });
        out.noToken = { status: x.status, body: await x.text() };
        x = await fetch(`/v1/admin/conversations/${id}`, { method: 'DELETE', headers: { 'x-csrf-token': 'f'.repeat(64) } });
        out.wrongToken = { status: x.status, body: await x.text() };
        x = await fetch('/v1/admin/widgets', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":"csrf"}' });
        out.widgetNoToken = { status: x.status, body: await x.text() };
        x = await fetch('/dashboard/api/logout', { method: 'POST' });
        out.logoutNoToken = { status: x.status };
        const s = await (await fetch('/dashboard/api/session')).json();
        x = await fetch(`/v1/admin/conversations/${id}`, { method: 'DELETE', headers: { 'x-csrf-token': s.csrfToken } });
        out.withToken = { status: x.status };
        return out;
      }, victim);
      assert.equal(r.noToken.status, 403, JSON.stringify(r.noToken));
      assert.deepEqual(JSON.parse(r.noToken.body), { error: 'Missing or invalid CSRF token' });
      assert.equal(r.wrongToken.status, 403);
      assert.equal(r.widgetNoToken.status, 403);
      assert.equal(r.logoutNoToken.status, 403);
      assert.equal(r.withToken.status, 204);
      const g = await stack.parley.admin(`/v1/admin/conversations/${victim}`);
      assert.equal(g.status, 404, 'deleted only with the token');
      // The browser refuses the cookie to another site's request (SameSite=Strict):
      // a form post from the host site's origin carries no cookie.
      const p2 = await ctx.newPage();
      await p2.goto(`${stack.host.origin}/embed.html?nowidget=1`);
      const cross = await p2.evaluate(async (origin) => {
        try {
          const x = await fetch(`${origin}/dashboard/api/session`, { credentials: 'include' });
          return x.status;
        } catch { return 'blocked'; }
      }, stack.parleyOrigin);
      assert.ok(cross === 401 || cross === 'blocked', `a cross-site request has no session: ${cross}`);
      await p2.close();
      await assertClean(page, log, 'csrf');
    } finally { await ctx.close(); }
  });

  test('logout ends the session: back and reload show no data; the old cookie is 401 over the API', async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      const s = await dashLogin(stack, ctx);
      await openDash(page, stack, '#/conversations', `[data-testid="conv-row"][data-id="${convId}"]`);
      await page.click(`[data-testid="conv-row"][data-id="${convId}"] [data-testid="conv-link"]`);
      await page.waitForSelector('[data-testid="thread-message"]');
      // The login page's load is held for a second, so that a second
      // navigation (the ended event stream's 401) would abort the first.
      const loginLoads = [];
      page.on('request', (r) => {
        if (r.isNavigationRequest() && new URL(r.url()).pathname === '/dashboard/login') loginLoads.push(r.url());
      });
      await page.route('**/dashboard/login', async (route) => {
        await new Promise((r) => setTimeout(r, 1000));
        await route.continue();
      });
      await page.click('[data-testid="logout"]');
      await waitLoginPage(page);
      await page.unrouteAll({ behavior: 'wait' });
      assert.equal(loginLoads.length, 1, `one navigation to the login page: ${loginLoads.join(' ')}`);
      const left = (await ctx.cookies(stack.parleyOrigin)).find((x) => x.name === 'parley_session');
      assert.ok(!left || left.value === '', 'the cookie is cleared');
      await page.goBack().catch(() => {});
      await page.waitForLoadState('load');
      await page.waitForTimeout(300);
      await page.waitForURL((u) => u.pathname === '/dashboard/login', { timeout: 10000 });
      await assertNoData(page, 'back');
      await page.reload();
      await waitLoginPage(page);
      await assertNoData(page, 'reload');
      // The old cookie, replayed by hand, is dead.
      await ctx.addCookies([{ name: 'parley_session', value: s.id, domain: '127.0.0.1', path: '/', httpOnly: true, sameSite: 'Strict' }]);
      await page.goto(dash('#/conversations'));
      await waitLoginPage(page);
      await assertNoData(page, 'old cookie');
      const old = new Session(stack.parley, s.id, s.csrf);
      assert.equal((await old.get('/dashboard/api/session')).status, 401);
      assert.equal((await old.get('/v1/admin/conversations')).status, 401);
      await assertClean(page, log, 'refused');
    } finally { await ctx.close(); }
  });

  // The route to come back to was kept only without a '+': a search with
  // a space (q=hello+there) came back to the bare list.
  test('signed out elsewhere, signed in again: back where it was, a search with a space kept', async () => {
    const { ctx, page } = await openPage(browser);
    try {
      const s = await dashLogin(stack, ctx);
      const hash = `#/conversations/${convId}?q=hello+there`;
      await openDash(page, stack, hash, '[data-testid="thread-message"]');
      assert.equal((await s.request('POST', '/dashboard/api/logout')).status, 204);
      await waitLoginPage(page);	// its event stream ended: 401
      await page.fill('[data-testid="login-password"]', DASHBOARD_PASSWORD);
      await page.click('[data-testid="login-submit"]');
      await page.waitForURL((u) => u.pathname === '/dashboard/', { timeout: LOGIN_TIMEOUT });
      assert.equal(new URL(page.url()).hash, hash);
    } finally { await ctx.close(); }
  });

  test('the login page: axe-core in light and dark; a phone without horizontal scroll', async () => {
    const { ctx, page, log } = await openPage(browser, PHONE);
    try {
      await page.goto(loginUrl());
      await page.waitForSelector('[data-testid="login-form"]');
      const o = await overflow(page);
      assert.ok(o.scrollWidth <= o.innerWidth, `no horizontal overflow: ${JSON.stringify(o)}`);
      await dashShot(page, 'login');
      assert.deepEqual(await axeLightDark(page, 'login'), []);
      // an empty submit says what to do, without a request
      await page.click('[data-testid="login-submit"]');
      assert.match(await page.textContent('[data-testid="login-error"]'), /password/i);
      assert.deepEqual(await axeLightDark(page, 'login with an error'), []);
      await assertClean(page, log, 'login page');
    } finally { await ctx.close(); }
  });

});

describe('the login limit in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  before(async () => {
    stack = await stacks[1];
  });

  // A stack of its own: no attempt from 127.0.0.1 was made before this test.
  test('the 11th login attempt in a minute is refused with a visible message', async () => {
    const loginUrl = `${stack.parleyOrigin}/dashboard/login`;
    const { ctx, page, log } = await openPage(browser);
    try {
      // The page asks at load whether it is logged in already (and leaves
      // for the dashboard if so): let it have its answer before the logins
      // below set a cookie, or a slow answer takes the page away.
      const checked = page.waitForResponse((r) => new URL(r.url()).pathname === '/dashboard/api/signed-in');
      await page.goto(loginUrl);
      await page.waitForSelector('[data-testid="login-form"]');
      const answer = await checked;
      assert.deepEqual([answer.status(), await answer.json()], [200, { signed_in: false }]);
      // Nobody signed in is an answer, not an error: the console has none.
      await page.waitForSelector('#login-form[data-session-checked="signed-out"]');
      assert.deepEqual(log.console.filter((m) => m.type === 'error'), [], 'the signed-out check logs no error');
      // 10 (right ones: no delay), through the API from the page.
      const statuses = await page.evaluate(async ({ n, pw }) => {
        const out = [];
        for (let i = 0; i < n; i++) {
          const x = await fetch('/dashboard/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: pw }) });
          out.push(x.status);
        }
        return out;
      }, { n: 10, pw: DASHBOARD_PASSWORD });
      assert.deepEqual(statuses, Array(10).fill(200), 'attempts 1..10 succeed');
      await ctx.clearCookies();
      // The 11th, through the form, with the right password.
      await page.fill('[data-testid="login-password"]', DASHBOARD_PASSWORD);
      await page.click('[data-testid="login-submit"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="login-error"]').textContent.trim() !== '', null, { timeout: LOGIN_TIMEOUT });
      const msg = await page.textContent('[data-testid="login-error"]');
      assert.match(msg, /too many login attempts/i);
      assert.ok(await page.isVisible('[data-testid="login-error"]'), 'the message is visible');
      assert.equal(new URL(page.url()).pathname, '/dashboard/login');
      assert.ok(!(await ctx.cookies(stack.parleyOrigin)).some((c) => c.name === 'parley_session'), 'no cookie');
      await assertClean(page, log, 'refused');
    } finally { await ctx.close(); }
  });
});
