// The dashboard for a team (issue 22) in headless Chromium: the login by
// email (a second person made in storaged as parleyctl would, ST_USER_SET),
// the person's name and role in the header and the nav for that role; the
// organisation switcher (the owner is made a member of a second
// organisation): the other organisation's widgets only, the choice kept
// over a reload, a stored organisation the user left falling back to the
// first, the events stream naming the organisation in its query; an email's
// link to the other organisation's conversation opening it there (signed in
// with the first chosen, and signed out); the API keys page (the secret shown once, listed without it,
// deleted after the confirmation); the users page (a role changed, a
// member disabled and enabled, the last owner's demotion refused, a member
// removed; the invitation's link shown once); the
// audit page listing the key's creation and deletion. axe-core in light and dark and no
// horizontal scroll at 390 px on each new page.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, LOGIN_TIMEOUT, PHONE, SUITE_TIMEOUT, adminApi, assertCardCells, assertClean as assertCleanOf, axeSerious, dashLogin, dashShot, openDash, openPage,
  overflow, startSuite, stopSuite, waitFor,
} from './lib/browser.mjs';
import { T, WHO, ROLE, req, rep } from '../integration/lib/storage.mjs';
import { Visitor } from '../integration/lib/wsclient.mjs';
import { REPO } from '../integration/lib/bin.mjs';

// The browser's own report of the 409 the test asks for (the last owner).
const assertClean = (page, log, what) => assertCleanOf(page, log, what,
  { allowConsole: /^Failed to load resource: the server responded with a status of 409/ });

const AGENT_PASSWORD = 'a long password for Bea';

