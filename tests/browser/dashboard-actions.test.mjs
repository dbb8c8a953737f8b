// The dashboard's Actions page in Chromium (#/actions, admins and owners),
// against a Parley whose default organisation may call loopback
// (PARLEY_ACTIONS_ALLOW_PRIVATE=on) and an API of this test on 127.0.0.1.
// The owner creates an action in the page (with a header) and sees it
// listed; on its page the header is shown as set and its value is nowhere;
// an edit of the description sends that field alone (no headers); a schema
// the server refuses shows its 400 beside the parameters; the Test panel
// calls the API (the request, status 200 and the body shown; the API got
// the header's value); changed headers are sent whole and used; the test
// of an action that changes data runs only after a confirmation (Cancel
// calls nothing), sent as "confirm": true; an agent
// is given the action and handoff_tool in its form, as the API then shows;
// a thread's steps say whose tool each was ("Action: order_status", and
// "Page tool: issue_refund" for the visitor's page's own tool, named like
// an action, as text); requires_verified with a url naming no visitor
// field saves with the server's warning shown under the form; the action
// is deleted after the confirmation. axe-core in light and dark
// on the list and the action's page; neither scrolls sideways on a phone.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { Visitor } from '../integration/lib/wsclient.mjs';
import {
  DASHBOARD_PASSWORD, PHONE, SUITE_TIMEOUT, adminApi, assertBadgesFit, assertClean as assertCleanOf, axeLightDark, dashLogin, dashShot, openDash, openPage,
  overflow, startSuite, stopSuite,
} from './lib/browser.mjs';

// The browser's own report of the 400 the test asks for (a refused schema).
const assertClean = (page, log, what) => assertCleanOf(page, log, what,
  { allowConsole: /^Failed to load resource: the server responded with a status of 400/ });

const SCHEMA = { type: 'object', properties: { order_id: { type: 'string', maxLength: 20 } }, required: ['order_id'] };
const SECRET = 'sk-browser-secret-1';
const SECRET2 = 'sk-browser-secret-2';

