// An invitation in headless Chromium (docs/dashboard.md, "Pages" and "Login
// and the session"): the owner invites over the admin API; the invitee
// opens the link in a fresh context, is told when the two passwords differ,
// sets a name and a password and lands on the dashboard logged in as the
// invited email, the token gone from the address bar; the page passes
// axe-core in light and dark; the spent link answers with a visible message.
// An account disabled in every organisation it belongs to gives its own
// password on another organisation's link, and lands there logged in.
// The page names the organisation, the role and the email invited, as
// text (POST /dashboard/api/invitations/view: that invitation's alone).
// Signed in already, the page offers to join as that account, and the
// login page leaves for the dashboard (both ask GET /dashboard/api/signed-in,
// which answers a signed-out visitor 200: no console error either way).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, LOGIN_TIMEOUT, SUITE_TIMEOUT, adminApi, assertClean, axeLightDark, dashLogin, launch, openPage, startStack, stopSuite,
} from './lib/browser.mjs';

const PASSWORD = 'the invitee chose this';

let browser;
before(async () => { browser = await launch(); });
after(() => stopSuite({ browser }));

describe('an invitation in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  before(async () => { stack = await startStack({ env: { DASHBOARD_PASSWORD } }); });
  after(() => stopSuite({ stack }));

  async function fill(page, name, pw, pw2) {
    await page.fill('[data-testid="invite-name"]', name);
    await page.fill('[data-testid="invite-password"]', pw);
    await page.fill('[data-testid="invite-password2"]', pw2);
    await page.click('[data-testid="invite-submit"]');
  }

  test('the invitee sets a name and password and lands on the dashboard, logged in', async () => {
    const r = await adminApi(stack, 'POST', '/v1/admin/users', { email: 'dee@example.com', role: 'admin' });
    assert.equal(r.status, 201, r.text);
    const url = r.json.url;
    assert.ok(url.startsWith(`${stack.parleyOrigin}/dashboard/invite#`), url);

    const { ctx, page, log } = await openPage(browser);
    try {
      await page.goto(url);
      await page.waitForSelector('[data-testid="invite-form"]');
      assert.equal(new URL(page.url()).hash, '', 'the token is gone from the address bar');
      await page.waitForFunction(() => !document.querySelector('[data-testid="invite-what"]').hidden);
      assert.match(await page.textContent('[data-testid="invite-what"]'), /^You are invited to .+ as admin \(dee@example\.com\)\.$/);
      assert.deepEqual(await axeLightDark(page, 'the invitation page'), []);

      await fill(page, 'Dee', PASSWORD, `${PASSWORD}!`);
      await page.waitForFunction(() => document.querySelector('[data-testid="invite-error"]').textContent.trim() !== '');
      assert.match(await page.textContent('[data-testid="invite-error"]'), /passwords differ/);
      assert.equal(await page.getAttribute('[data-testid="invite-password2"]', 'aria-invalid'), 'true');
      assert.equal((await ctx.cookies(stack.parleyOrigin)).length, 0, 'nothing asked yet');

      await fill(page, 'Dee', PASSWORD, PASSWORD);
      await page.waitForURL((u) => u.pathname === '/dashboard/', { timeout: LOGIN_TIMEOUT });
      const s = await page.evaluate(async () => (await fetch('/dashboard/api/session')).json());
      assert.equal(s.user.email, 'dee@example.com');
      assert.equal(s.user.name, 'Dee');
      assert.deepEqual(s.organization, { id: 'default', role: 'admin' });
      // The invite page asked whether someone is signed in (nobody was) before it accepted: no console
      // error for that (the dashboard it lands on asks again, on its own).
      const paths = log.requests.map((u) => new URL(u).pathname);
      const asked = paths.indexOf('/dashboard/api/signed-in');
      assert.ok(asked >= 0 && asked < paths.indexOf('/dashboard/api/invitations/accept'), JSON.stringify(paths));
      await assertClean(page, log, 'accepted');
    } finally { await ctx.close(); }

    // The link again, in another fresh context: spent.
    const again = await openPage(browser);
    try {
      await again.page.goto(url);
      await fill(again.page, 'Dee', PASSWORD, PASSWORD);
      await again.page.waitForFunction(() => document.querySelector('[data-testid="invite-error"]').textContent.trim() !== '', null, { timeout: LOGIN_TIMEOUT });
      assert.equal(await again.page.textContent('[data-testid="invite-error"]'), 'Invitation not found or expired');
      assert.equal(new URL(again.page.url()).pathname, '/dashboard/invite');
      // The spent token's 404s (its view, its acceptance) the only console errors: the
      // question whether someone is signed in gives none.
      assert.equal(again.log.console.filter((m) => m.type === 'error').length, 2, JSON.stringify(again.log.console));
      await assertClean(again.page, again.log, 'spent', { allowConsole: /status of 404/ });
    } finally { await again.ctx.close(); }
  });

  test('the page says which organisation, role and email the link invites, as text', async () => {
    const api = async (method, path, body, org, ctype = 'application/json') => {
      const headers = { 'x-admin-api-key': stack.parley.adminKey, 'Content-Type': ctype, ...(org ? { 'x-organization-id': org } : {}) };
      const r = await fetch(stack.parleyOrigin + path, { method, headers, body: body && JSON.stringify(body) });
      return { status: r.status, json: await r.json() };
    };
    const NAME = '<i>Acme</i> & Co';
    const org = (await api('POST', '/v1/admin/organizations', { name: NAME })).json.id;
    let r = await api('POST', '/v1/admin/users', { email: 'fay@example.com', role: 'agent' }, org);
    assert.equal(r.status, 201);
    const token = r.json.url.split('#')[1];
    // Another invitation of the same organisation, which the link's holder never sees.
    assert.equal((await api('POST', '/v1/admin/users', { email: 'gus@example.com', role: 'owner' }, org)).status, 201);

    r = await api('POST', '/dashboard/api/invitations/view', { token });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { organization: { id: org, name: NAME }, email: 'fay@example.com', role: 'agent' });
    r = await api('POST', '/dashboard/api/invitations/view', { token: 'f'.repeat(64) });
    assert.deepEqual(r, { status: 404, json: { error: 'Invitation not found or expired' } });
    r = await api('POST', '/dashboard/api/invitations/view', { token, name: 'x' });
    assert.equal(r.status, 404);
    assert.equal((await api('POST', '/dashboard/api/invitations/view', { token }, null, 'text/plain')).status, 415);

    const { ctx, page, log } = await openPage(browser);
    try {
      await page.goto(`${stack.parleyOrigin}/dashboard/invite#${token}`);
      await page.waitForFunction(() => !document.querySelector('[data-testid="invite-what"]').hidden);
      assert.equal(await page.textContent('[data-testid="invite-what"]'), `You are invited to ${NAME} as agent (fay@example.com).`);
      assert.equal(await page.locator('[data-testid="invite-what"] i').count(), 0, 'the name is text, not markup');
      assert.deepEqual(await axeLightDark(page, 'the invitation page naming its organisation'), []);
      await assertClean(page, log, 'named');
    } finally { await ctx.close(); }
    // Not spent by being looked at: the invitee still joins with it.
    r = await api('POST', '/dashboard/api/invitations/accept', { token, name: 'Fay', password: PASSWORD });
    assert.equal(r.status, 200);
    assert.equal(r.json.email, 'fay@example.com');
  });

  test('signed in: the invite page offers to join as that account, the login page leaves for the dashboard', async () => {
    const headers = { 'x-admin-api-key': stack.parley.adminKey, 'Content-Type': 'application/json' };
    const org = (await (await fetch(`${stack.parleyOrigin}/v1/admin/organizations`,
      { method: 'POST', headers, body: JSON.stringify({ name: 'Third' }) })).json()).id;
    const r = await fetch(`${stack.parleyOrigin}/v1/admin/users`, { method: 'POST',
      headers: { ...headers, 'x-organization-id': org }, body: JSON.stringify({ email: 'owner@localhost', role: 'agent' }) });
    assert.equal(r.status, 201);
    const url = (await r.json()).url;
    const { ctx, page, log } = await openPage(browser);
    try {
      await dashLogin(stack, ctx);
      await page.goto(url);
      await page.waitForFunction(() => document.querySelector('[data-testid="invite-submit"]').textContent === 'Join with this account');
      assert.equal(await page.textContent('[data-testid="invite-intro"]'),
        'You are signed in as owner@localhost. Join the organization with this account?');
      await page.click('[data-testid="invite-submit"]');
      await page.waitForURL((u) => u.pathname === '/dashboard/', { timeout: LOGIN_TIMEOUT });
      await page.goto(`${stack.parleyOrigin}/dashboard/login`);
      await page.waitForURL((u) => u.pathname === '/dashboard/', { timeout: 10000 });
      await assertClean(page, log, 'signed in');
    } finally { await ctx.close(); }
  });

  test('an account disabled in every organisation it belongs to joins another with its own password on the page, and lands there', async () => {
    const api = async (method, path, body, org) => {
      const headers = { 'x-admin-api-key': stack.parley.adminKey, 'Content-Type': 'application/json', ...(org ? { 'x-organization-id': org } : {}) };
      const r = await fetch(stack.parleyOrigin + path, { method, headers, body: body && JSON.stringify(body) });
      return { status: r.status, json: await r.json() };
    };
    const EVE = 'eve has this password';
    let r = await api('POST', '/v1/admin/users', { email: 'eve@example.com', role: 'agent' });
    assert.equal(r.status, 201);
    r = await api('POST', '/dashboard/api/invitations/accept', { token: r.json.url.split('#')[1], name: 'Eve', password: EVE });
    assert.equal(r.status, 200);
    const eve = (await api('GET', '/v1/admin/users')).json.users.find((u) => u.email === 'eve@example.com');
    assert.equal((await api('PATCH', `/v1/admin/users/${eve.id}`, { disabled: true })).status, 200);
    const org = (await api('POST', '/v1/admin/organizations', { name: 'Next' })).json.id;
    r = await api('POST', '/v1/admin/users', { email: 'eve@example.com', role: 'admin' }, org);
    assert.equal(r.status, 201);

    const { ctx, page, log } = await openPage(browser);
    try {
      await page.goto(r.json.url);
      await page.waitForSelector('[data-testid="invite-form"]');
      await fill(page, 'Eve', EVE, EVE);
      await page.waitForURL((u) => u.pathname === '/dashboard/', { timeout: LOGIN_TIMEOUT });
      const s = await page.evaluate(async () => (await fetch('/dashboard/api/session')).json());
      assert.equal(s.user.email, 'eve@example.com');
      assert.deepEqual(s.organization, { id: org, role: 'admin' });
      await assertClean(page, log, 'joined');
    } finally { await ctx.close(); }
  });
});