// Every axe-core violation (any impact) of the page in light and in dark,
// and its width at each: [] and no horizontal scroll when all is well.
async function axeAll(page, what) {
  const bad = [];
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    await page.waitForTimeout(50);
    const r = await axeSerious(page, what);
    for (const v of r.all) bad.push({ page: what, colorScheme, ...v });
    const o = await overflow(page);
    assert.ok(o.scrollWidth <= o.innerWidth, `${what} (${colorScheme}): no horizontal scroll: ${JSON.stringify(o)}`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return bad;
}

describe('dashboard for a team in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let owner;   // {ctx, page, log}: the owner's dashboard
  let ownerSession; // its session, given to the phone's context too (neither logs out)
  let orgB;    // the second organisation's id
  let keyId;   // the key the API keys page made (and deleted)

  // The admin API with the install key in organisation org.
  async function adminIn(org, method, path, body) {
    const headers = { 'x-admin-api-key': stack.parley.adminKey, 'x-organization-id': org };
    if (body) headers['Content-Type'] = 'application/json';
    const r = await fetch(stack.parleyOrigin + path, { method, headers, body: body && JSON.stringify(body) });
    return { status: r.status, json: await r.json().catch(() => null) };
  }

  // A member of org with role, as parleyctl adds one (ST_USER_SET): a new
  // user with this password, or an existing one made a member.
  async function addMember(org, email, name, role, password = crypto.randomBytes(16).toString('hex')) {
    const salt = crypto.randomBytes(16);
    const hash = crypto.scryptSync(password, salt, 32, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const ctl = await stack.parley.storage({ name: 'team-ctl', as: 'parleyctl' });
    try {
      const payload = req(T.ST_USER_SET, { mode: 0, email, name, role, salt, hash });
      const r = rep(T.ST_USER_SET, await ctl.call(T.ST_USER_SET, payload, { who: [WHO.CTL, 'uid 0', org] }));
      assert.equal(r.result, 0, `${email} added to ${org}`);
    } finally { ctl.sock.destroy(); }
  }

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 2 }, env: { DASHBOARD_PASSWORD } }));
    const o = await adminApi(stack, 'POST', '/v1/admin/organizations', { name: 'Branch office' });
    assert.equal(o.status, 201, o.text);
    orgB = o.json.id;
    // The first login stores DASHBOARD_PASSWORD's owner (in "default"), then it joins orgB.
    owner = await openPage(browser);
    ownerSession = await dashLogin(stack, owner.ctx);
    await addMember(orgB, 'owner@localhost', 'Support', ROLE.OWNER);
    await addMember('default', 'bea@example.com', 'Bea Agent', ROLE.AGENT, AGENT_PASSWORD);
    assert.equal((await adminIn('default', 'POST', '/v1/admin/widgets', { name: 'Head office widget' })).status, 201);
    assert.equal((await adminIn(orgB, 'POST', '/v1/admin/widgets', { name: 'Branch widget' })).status, 201);
  });
  after(async () => {
    if (owner) await owner.ctx.close();
    await stopSuite({ stack, browser });
  });

  const widgetNames = (page) => page.$$eval('[data-testid="widget-row"] [data-testid="widget-link"]', (l) => l.map((a) => a.textContent));

  test('login by email: the person\'s name and role in the header, the nav for an agent; a wrong password marks both fields', async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      await page.goto(`${stack.parleyOrigin}/dashboard/login`);
      await page.fill('[data-testid="login-email"]', 'bea@example.com');
      await page.fill('[data-testid="login-password"]', 'not her password');
      await page.click('[data-testid="login-submit"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="login-error"]').textContent !== '', null, { timeout: LOGIN_TIMEOUT });
      assert.match(await page.textContent('[data-testid="login-error"]'), /wrong email or password/i);
      assert.equal(await page.getAttribute('[data-testid="login-email"]', 'aria-invalid'), 'true');
      assert.equal(await page.getAttribute('[data-testid="login-password"]', 'aria-invalid'), 'true');
      await page.fill('[data-testid="login-password"]', AGENT_PASSWORD);
      await page.click('[data-testid="login-submit"]');
      await page.waitForSelector('[data-testid="whoami"]:not([hidden])', { timeout: LOGIN_TIMEOUT });
      assert.equal(await page.textContent('[data-testid="whoami-name"]'), 'Bea Agent');
      assert.equal(await page.textContent('[data-testid="whoami-role"]'), 'agent');
      for (const nav of ['users', 'api-keys', 'audit', 'widgets', 'agents']) {
        assert.equal(await page.isVisible(`[data-testid="nav-${nav}"]`), false, `no ${nav} for an agent`);
      }
      assert.ok(await page.isVisible('[data-testid="nav-conversations"]'));
      assert.equal(await page.isVisible('[data-testid="org-switch"]'), false, 'one organisation: no switcher');
      // The wrong password's 401 only: nothing an agent may not do is asked for.
      await page.waitForFunction(() => !/Loading/.test(document.querySelector('[data-testid="conv-count"]')?.textContent ?? 'Loading'));
      await assertCleanOf(page, log, 'agent login', { allowConsole: /status of 401/ });
    } finally { await ctx.close(); }
  });

  test('the organisation switcher: the other organisation\'s widgets only, kept over a reload; a stale choice falls back', async () => {
    const { page, log } = owner;
    await openDash(page, stack, '#/widgets', '[data-testid="widget-row"]');
    assert.equal(await page.textContent('[data-testid="whoami-name"]'), 'Support');
    assert.equal(await page.textContent('[data-testid="whoami-role"]'), 'owner');
    assert.equal(await page.$eval('[data-testid="nav-users"]', (a) => a.closest('li').hidden), false, 'Users in the menu');
    assert.ok((await widgetNames(page)).includes('Head office widget'));
    assert.ok(!(await widgetNames(page)).includes('Branch widget'));
    assert.ok(await page.isVisible('[data-testid="org-switch"]'));
    const events = (from) => log.requests.slice(from).filter((u) => u.includes('/v1/admin/events'));
    await page.selectOption('[data-testid="org-select"]', orgB);
    const mark = log.requests.length;
    await Promise.all([page.waitForEvent('load'), page.click('[data-testid="org-switch-submit"]')]);
    await page.waitForSelector('[data-testid="widget-row"]');
    assert.equal(await page.inputValue('[data-testid="org-select"]'), orgB);
    // The stream names the organisation in its query (an EventSource sends no header).
    await waitFor(() => events(mark).some((u) => u.includes(`organization_id=${orgB}`)), 5000, 'the stream of organisation B');
    assert.deepEqual(await widgetNames(page), ['Branch widget']);
    assert.equal(await page.evaluate(() => localStorage.getItem('parley.org')), orgB);
    await page.reload();
    await page.waitForSelector('[data-testid="widget-row"]');
    assert.deepEqual(await widgetNames(page), ['Branch widget'], 'the choice is kept');
    // An organisation the user is not in (any more): the first one.
    await page.evaluate(() => localStorage.setItem('parley.org', 'org_0123456789abcdef0123456789abcdef'));
    const stale = log.requests.length;
    await page.reload();
    await page.waitForSelector('[data-testid="widget-row"]');
    assert.ok((await widgetNames(page)).includes('Head office widget'));
    assert.equal(await page.inputValue('[data-testid="org-select"]'), 'default');
    await waitFor(() => events(stale).length > 0, 5000, 'the first organisation\'s events stream');
    // The one console error: the browser's report of the stale organisation's 404, asked for.
    assert.deepEqual(log.console.filter((m) => m.type === 'error').map((m) => m.text),
      ['Failed to load resource: the server responded with a status of 404 (Not Found)']);
    log.console.length = 0;
    await assertClean(page, log, 'switcher');
  });

  test('an email\'s link to a conversation of the other organisation opens it there, over the choice kept', async () => {
    const w = (await adminIn(orgB, 'POST', '/v1/admin/widgets', { name: 'Branch chat' })).json;
    const v = await Visitor.open(stack.parley, w.widget_id);
    await v.next('session');
    await v.turn('a question for the branch');
    await v.close();
    const list = await adminIn(orgB, 'GET', '/v1/admin/conversations');
    const conv = list.json.conversations.find((c) => c.lastVisitorMessage === 'a question for the branch');
    assert.ok(conv, 'the branch\'s conversation');
    // The link as the notifier writes it (test_mailfmt.c, email.test.mjs).
    const link = `${stack.parleyOrigin}/dashboard/?organization_id=${orgB}#/conversations/${conv._id}`;
    const { page, log } = owner;
    await openDash(page, stack, '#/conversations', '[data-testid="whoami"]:not([hidden])');
    await page.evaluate(() => localStorage.setItem('parley.org', 'default'));
    await page.goto(link);
    const error = '[data-testid="view-error"]:not([hidden])';
    await page.waitForSelector(`[data-testid="thread-message"], ${error}`, { timeout: 10000 });
    assert.equal(await page.isVisible(error), false, `the thread, not: ${await page.locator(error).allTextContents()}`);
    assert.ok((await page.textContent('[data-testid="thread-messages"]')).includes('a question for the branch'));
    assert.equal(await page.inputValue('[data-testid="org-select"]'), orgB);
    assert.equal(await page.evaluate(() => localStorage.getItem('parley.org')), orgB, 'the choice kept');
    // The address bar keeps the route alone.
    assert.equal(await page.evaluate(() => location.pathname + location.search + location.hash),
      `/dashboard/#/conversations/${conv._id}`);
    await assertClean(page, log, 'mail link');
    // The next tests act in the first organisation again.
    await page.evaluate(() => {
      localStorage.setItem('parley.org', 'default');
      history.replaceState(null, '', '#/conversations');
    });
    await page.reload();
    await page.waitForSelector('[data-testid="whoami"]:not([hidden])', { timeout: 10000 });
    // Signed out: the login first, then the thread, in that organisation.
    const out = await openPage(browser);
    try {
      await out.page.goto(link);
      await out.page.waitForSelector('[data-testid="login-password"]', { timeout: 10000 });
      await out.page.fill('[data-testid="login-password"]', DASHBOARD_PASSWORD);
      await out.page.click('[data-testid="login-submit"]');
      await out.page.waitForSelector(`[data-testid="thread-message"], ${error}`, { timeout: LOGIN_TIMEOUT });
      assert.equal(await out.page.isVisible(error), false, `signed out, the thread, not: ${await out.page.locator(error).allTextContents()}`);
      assert.equal(await out.page.inputValue('[data-testid="org-select"]'), orgB);
      await assertCleanOf(out.page, out.log, 'mail link signed out');
    } finally { await out.ctx.close(); }
  });

  test('API keys: the secret shown once, listed without it, deleted after the confirmation', async () => {
    const { page, log } = owner;
    await openDash(page, stack, '#/api-keys', '[data-testid="key-form"]');
    // The keys' table under its heading by the heading's margin alone (the
    // status line, empty, sits beside the heading, not between).
    const keysGap = await page.evaluate(() => {
      const head = [...document.querySelectorAll('h2')].find((e) => e.textContent === 'Keys');
      return {
        gap: Math.round(document.querySelector('[data-testid="key-table"]').getBoundingClientRect().top - head.getBoundingClientRect().bottom),
        margin: parseFloat(getComputedStyle(head).marginBottom),
      };
    });
    assert.equal(keysGap.gap, keysGap.margin, `the keys' table ${keysGap.gap} px under its heading`);
    await page.fill('#f-name', 'CRM sync');
    await page.selectOption('#f-role', 'agent');
    await page.click('[data-testid="key-create"]');
    const secret = (await page.locator('[data-testid="key-secret-value"]').textContent({ timeout: 5000 })).trim();
    assert.match(secret, /^pk_[0-9a-f]{64}$/);
    assert.match(await page.textContent('[data-testid="key-secret"]'), /shown this once/);
    await page.waitForSelector('[data-testid="key-row"]');
    const row = page.locator('[data-testid="key-row"]', { hasText: 'CRM sync' });
    assert.match(await row.textContent(), /agent/);
    assert.match(await row.textContent(), /Never/);
    assert.ok(!(await page.textContent('[data-testid="key-table"]')).includes(secret), 'the list has no secret');
    const listed = await adminApi(stack, 'GET', '/v1/admin/api-keys');
    assert.deepEqual(listed.json.api_keys.map((k) => [k.name, k.role, 'key' in k]), [['CRM sync', 'agent', false]]);
    keyId = listed.json.api_keys[0].id;
    assert.deepEqual(await axeAll(page, 'a new key\'s secret'), []);
    // The key works, and says so in "Last used" after a reload.
    const used = await fetch(`${stack.parleyOrigin}/v1/admin/conversations`, { headers: { 'x-admin-api-key': secret } });
    assert.equal(used.status, 200);
    await page.reload();
    await page.waitForSelector('[data-testid="key-row"]');
    assert.ok(!(await page.isVisible('[data-testid="key-secret"]')), 'not shown again');
    assert.doesNotMatch(await page.textContent('[data-testid="key-row"]'), /Never/);
    await page.click('[data-testid="key-delete"]');
    await page.click('[data-testid="confirm-cancel"]');
    assert.equal(await page.locator('[data-testid="key-row"]').count(), 1, 'Cancel keeps it');
    await page.click('[data-testid="key-delete"]');
    await page.click('[data-testid="confirm-ok"]');
    await page.waitForFunction(() => /was deleted/.test(document.querySelector('[data-testid="keys-status"]').textContent));
    assert.equal(await page.locator('[data-testid="key-row"]').count(), 0);
    assert.deepEqual((await adminApi(stack, 'GET', '/v1/admin/api-keys')).json.api_keys, []);
    await assertClean(page, log, 'api keys');
  });

  // The open dashboard kept the old role's navigation and pages (its
  // requests then refused 403) until a reload: a role change did not even
  // end the member's event streams, as docs/api.md says it does.
  test('a role changed by the owner: the member\'s open dashboard is built again for the new one', async () => {
    const CAM_PASSWORD = 'a long password for Cam';
    await addMember('default', 'cam@example.com', 'Cam Admin', ROLE.ADMIN, CAM_PASSWORD);
    const { ctx, page } = await openPage(browser);
    try {
      await page.goto(`${stack.parleyOrigin}/dashboard/login`);
      await page.fill('[data-testid="login-email"]', 'cam@example.com');
      await page.fill('[data-testid="login-password"]', CAM_PASSWORD);
      await page.click('[data-testid="login-submit"]');
      await page.waitForSelector('[data-testid="whoami"]:not([hidden])', { timeout: LOGIN_TIMEOUT });
      await openDash(page, stack, '#/widgets', '[data-testid="new-widget"]');
      await page.waitForFunction(() => document.documentElement.dataset.live === 'live');
      assert.equal(await page.textContent('[data-testid="whoami-role"]'), 'admin');
      const cam = (await adminApi(stack, 'GET', '/v1/admin/users')).json.users.find((u) => u.email === 'cam@example.com');
      assert.equal((await adminApi(stack, 'PATCH', `/v1/admin/users/${cam.id}`, { role: 'agent' })).status, 200);
      await page.waitForFunction(() => document.querySelector('[data-testid="whoami-role"]')?.textContent === 'agent', null, { timeout: 15000 });
      assert.equal(await page.isVisible('[data-testid="nav-widgets"]'), false, 'no widgets for an agent');
      await page.waitForSelector('[data-testid="not-allowed"]', { timeout: 5000 });
    } finally { await ctx.close(); }
  });

  test('users: a role changed, a member disabled and enabled, the last owner\'s demotion refused', async () => {
    const { page, log } = owner;
    await openDash(page, stack, '#/users', '[data-testid="user-row"]');
    const bea = page.locator('[data-testid="user-row"]', { hasText: 'bea@example.com' });
    const me = page.locator('[data-testid="user-row"]', { hasText: 'owner@localhost' });
    assert.equal(await bea.locator('[data-testid="user-role"]').inputValue(), 'agent');
    await bea.locator('[data-testid="user-role"]').selectOption('admin');
    await page.waitForFunction(() => /is now admin/.test(document.querySelector('[data-testid="users-status"]').textContent));
    const stored = async () => (await adminApi(stack, 'GET', '/v1/admin/users')).json.users.find((u) => u.email === 'bea@example.com');
    assert.equal((await stored()).role, 'admin');
    await bea.locator('[data-testid="user-toggle"]').click();
    await page.waitForFunction(() => /is disabled/.test(document.querySelector('[data-testid="users-status"]').textContent));
    assert.equal(await bea.locator('[data-testid="user-status"]').textContent(), 'Disabled');
    assert.equal((await stored()).disabled, true);
    await bea.locator('[data-testid="user-toggle"]').click();
    await page.waitForFunction(() => /is enabled/.test(document.querySelector('[data-testid="users-status"]').textContent));
    assert.equal((await stored()).disabled, false);
    // The only owner cannot step down: the server's 409, said; the select back on owner.
    await me.locator('[data-testid="user-role"]').selectOption('agent');
    await page.waitForSelector('[data-testid="users-error"]:not([hidden])');
    assert.match(await page.textContent('[data-testid="users-error"]'), /keeps at least one owner/);
    assert.equal(await me.locator('[data-testid="user-role"]').inputValue(), 'owner');
    // Remove: Cancel keeps her, the confirmation removes her.
    await bea.locator('[data-testid="user-remove"]').click();
    await page.click('[data-testid="confirm-cancel"]');
    assert.equal(await bea.count(), 1);
    await bea.locator('[data-testid="user-remove"]').click();
    await page.click('[data-testid="confirm-ok"]');
    await page.waitForFunction(() => /was removed/.test(document.querySelector('[data-testid="users-status"]').textContent));
    assert.equal(await bea.count(), 0);
    assert.equal(await stored(), undefined);
    await assertClean(page, log, 'users');
  });

  test('users: an invitation\'s link shown once, with Copy; a member\'s 409 said by the form', async () => {
    const { page, log } = owner;
    await openDash(page, stack, '#/users', '[data-testid="invite-form"]');
    await page.fill('#f-email', 'owner@localhost');
    await page.click('[data-testid="invite-submit"]');
    await page.waitForSelector('[data-testid="form-error"]:not([hidden])');
    assert.match(await page.textContent('[data-testid="form-error"]'), /Already a member/);
    await page.fill('#f-email', 'cy@example.com');
    await page.selectOption('#f-role', 'admin');
    await page.click('[data-testid="invite-submit"]');
    await page.waitForSelector('[data-testid="invite-link"]');
    const link = await page.textContent('[data-testid="invite-link-value"]');
    assert.ok(link.startsWith(`${stack.parleyOrigin}/dashboard/invite#`), link);
    assert.match(link.split('#')[1], /^[0-9a-f]{64}$/);
    assert.match(await page.textContent('[data-testid="invite-link"]'), /cy@example\.com \(admin\)\. It is shown this once/);
    assert.ok(await page.isHidden('[data-testid="form-error"]'));
    await page.click('[data-testid="invite-link-copy"]');
    // The status follows the clipboard's promise: wait for it, do not read it at once.
    await page.waitForFunction(() => /Copied|Selected/.test(document.querySelector('[data-testid="invite-link-copy-status"]').textContent),
      null, { timeout: 5000 });
    assert.deepEqual(await axeAll(page, 'an invitation\'s link'), []);
    await assertClean(page, log, 'invite');
    // Shown once: the page again has no link, and no answer of the API holds it.
    await page.reload();
    await page.waitForSelector('[data-testid="invite-form"]');
    assert.equal(await page.locator('[data-testid="invite-link"]').count(), 0);
    const users = await adminApi(stack, 'GET', '/v1/admin/users');
    assert.ok(!JSON.stringify(users.json).includes(link.split('#')[1]));
  });

  test('users: the pending invitations listed (markup shown as text, never a link), one revoked after the confirmation', async () => {
    const { page, log } = owner;
    const hostile = '<img_src=x_onerror=alert(1)>@example.com';
    const made = await adminApi(stack, 'POST', '/v1/admin/users', { email: hostile, role: 'agent' });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    const token = made.json.url.split('#')[1];
    await openDash(page, stack, '#/users', '[data-testid="invite-form"]');
    // The page may be the one the last test left: loaded again, it lists both.
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="invitation-row"]').length >= 2, null, { timeout: 5000 });
    const emails = await page.$$eval('[data-testid="invitation-email"]', (l) => l.map((e) => e.textContent));
    assert.ok(emails.includes('cy@example.com'), JSON.stringify(emails));
    assert.ok(emails.includes(hostile), JSON.stringify(emails));
    assert.equal(await page.locator('[data-testid="invitation-list"] img').count(), 0, 'markup is text');
    assert.ok(!(await page.content()).includes(token), 'no link in the list');
    // The members' table under its count as the invitations' is under theirs,
    // no blank band between (the status line, empty, sits beside the count).
    const under = (a, b) => page.evaluate(([x, y]) => Math.round(document.querySelector(y).getBoundingClientRect().top -
      document.querySelector(x).getBoundingClientRect().bottom), [a, b]);
    const members = await under('[data-testid="user-count"]', '[data-testid="user-table"]');
    const invited = await under('[data-testid="invitation-count"]', '[data-testid="invitation-table"]');
    assert.equal(members, invited, `the members' table ${members} px under its count, the invitations' ${invited}`);
    const heads = await page.$$eval('h2', (l) => Object.fromEntries(l.map((e) => [e.textContent, e.getBoundingClientRect().bottom])));
    const countTop = (s) => page.$eval(s, (e) => e.getBoundingClientRect().top);
    const membersHead = Math.round((await countTop('[data-testid="user-count"]')) - heads.Members);
    const invitedHead = Math.round((await countTop('[data-testid="invitation-count"]')) - heads['Pending invitations']);
    assert.equal(membersHead, invitedHead, `the members' count ${membersHead} px under its heading, the invitations' ${invitedHead}`);
    const { json } = await adminApi(stack, 'GET', '/v1/admin/invitations');
    const inv = json.invitations.find((x) => x.email === hostile);
    const row = page.locator(`[data-testid="invitation-row"][data-id="${inv.id}"]`);
    await row.locator('[data-testid="invitation-revoke"]').click();
    await page.click('[data-testid="confirm-cancel"]');
    assert.equal(await row.count(), 1, 'Cancel keeps it');
    await row.locator('[data-testid="invitation-revoke"]').click();
    await page.click('[data-testid="confirm-ok"]');
    await row.waitFor({ state: 'detached' });
    assert.match(await page.textContent('[data-testid="users-status"]'), /was revoked/);
    const after = await adminApi(stack, 'GET', '/v1/admin/invitations');
    assert.ok(!after.json.invitations.some((x) => x.id === inv.id));
    assert.deepEqual(await axeAll(page, 'the pending invitations'), []);
    await assertClean(page, log, 'invitations');
  });

  test('audit: the key\'s creation and deletion, by the owner, newest first, in words; a widget\'s row links to it', async () => {
    const { page, log } = owner;
    await openDash(page, stack, '#/audit', '[data-testid="audit-row"]');
    const rows = await page.$$eval('[data-testid="audit-row"]', (l) => l.map((r) => [r.dataset.action,
      ...['audit-who', 'audit-action', 'audit-target'].map((t) => r.querySelector(`[data-testid="${t}"]`).textContent)]));
    const keyRows = rows.filter(([action]) => action.startsWith('apikey.'));
    assert.deepEqual(keyRows, [
      ['apikey.delete', 'Support', 'API key deleted apikey.delete', keyId],
      ['apikey.create', 'Support', 'API key created apikey.create', keyId]]);
    // The key is gone: its id is shown, linked to nothing; a widget made is linked to its page.
    assert.equal(await page.locator('[data-action^="apikey."] [data-testid="audit-target"] a').count(), 0);
    const made = page.locator('[data-action="widget.create"] [data-testid="audit-target"] a').first();
    const widgetId = (await made.textContent()).trim();
    assert.match(widgetId, /^wid_/);
    assert.equal(await made.getAttribute('href'), `#/widgets/${widgetId}`);
    await made.click();
    await page.waitForSelector('[data-testid="widget-form"]');
    assert.equal(new URL(page.url()).hash, `#/widgets/${widgetId}`);
    await assertClean(page, log, 'audit');
  });

  test('audit: every action storaged records or a worker notes has words on the audit page', () => {
    const read = (f) => fs.readFileSync(path.join(REPO, f), 'utf8');
    const actions = new Set([
      ...[...read('storaged/optab.c').matchAll(/\.action = "([a-z_.]+)"/g)].map((m) => m[1]),
      ...[...read('storaged/auditstore.c').matchAll(/"([a-z_]+\.[a-z_.]+)"/g)].map((m) => m[1])
        .filter((a) => !a.endsWith('.h')), // its #includes
      ...[...read('proto/keymsg.c').matchAll(/strcmp\(action, "([a-z_.]+)"\)/g)].map((m) => m[1]),
    ]);
    assert.ok(actions.size >= 45, `the sources' actions read: ${actions.size}`);
    const page = read('dashboard/src/audit.js');
    const missing = [...actions].filter((a) => !page.includes(`'${a}':`) && !page.includes(` ${a}:`));
    assert.deepEqual(missing, []);
  });

  test('axe-core in light and dark, and no horizontal scroll at 390 px, on the new pages', async () => {
    assert.equal((await adminApi(stack, 'POST', '/v1/admin/api-keys', { name: 'Reporting', role: 'admin' })).status, 201);
    const phone = await openPage(browser, PHONE);
    try {
      await dashLogin(stack, phone.ctx, ownerSession);
      const bad = [];
      for (const [name, route, ready] of [
        ['users', '#/users', '[data-testid="user-row"]'],
        ['api-keys', '#/api-keys', '[data-testid="key-row"]'],
        ['audit', '#/audit', '[data-testid="audit-row"]'],
      ]) {
        // the desktop and the phone side by side (two contexts)
        const each = await Promise.allSettled([owner.page, phone.page].map(async (p) => {
          await openDash(p, stack, route, ready);
          return axeAll(p, `${name} at ${p.viewportSize().width} px`);
        }));
        for (const r of each) {
          if (r.status === 'rejected') throw r.reason;
          bad.push(...r.value);
        }
        assert.ok(await phone.page.isVisible('[data-testid="org-switch"]'), 'the switcher on a phone too');
        // An entry's action in words and its code, a key's name and its id:
        // beside the label, not wrapped under it.
        await assertCardCells(phone.page, ready, `${name} on a phone`);
        await dashShot(phone.page, name);
      }
      assert.deepEqual(bad, []);
      await assertClean(phone.page, phone.log, 'phone');
    } finally { await phone.ctx.close(); }
  });
});