describe('the dashboard\'s Actions page in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let owner;     // {ctx, page, log}
  let shop;      // the test's API: {server, hits, url}
  let action;    // the action made in the page
  const patches = []; // the bodies of the page's PATCHes of an action

  before(async () => {
    const hits = [];
    const server = http.createServer((req, res) => {
      hits.push({ url: req.url, key: req.headers['x-shop-key'] });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ order: decodeURIComponent(req.url.split('/').pop()), status: 'shipped' }));
    });
    await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
    shop = { server, hits, url: `http://127.0.0.1:${server.address().port}/orders/{{order_id}}` };
    ({ stack, browser } = await startSuite({
      workers: 1, mock: { chunks: 2 }, env: { DASHBOARD_PASSWORD, PARLEY_ACTIONS_ALLOW_PRIVATE: 'on' },
    }));
    owner = await openPage(browser);
    await dashLogin(stack, owner.ctx);
    owner.page.on('request', (r) => {
      if (r.method() === 'PATCH' && /\/v1\/admin\/actions\//.test(r.url())) patches.push(JSON.parse(r.postData()));
    });
  });
  after(async () => {
    if (owner) await owner.ctx.close();
    await stopSuite({ stack, browser });
    if (shop) {
      shop.server.closeAllConnections();
      await new Promise((ok) => shop.server.close(ok));
    }
  });

  const admin = (method, path, body) => adminApi(stack, method, path, body);
  const inputValues = (page) => page.$$eval('input, textarea', (els) => els.map((e) => e.value));
  const saved = (page, text) => page.waitForFunction((t) => document.querySelector('[data-testid="save-status"]').textContent === t, text);

  test('create an action through the form, with a header; it is listed', async () => {
    const { page, log } = owner;
    await openDash(page, stack, '#/actions', '[data-testid="action-form"]');
    await page.waitForSelector('[data-testid="action-empty"]:not([hidden])');
    assert.equal(await page.getAttribute('[data-testid="nav-actions"]', 'aria-current'), 'page');
    assert.deepEqual(JSON.parse(await page.inputValue('#f-parameters')), { type: 'object', properties: {}, required: [] });
    await page.fill('#f-name', 'order_status');
    await page.fill('#f-description', 'Looks up an order.');
    await page.fill('#f-parameters', JSON.stringify(SCHEMA, null, 2));
    await page.selectOption('#f-method', 'GET');
    await page.fill('#f-url', shop.url);
    await page.click('[data-testid="header-add"]');
    await page.fill('[data-testid="header-name"]', 'X-Shop-Key');
    await page.fill('[data-testid="header-value"]', SECRET);
    await page.fill('#f-timeout_ms', '5000');
    await page.click('[data-testid="save-action"]');
    await saved(page, 'Action order_status created.');

    const list = (await admin('GET', '/v1/admin/actions')).json.actions;
    assert.equal(list.length, 1);
    action = list[0];
    assert.equal(action.name, 'order_status');
    assert.deepEqual(action.parameters, SCHEMA);
    assert.equal(action.url, shop.url);
    assert.deepEqual(action.header_names, ['X-Shop-Key']);
    assert.equal(action.timeout_ms, 5000);
    assert.equal(action.max_response_bytes, null);
    assert.equal(action.enabled, true);
    assert.equal(action.changes_data, false);
    const row = `[data-testid="action-row"][data-id="${action.id}"]`;
    await page.waitForSelector(row);
    assert.equal(await page.textContent(`${row} [data-testid="action-link"]`), 'order_status');
    assert.equal(await page.textContent(`${row} [data-testid="action-request"]`), `GET ${shop.url}`);
    assert.equal(await page.textContent(`${row} [data-testid="action-status"]`), 'Enabled');
    assert.equal(await page.textContent('[data-testid="action-count"]'), '1 action');
    assert.equal(await page.inputValue('#f-name'), '', 'the form is empty again');
    assert.equal(await page.locator('[data-testid="header-row"]').count(), 0);
    assert.deepEqual(await axeLightDark(page, 'the actions list'), []);
    await assertClean(page, log, 'create');
  });

  // The URL template is a long line: as wide as the form's text areas (the
  // body template's), in the new action's form and in an action's own.
  test('the URL template as wide as the body template, on the list and on an action\'s page', async () => {
    const { page, log } = owner;
    const widths = () => page.evaluate(() => ['#f-url', '#f-body'].map((s) => Math.round(document.querySelector(s).getBoundingClientRect().width)));
    for (const route of [`#/actions/${action.id}`, '#/actions']) {
      await openDash(page, stack, route, '[data-testid="action-form"]');
      const [url, body] = await widths();
      assert.ok(body > 600, `${route}: the body template ${body} px`);
      assert.equal(url, body, `${route}: the URL template ${url} px, the body template ${body} px`);
    }
    await assertClean(page, log, 'url width');
  });

  // "1 action" under the page's line of text, as far from it as the
  // widgets' count is from their page's head, not glued to the text.
  test('the count of actions apart from the text above it, as the widgets\' count is', async () => {
    const { page, log } = owner;
    const gapAbove = (sel) => page.$eval(sel, (el) => Math.round(el.getBoundingClientRect().top - el.previousElementSibling.getBoundingClientRect().bottom));
    await openDash(page, stack, '#/widgets', '[data-testid="widget-row"]');
    const widgets = await gapAbove('[data-testid="widget-count"]');
    await openDash(page, stack, '#/actions', '[data-testid="action-row"]');
    assert.ok(widgets >= 8, `the widgets' count ${widgets} px under the head`);
    assert.equal(await gapAbove('[data-testid="action-count"]'), widgets, 'the actions\' count under its text');
    await assertClean(page, log, 'count');
  });

  test('its page: the header shown as set, its value nowhere; an edit sends no headers; a refused schema beside its field', async () => {
    const { page, log } = owner;
    await page.click(`[data-testid="action-row"][data-id="${action.id}"] [data-testid="action-link"]`);
    await page.waitForSelector('[data-testid="header-set"]');
    assert.equal(await page.textContent('[data-testid="action-title"]'), 'order_status');
    assert.equal(await page.textContent('[data-testid="header-set"]'), 'X-Shop-Key set');
    assert.equal(await page.locator('[data-testid="header-value"]').count(), 0);
    assert.ok(!(await page.content()).includes(SECRET), 'the value is not in the page');
    assert.ok(!(await inputValues(page)).some((v) => v.includes(SECRET)), 'nor in a field');
    assert.equal(await page.inputValue('#f-url'), shop.url);
    assert.equal(await page.inputValue('#f-timeout_ms'), '5000');

    await page.fill('#f-description', 'Looks up an order by its number.');
    await page.click('[data-testid="save-action"]');
    await saved(page, 'Saved.');
    assert.deepEqual(patches, [{ description: 'Looks up an order by its number.' }], 'the changed field alone');
    let a = (await admin('GET', `/v1/admin/actions/${action.id}`)).json;
    assert.equal(a.description, 'Looks up an order by its number.');
    assert.deepEqual(a.header_names, ['X-Shop-Key']);

    // A schema the server refuses: its 400 beside the parameters, nothing saved.
    const want = (await admin('PATCH', `/v1/admin/actions/${action.id}`, { parameters: { type: 'string' } })).json.error;
    assert.match(want, /^parameters: /);
    await page.fill('#f-parameters', '{"type":"string"}');
    await page.click('[data-testid="save-action"]');
    const err = page.locator('[data-testid="field-error-parameters"]');
    await err.waitFor({ state: 'visible' });
    assert.equal(`parameters: ${await err.textContent()}`, want, 'the server\'s text');
    assert.equal(await page.getAttribute('#f-parameters', 'aria-invalid'), 'true');
    // Text that is not JSON: refused in the page, nothing sent.
    await page.fill('#f-parameters', '{"type":');
    await page.click('[data-testid="save-action"]');
    await page.waitForFunction(() => /^not JSON/.test(document.querySelector('[data-testid="field-error-parameters"]').textContent));
    assert.equal(patches.length, 2);
    a = (await admin('GET', `/v1/admin/actions/${action.id}`)).json;
    assert.deepEqual(a.parameters, SCHEMA, 'nothing saved');
    // The refused text is not saved: leaving asks first; left and come
    // back to, the page shows what the server holds.
    const here = await page.evaluate(() => location.hash);
    await page.click('[data-testid="nav-conversations"]');
    await page.click('[data-testid="confirm-ok"]');
    await page.waitForFunction(() => location.hash === '#/conversations');
    await page.evaluate((h) => { location.hash = h; }, here);
    await page.waitForSelector('[data-testid="header-set"]');
    assert.deepEqual(await axeLightDark(page, 'an action'), []);
    await assertClean(page, log, 'edit');
  });

  test('Test: the request and the answer shown; the API got the header\'s value; changed headers sent whole', async () => {
    const { page, log } = owner;
    assert.equal(await page.inputValue('#f-arguments'), '{}');
    // The panel's line of text and its first field's label: apart, as a
    // field's hint is from the next field's label.
    const gaps = await page.evaluate(() => {
      const box = (s) => document.querySelector(s).getBoundingClientRect();
      return {
        intro: Math.round(box('label[for="f-arguments"]').top - box('[data-testid="action-test"] > .hint').bottom),
        fields: Math.round(box('label[for="f-visitor_external_id"]').top - box('#hint-arguments').bottom),
      };
    });
    assert.equal(gaps.intro, gaps.fields, `the Test panel's text and its first label ${gaps.intro} px apart, a hint and the next label ${gaps.fields}`);
    await page.fill('#f-arguments', '{"order_id": 7}');
    await page.click('[data-testid="run-test"]');
    await page.waitForSelector('[data-testid="test-outcome"]');
    assert.equal(await page.textContent('[data-testid="test-outcome"]'), 'Failed order_id: must be a string');
    assert.equal(shop.hits.length, 0, 'a refused argument calls nothing');

    await page.fill('#f-arguments', '{"order_id": "A 17"}');
    await page.click('[data-testid="run-test"]');
    await page.waitForSelector('[data-testid="test-response-status"]');
    assert.equal(await page.textContent('[data-testid="test-outcome"]'), 'OK');
    assert.equal(await page.textContent('[data-testid="test-request-method"]'), 'GET');
    assert.equal(await page.textContent('[data-testid="test-request-url"]'), shop.url.replace('{{order_id}}', 'A%2017'));
    assert.equal(await page.textContent('[data-testid="test-response-status"]'), '200');
    assert.match(await page.textContent('[data-testid="test-response-duration"]'), /^\d[\d,.]* ms$/);
    assert.equal(await page.textContent('[data-testid="test-response-body"]'), JSON.stringify({ order: 'A 17', status: 'shipped' }));
    assert.equal(await page.locator('[data-testid="test-response-cut"]').count(), 0);
    assert.deepEqual(shop.hits, [{ url: '/orders/A%2017', key: SECRET }]);
    assert.ok(!(await page.content()).includes(SECRET), 'the value is not shown');
    assert.deepEqual(await axeLightDark(page, 'an action tested'), []);

    // Changed: the whole set is sent, and used.
    await page.click('[data-testid="header-change"]');
    assert.equal(await page.inputValue('[data-testid="header-name"]'), 'X-Shop-Key');
    assert.equal(await page.inputValue('[data-testid="header-value"]'), '', 'the value is entered again');
    await page.click('[data-testid="save-action"]');
    await page.locator('[data-testid="field-error-headers"]').waitFor({ state: 'visible' });
    await page.fill('[data-testid="header-value"]', SECRET2);
    await page.click('[data-testid="save-action"]');
    await saved(page, 'Saved.');
    assert.deepEqual(patches.at(-1), { headers: { 'X-Shop-Key': SECRET2 } });
    await page.waitForSelector('[data-testid="header-set"]');
    await page.click('[data-testid="run-test"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="test-status"]').textContent === 'Test done.');
    assert.deepEqual(shop.hits.at(-1), { url: '/orders/A%2017', key: SECRET2 });
    await assertClean(page, log, 'test');
  });

  // Its test calls the API for real: the server refuses it without
  // "confirm": true, which the page sends once the owner has said yes.
  test('Test of an action that changes data: a confirmation first, then sent with confirm', async () => {
    const { page, log } = owner;
    const r = await admin('POST', '/v1/admin/actions', { name: 'cancel_order', description: 'Cancels an order.',
      parameters: SCHEMA, method: 'POST', url: shop.url.replace('/orders/', '/cancel/'), changes_data: true });
    assert.equal(r.status, 201, r.text);
    const tests = [];
    const onRequest = (q) => { if (q.method() === 'POST' && /\/test$/.test(q.url())) tests.push(JSON.parse(q.postData())); };
    page.on('request', onRequest);
    try {
      await openDash(page, stack, `#/actions/${r.json.id}`, '[data-testid="run-test"]');
      await page.fill('#f-arguments', '{"order_id": "C 9"}');
      const hits = shop.hits.length;
      await page.click('[data-testid="run-test"]');
      await page.waitForSelector('[data-testid="confirm-dialog"][open]');
      assert.match(await page.textContent('[data-testid="confirm-dialog"]'), /cancel_order changes data/);
      await page.click('[data-testid="confirm-cancel"]');
      assert.deepEqual(tests, [], 'cancelled: nothing sent');
      assert.equal(shop.hits.length, hits);
      await page.click('[data-testid="run-test"]');
      await page.click('[data-testid="confirm-dialog"][open] [data-testid="confirm-ok"]');
      await page.waitForSelector('[data-testid="test-response-status"]');
      assert.equal(await page.textContent('[data-testid="test-outcome"]'), 'OK');
      assert.deepEqual(tests, [{ arguments: { order_id: 'C 9' }, confirm: true }]);
      assert.equal(shop.hits.at(-1).url, '/cancel/C%209');
      await assertClean(page, log, 'confirmed test');
    } finally {
      page.off('request', onRequest);
      // The list's last test finds it empty once order_status is gone.
      await admin('DELETE', `/v1/admin/actions/${r.json.id}`);
    }
  });

  test('an agent given the action and handoff_tool in its form', async () => {
    const { page, log } = owner;
    const agent = (await admin('POST', '/v1/admin/agents', { name: 'Shop assistant' })).json;
    await openDash(page, stack, `#/agents/${agent.id}`, `#act-${action.id}`);
    assert.equal(await page.textContent(`label[for="act-${action.id}"]`), 'order_status');
    assert.equal(await page.isChecked('#f-handoff_tool'), false);
    await page.check(`#act-${action.id}`);
    await page.check('#f-handoff_tool');
    await page.click('[data-testid="save-agent"]');
    await saved(page, 'Saved.');
    const a = (await admin('GET', `/v1/admin/agents/${agent.id}`)).json;
    assert.deepEqual(a.action_ids, [action.id]);
    assert.equal(a.handoff_tool, true);
    await page.reload();
    await page.waitForSelector(`#act-${action.id}`);
    assert.equal(await page.isChecked(`#act-${action.id}`), true);
    assert.equal(await page.isChecked('#f-handoff_tool'), true);
    await assertClean(page, log, 'agent');
  });

  // A page's tool is named and answered by the visitor's browser: before,
  // the thread showed its step as "Action: issue_refund", the owner's
  // refund read as having run.
  test('a thread\'s steps: an action\'s, and the visitor\'s page tool\'s said to be the page\'s, as text', async () => {
    const { page, log } = owner;
    const agent = (await admin('POST', '/v1/admin/agents', { name: 'Steps', action_ids: [action.id] })).json;
    const w = (await admin('POST', '/v1/admin/widgets', { name: 'Steps', agent_id: agent.id })).json;
    const v = await Visitor.open(stack.parley, w.widget_id);
    try {
      await v.next('session');
      v.send({ type: 'tools', tools: [{ name: 'issue_refund', description: 'Refunds <b>it</b>', parameters: { type: 'object' } }] });
      const args = encodeURIComponent('{"order_id":"S 1"}').replace(/,/g, '%2C');
      v.send({ type: 'message', content: `refund? [[mock:call=order_status,args=${args},call=issue_refund]]` });
      for (;;) {
        const f = await v.next(undefined, 15000);
        if (f.type === 'tool' && f.status === 'page') v.send({ type: 'tool_result', id: f.id, result: '<img src=x> Refund issued' });
        if (f.type === 'typing_stop') break;
      }
    } finally { await v.close(); }
    const conv = (await admin('GET', '/v1/admin/conversations')).json.conversations
      .find((c) => (c.lastVisitorMessage || '').startsWith('refund?'))?._id;
    assert.ok(conv, 'the conversation listed');
    await openDash(page, stack, `#/conversations/${conv}`, '[data-testid="msg-step"]');
    const steps = await page.$$eval('[data-role="tool"]', (lis) => lis.map((li) => ({
      origin: li.getAttribute('data-origin'),
      kind: li.querySelector('[data-testid="msg-step-kind"]').textContent,
      kindElements: li.querySelector('[data-testid="msg-step-kind"]').children.length,
      name: li.querySelector('[data-testid="msg-step-name"]').textContent,
      answer: li.querySelector('[data-testid="msg-content"]').textContent,
      answerElements: li.querySelector('[data-testid="msg-content"]').children.length,
    })).sort((a, b) => a.name.localeCompare(b.name)));
    assert.deepEqual(steps, [
      { origin: 'page', kind: 'Page tool: ', kindElements: 0, name: 'issue_refund', answer: '<img src=x> Refund issued', answerElements: 0 },
      { origin: 'action', kind: 'Action: ', kindElements: 0, name: 'order_status',
        answer: JSON.stringify({ order: 'S 1', status: 'shipped' }), answerElements: 0 },
    ]);
    await assertClean(page, log, 'steps');
  });

  test('on a phone, no sideways scroll; the cards\' Status badges as wide as their words', async () => {
    const phone = await openPage(browser, PHONE);
    try {
      await dashLogin(stack, phone.ctx);
      for (const [name, route, ready] of [['actions', '#/actions', '[data-testid="action-row"]'],
        ['action', `#/actions/${action.id}`, '[data-testid="header-set"]']]) {
        await openDash(phone.page, stack, route, ready);
        const o = await overflow(phone.page);
        assert.ok(o.scrollWidth <= o.innerWidth, `${name}: no horizontal scroll on a phone: ${JSON.stringify(o)}`);
        await dashShot(phone.page, name);
      }
      await openDash(phone.page, stack, '#/actions', '[data-testid="action-row"]');
      await assertBadgesFit(phone.page, '[data-testid="action-status"]', 'actions on a phone');
      await assertClean(phone.page, phone.log, 'phone');
    } finally { await phone.ctx.close(); }
  });

  test('its url changed: the server clears the headers, and the page says so', async () => {
    const { page, log } = owner;
    await openDash(page, stack, `#/actions/${action.id}`, '[data-testid="header-set"]');
    const moved = shop.url.replace('127.0.0.1', 'localhost');
    await page.fill('#f-url', moved);
    await page.click('[data-testid="save-action"]');
    await saved(page, 'Saved. The headers were cleared: the URL changed. Enter them again to send them there.');
    assert.deepEqual(patches.at(-1), { url: moved }, 'no headers sent');
    const a = (await admin('GET', `/v1/admin/actions/${action.id}`)).json;
    assert.deepEqual([a.url, a.header_names], [moved, []]);
    assert.equal(await page.locator('[data-testid="header-set"]').count(), 0);
    // Another path on the same server too (on a shared host, another
    // tenant's); a change that leaves the url keeps them: a plain "Saved.".
    await page.click('[data-testid="header-add"]');
    await page.fill('[data-testid="header-name"]', 'X-Shop-Key');
    await page.fill('[data-testid="header-value"]', SECRET);
    await page.click('[data-testid="save-action"]');
    await saved(page, 'Saved.');
    await page.fill('#f-description', 'Looks up an order.');
    await page.click('[data-testid="save-action"]');
    await saved(page, 'Saved.');
    assert.deepEqual((await admin('GET', `/v1/admin/actions/${action.id}`)).json.header_names, ['X-Shop-Key']);
    await page.fill('#f-url', moved.replace('/orders/', '/orders/v2/'));
    await page.click('[data-testid="save-action"]');
    await saved(page, 'Saved. The headers were cleared: the URL changed. Enter them again to send them there.');
    assert.deepEqual((await admin('GET', `/v1/admin/actions/${action.id}`)).json.header_names, []);
    await assertClean(page, log, 'moved');
  });

  // requires_verified while the url names no {{visitor.*}} field: saved,
  // and the server's warning shown under the form (on its page's load
  // too), gone once the box is unchecked again.
  test('requires_verified naming no visitor field: saved, and the server\'s warning shown', async () => {
    const { page, log } = owner;
    const warnings = '[data-testid="action-warnings"]';
    await openDash(page, stack, `#/actions/${action.id}`, '[data-testid="delete-action"]');
    assert.equal(await page.isHidden(warnings), true, 'none yet');
    await page.check('#f-requires_verified');
    await page.click('[data-testid="save-action"]');
    await saved(page, 'Saved.');
    const want = (await admin('GET', `/v1/admin/actions/${action.id}`)).json.warnings;
    assert.equal(want.length, 1);
    await page.waitForSelector(`${warnings}:not([hidden])`);
    assert.deepEqual(await page.$$eval(`${warnings} p`, (ps) => ps.map((x) => x.textContent)), want, 'the server\'s text');
    assert.deepEqual(await axeLightDark(page, 'an action with a warning'), []);
    await openDash(page, stack, '#/actions', '[data-testid="action-row"]');
    await openDash(page, stack, `#/actions/${action.id}`, `${warnings}:not([hidden])`);
    await page.uncheck('#f-requires_verified');
    await page.click('[data-testid="save-action"]');
    await saved(page, 'Saved.');
    assert.equal(await page.isHidden(warnings), true, 'gone');
    await assertClean(page, log, 'warned');
  });

  test('delete after the confirmation (Cancel keeps it)', async () => {
    const { page, log } = owner;
    await openDash(page, stack, `#/actions/${action.id}`, '[data-testid="delete-action"]');
    await page.click('[data-testid="delete-action"]');
    await page.click('[data-testid="confirm-cancel"]');
    assert.equal((await admin('GET', `/v1/admin/actions/${action.id}`)).status, 200, 'kept');
    await page.click('[data-testid="delete-action"]');
    assert.match(await page.textContent('[data-testid="confirm-dialog"]'), /order_status/);
    await page.click('[data-testid="confirm-ok"]');
    await page.waitForURL((u) => u.hash === '#/actions');
    assert.equal(await page.textContent('[data-testid="flash"]'), 'Action deleted.');
    assert.equal((await admin('GET', `/v1/admin/actions/${action.id}`)).status, 404);
    await page.waitForSelector('[data-testid="action-empty"]:not([hidden])');
    assert.deepEqual(await axeLightDark(page, 'the actions list, empty'), []);
    await assertClean(page, log, 'delete');
  });
});
