// Assignment, a contact's data on request and retention in the dashboard,
// in headless Chromium: two visitors chat through a widget (one gives a
// contact); the owner takes over the first → its row names the owner; the
// list's All / Mine / Unassigned filter (kept in the hash) shows what it
// should; Assign to Nobody → Unassigned shows it; the contact page's Export
// data link (with organization_id once an organisation is chosen) downloads
// the contact; Erase all data → the contact and its conversation are gone;
// a widget saved with retention 30 says so and the API has it. An agent
// sees neither data action and may assign to Me or Nobody only. axe-core in
// light and dark on the changed views, and no horizontal scroll on a phone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, PHONE, SUITE_TIMEOUT, adminApi, assertClean, axeAndPhone, dashLogin, openDash, openPage, startSuite, stopSuite,
  waitFor,
} from './lib/browser.mjs';
import { Visitor } from '../integration/lib/wsclient.mjs';
import { addMember } from '../integration/lib/people.mjs';

const row = (id) => `[data-testid="conv-row"][data-id="${id}"]`;

describe('dashboard: assignment, contact data, retention', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let owner; // {ctx, page, log}
  let ownerSession; // its session, given to the axe test's contexts too (none logs out)
  let w; // the widget
  let convA; // the contact's conversation, taken over
  let convB; // another visitor's, never assigned
  let contactId;
  let ownerId;
  let agent; // a member with the agent role: {id, name, session}

  // A visitor of widget w: a contact (when given), one turn; its conversation id.
  async function visit(contact, text) {
    const before0 = await adminApi(stack, 'GET', `/v1/admin/conversations?widget=${encodeURIComponent(w.id)}`);
    const seen = new Set(before0.json.conversations.map((c) => c._id));
    const m = await Visitor.open(stack.parley, w.widget_id);
    await m.next('session');
    if (contact) {
      m.send({ type: 'contact_info', ...contact });
      assert.equal((await m.next()).type, 'contact_info_saved');
    }
    await m.turn(text);
    await m.close();
    const r = await adminApi(stack, 'GET', `/v1/admin/conversations?widget=${encodeURIComponent(w.id)}`);
    const c = r.json.conversations.find((x) => !seen.has(x._id));
    assert.ok(c, 'the visit made a conversation');
    return c;
  }

  // The list after choosing value in the assignee filter: the ids of its rows.
  async function filterTo(page, value) {
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/v1/admin/conversations?') &&
        (value ? r.url().includes(`assignee=${value}`) : !r.url().includes('assignee='))),
      page.selectOption('[data-testid="assignee-filter"]', value),
    ]);
    await page.waitForFunction(() => !/Loading/.test(document.querySelector('[data-testid="list-status"]').textContent));
    return page.$$eval('[data-testid="conv-row"]', (rows) => rows.map((r) => r.dataset.id));
  }

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 2, delayMs: 10 }, env: { DASHBOARD_PASSWORD } }));
    const r = await adminApi(stack, 'POST', '/v1/admin/widgets', {
      name: 'Assign shop', contact_info_mode: 'optional', collect_name: true, collect_email: true,
    });
    assert.equal(r.status, 201, r.text);
    w = r.json;
    const a = await visit({ name: 'Ada Lovelace', email: 'ada@example.com' }, 'hello from Ada');
    convA = a._id;
    contactId = a.contactId;
    assert.ok(contactId, 'the first conversation has its contact');
    convB = (await visit(null, 'hello from B'))._id;
    agent = await addMember(stack.parley, { role: 'agent' });
    owner = await openPage(browser);
    ownerSession = await dashLogin(stack, owner.ctx);
  });
  after(async () => {
    if (owner) await owner.ctx.close();
    await stopSuite({ stack, browser });
  });

  test('taking over assigns the owner: the thread and the list name them', async () => {
    const { page } = owner;
    await openDash(page, stack, `#/conversations/${convA}`, '[data-testid="take-over"]');
    assert.equal(await page.textContent('[data-testid="thread-assignee-name"]'), 'Unassigned');
    ownerId = await page.evaluate(async () => (await (await fetch('/dashboard/api/session')).json()).user.id);
    // an owner picks from the members (the owner and the agent), or "Nobody"
    const options = await page.$$eval('[data-testid="assign-select"] option', (o) => o.map((x) => x.value));
    assert.deepEqual(options.sort(), ['', ownerId, agent.id].sort());
    await page.click('[data-testid="take-over"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="thread-assignee-name"]').textContent === 'Support');
    assert.equal(await page.inputValue('[data-testid="assign-select"]'), ownerId);
    await openDash(page, stack, '#/conversations', row(convA));
    assert.equal(await page.textContent(`${row(convA)} [data-testid="conv-assignee"]`), 'Support');
    assert.equal(await page.textContent(`${row(convB)} [data-testid="conv-assignee"]`), 'Unassigned');
  });

  test('the filter: Mine shows it, Unassigned does not, kept in the hash', async () => {
    const { page } = owner;
    await openDash(page, stack, '#/conversations', row(convA));
    assert.deepEqual(await filterTo(page, 'mine'), [convA]);
    assert.match(page.url(), /#\/conversations\?assignee=mine$/);
    assert.deepEqual(await filterTo(page, 'unassigned'), [convB]);
    assert.match(page.url(), /assignee=unassigned/);
    // a reload keeps the filter
    await page.reload();
    await page.waitForSelector(row(convB));
    assert.equal(await page.inputValue('[data-testid="assignee-filter"]'), 'unassigned');
    assert.equal(await page.locator(row(convA)).count(), 0);
    assert.deepEqual((await filterTo(page, '')).sort(), [convA, convB].sort());
  });

  test('Assign to Nobody: the thread says Unassigned, the API agrees, the Unassigned filter shows it', async () => {
    const { page, log } = owner;
    await openDash(page, stack, `#/conversations/${convA}`, '[data-testid="assign-select"]');
    await page.selectOption('[data-testid="assign-select"]', '');
    await page.click('[data-testid="assign-submit"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="assign-status"]').textContent === 'Assigned to nobody.');
    assert.equal(await page.textContent('[data-testid="thread-assignee-name"]'), 'Unassigned');
    const c = await adminApi(stack, 'GET', `/v1/admin/conversations/${convA}`);
    assert.equal(c.json.conversation.assignee, null);
    await openDash(page, stack, '#/conversations?assignee=unassigned', row(convA));
    assert.equal(await page.locator(row(convB)).count(), 1);
    // and back to the owner, through the select
    await openDash(page, stack, `#/conversations/${convA}`, '[data-testid="assign-select"]');
    await page.selectOption('[data-testid="assign-select"]', ownerId);
    await page.click('[data-testid="assign-submit"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="thread-assignee-name"]').textContent === 'Support');
    assert.equal((await adminApi(stack, 'GET', `/v1/admin/conversations/${convA}`)).json.conversation.assignee.id, ownerId);
    await assertClean(page, log, 'assign');
  });

  // A row assigned elsewhere stayed in a list filtered Unassigned (its
  // count with it) until a reload.
  test('a list filtered Unassigned loses a row assigned elsewhere, live', async () => {
    const { page } = owner;
    await openDash(page, stack, '#/conversations?assignee=unassigned', row(convB));
    await page.waitForFunction(() => document.documentElement.dataset.live === 'live');
    const assign = (userId) => adminApi(stack, 'POST', `/v1/admin/conversations/${convB}/assign`, { user_id: userId });
    assert.equal((await assign(ownerId)).status, 200);
    await page.waitForSelector(row(convB), { state: 'detached', timeout: 5000 });
    assert.equal((await assign(null)).status, 200);
  });

  // The list showed the name the visitor gave, the open thread the old one
  // (title, messages, no Contact) until a reload.
  test('a visitor gives their details while the thread is open: its title, messages and Contact say them', async () => {
    const { page } = owner;
    const m = await Visitor.open(stack.parley, w.widget_id);
    try {
      await m.next('session');
      await m.turn('nameless so far');
      const id = (await adminApi(stack, 'GET', `/v1/admin/conversations?widget=${encodeURIComponent(w.id)}`)).json
        .conversations.find((c) => c.lastVisitorMessage === 'nameless so far')._id;
      await openDash(page, stack, `#/conversations/${id}`, '[data-testid="thread-title"]');
      await page.waitForFunction(() => document.documentElement.dataset.live === 'live');
      m.send({ type: 'contact_info', name: 'Zed <b>Zulu</b>', email: 'zed@example.com' });
      assert.equal((await m.next()).type, 'contact_info_saved');
      await page.waitForFunction(() => document.querySelector('[data-testid="thread-title"]').textContent === 'Zed <b>Zulu</b>', null, { timeout: 5000 });
      assert.deepEqual(await page.$$eval('[data-testid="thread-message"][data-role="user"] [data-testid="msg-role"]', (e) => e.map((x) => x.textContent)), ['Zed <b>Zulu</b>']);
      await page.waitForSelector('[data-testid="conv-contact-link"]', { timeout: 5000 });
      assert.match(await page.textContent('[data-testid="conv-contact"]'), /zed@example\.com/);
    } finally {
      await m.close();
    }
  });

  test('a failed assignment is said in an alert', async () => {
    const { page, log } = owner;
    await openDash(page, stack, `#/conversations/${convB}`, '[data-testid="assign-select"]');
    // a user id that is no member of the organisation: 404 User not found
    await page.$eval('[data-testid="assign-select"]', (s) => {
      const o = document.createElement('option');
      o.value = `usr_${'0'.repeat(32)}`;
      o.textContent = 'Ghost';
      s.append(o);
      s.value = o.value;
    });
    await page.click('[data-testid="assign-submit"]');
    await page.waitForSelector('[data-testid="action-error"]:not([hidden])');
    assert.match(await page.textContent('[data-testid="action-error"]'), /Could not assign: User not found/);
    assert.equal(await page.getAttribute('[data-testid="action-error"]', 'role'), 'alert');
    assert.equal(await page.textContent('[data-testid="thread-assignee-name"]'), 'Unassigned');
    // the refused request's 404 is the one console error; the next tests start clean
    await assertClean(page, log, 'failed assign', { allowConsole: /status of 404/ });
    log.console.length = 0;
  });

  test('the contact export link downloads the contact, with organization_id once one is chosen', async () => {
    const { page } = owner;
    await openDash(page, stack, `#/contacts/${contactId}`, '[data-testid="contact-export"]');
    assert.equal(await page.getAttribute('[data-testid="contact-export"]', 'href'), `/v1/admin/contacts/${contactId}/export`);
    const orgId = await page.evaluate(async () => (await (await fetch('/dashboard/api/session')).json()).organization.id);
    assert.ok(orgId, 'the session names its organisation');
    await page.evaluate((id) => localStorage.setItem('parley.org', id), orgId);
    await page.reload();
    await page.waitForSelector('[data-testid="contact-export"]');
    const href = await page.getAttribute('[data-testid="contact-export"]', 'href');
    assert.equal(href, `/v1/admin/contacts/${contactId}/export?organization_id=${encodeURIComponent(orgId)}`);
    const got = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return { status: r.status, body: await r.json() };
    }, href);
    assert.equal(got.status, 200);
    assert.equal(got.body.contact.email, 'ada@example.com');
    assert.ok(got.body.conversations.some((c) => c._id === convA || c.id === convA), 'the export holds its conversation');
    await page.evaluate(() => localStorage.removeItem('parley.org'));
  });

  test('retention: a widget saved with 30 days shows 30 and the API has retention_days 30', async () => {
    const { page, log } = owner;
    await openDash(page, stack, `#/widgets/${w.widget_id}`, '[data-testid="widget-retention"]');
    assert.equal(await page.textContent('[data-testid="widget-retention"]'), 'Forever');
    await page.fill('#f-retention_days', '0');
    await page.click('[data-testid="save-widget"]');
    await page.waitForSelector('[data-testid="field-error-retention_days"]:not([hidden])');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'f-retention_days');
    await page.fill('#f-retention_days', '30');
    await page.click('[data-testid="save-widget"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="save-status"]').textContent === 'Saved.');
    assert.equal(await page.textContent('[data-testid="widget-retention"]'), '30 days');
    assert.equal((await adminApi(stack, 'GET', `/v1/admin/widgets/${w.widget_id}`)).json.retention_days, 30);
    await page.reload();
    await page.waitForSelector('#f-retention_days');
    assert.equal(await page.inputValue('#f-retention_days'), '30');
    // emptied: kept forever again (null)
    await page.fill('#f-retention_days', '');
    await page.click('[data-testid="save-widget"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="widget-retention"]').textContent === 'Forever');
    assert.equal((await adminApi(stack, 'GET', `/v1/admin/widgets/${w.widget_id}`)).json.retention_days, null);
    await assertClean(page, log, 'retention');
  });

  test('axe-core in light and dark, and a phone without horizontal scroll, on the changed views', async () => {
    const desk = await openPage(browser);
    const phone = await openPage(browser, PHONE);
    try {
      await dashLogin(stack, desk.ctx, ownerSession);
      await dashLogin(stack, phone.ctx, ownerSession);
      const bad = await axeAndPhone(stack, desk.page, phone.page, [
        ['assign-list', '#/conversations?assignee=mine', row(convA)],
        ['assign-thread', `#/conversations/${convA}`, '[data-testid="assign-select"]'],
        ['contact-data', `#/contacts/${contactId}`, '[data-testid="contact-erase"]'],
        ['widget-retention', `#/widgets/${w.widget_id}`, '[data-testid="widget-retention"]'],
      ]);
      assert.deepEqual(bad, [], 'no serious or critical violation');
      await assertClean(desk.page, desk.log, 'axe desktop');
      await assertClean(phone.page, phone.log, 'axe phone');
    } finally {
      await desk.ctx.close();
      await phone.ctx.close();
    }
  });

  test('Erase all data: the dialog says what goes; then the contact and its conversation are gone', async () => {
    const { page, log } = owner;
    await openDash(page, stack, `#/contacts/${contactId}`, '[data-testid="contact-erase"]');
    await page.click('[data-testid="contact-erase"]');
    await page.waitForSelector('[data-testid="confirm-dialog"]');
    const says = await page.textContent('[data-testid="confirm-dialog"]');
    for (const word of ['Ada Lovelace', '1 conversation', 'message', 'sessions', 'cannot be undone']) {
      assert.ok(says.includes(word), `the dialog says "${word}": ${says}`);
    }
    await page.click('[data-testid="confirm-ok"]');
    await page.waitForFunction(() => location.hash === '#/contacts');
    await page.waitForFunction(() => /Contact erased/.test(document.getElementById('flash').textContent));
    await page.waitForSelector('[data-testid="contact-empty"]:not([hidden]), [data-testid="contact-row"]');
    assert.equal(await page.locator(`[data-testid="contact-row"][data-id="${contactId}"]`).count(), 0);
    assert.equal((await adminApi(stack, 'GET', `/v1/admin/contacts/${contactId}`)).status, 404);
    await waitFor(async () => (await adminApi(stack, 'GET', `/v1/admin/conversations/${convA}`)).status === 404,
      10000, 'the erased contact\'s conversation is gone');
    assert.equal((await adminApi(stack, 'GET', `/v1/admin/conversations/${convB}`)).status, 200, 'the other stays');
    await openDash(page, stack, '#/conversations', row(convB));
    assert.equal(await page.locator(row(convA)).count(), 0);
    await assertClean(page, log, 'erase');
  });

  test('an agent: no Export data or Erase all data; assigns only to Me or Nobody', async () => {
    const { ctx, page, log } = await openPage(browser);
    try {
      await ctx.addCookies([{
        name: 'parley_session', value: agent.session.id, domain: '127.0.0.1', path: '/', httpOnly: true, sameSite: 'Strict',
      }]);
      await openDash(page, stack, `#/conversations/${convB}`, '[data-testid="assign-select"]');
      const options = await page.$$eval('[data-testid="assign-select"] option', (o) => o.map((x) => [x.value, x.textContent]));
      assert.deepEqual(options, [['', 'Nobody'], [agent.id, 'Me']]);
      await page.selectOption('[data-testid="assign-select"]', agent.id);
      await page.click('[data-testid="assign-submit"]');
      await page.waitForFunction((n) => document.querySelector('[data-testid="thread-assignee-name"]').textContent === n, agent.name);
      assert.equal((await adminApi(stack, 'GET', `/v1/admin/conversations/${convB}`)).json.conversation.assignee.id, agent.id);
      await openDash(page, stack, '#/conversations?assignee=mine', row(convB));
      assert.equal(await page.textContent(`${row(convB)} [data-testid="conv-assignee"]`), agent.name);
      // a contact of the agent's organisation, by the widget's form
      const c = await visit({ name: 'Grace Hopper', email: 'grace@example.com' }, 'hello from Grace');
      await openDash(page, stack, `#/contacts/${c.contactId}`, '[data-testid="contact-title"]');
      assert.equal(await page.locator('[data-testid="contact-export"]').count(), 0);
      assert.equal(await page.locator('[data-testid="contact-erase"]').count(), 0);
      await assertClean(page, log, 'agent');
    } finally {
      await ctx.close();
    }
  });
});

