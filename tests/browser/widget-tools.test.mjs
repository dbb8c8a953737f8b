// The widget's tools part, in headless Chromium against the real daemons
// and the mock model (which calls a tool when the visitor's message holds
// [[mock:call=NAME,args=…]]), with an owner's API of the test's own on
// loopback (PARLEY_ACTIONS_ALLOW_PRIVATE=on): the default widget's agent
// has an action that changes data (cancel_order: POST, changes_data) and
// a slow one. A call of cancel_order shows a card with the summary and
// "Yes, do it" / "No" (screenshot, axe-core light and dark): yes runs it
// (the API gets POST /orders/4411/cancel, the reply has its answer); no,
// chosen by keyboard, never reaches the API and the assistant hears so;
// one nobody answers ends when the server stops waiting (the test build's
// PARLEY_TEST_CONFIRM_MS), while the reply is still being written, and so
// does a contact form the assistant asked for and nobody filled: both on
// a second stack of their own whose wait is short (the one the tests
// answer is long), so the file does not sit out the long one twice.
// The page's own tools (ParleyChat.registerTools): a handler runs in the
// page and its answer (a string, JSON for an object, the message of what
// it threw) is the assistant's; offered again on a new socket. A slow
// action shows "Looking up…" in the reply while it runs. An agent that
// may ask for contact details: the widget's contact form shows with the
// assistant's reason (screenshot, axe-core), is saved, and the reply goes
// on with the assistant told so. No page error, console error or CSP
// violation throughout.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  SCREENSHOTS, SUITE_TIMEOUT, adminApi, assertClean, axeLightDark, focused, openPage, part, pngSize, sendByKeyboard,
  startStack, startSuite, stopSuite, waitFor, waitReady, waitReplyEnd,
} from './lib/browser.mjs';

const R = '#parley-chat-widget';
const CONFIRM_MS = 20000;
// The second stack's wait, for the cards and forms nobody answers: long
// enough for a test to see one asking (a page poll away) on a loaded machine.
const EXPIRE_MS = 4000;
// The mock model's marker: call name with args (JSON, percent-encoded, commas too).
const call = (name, args) => `[[mock:call=${name},args=${encodeURIComponent(JSON.stringify(args)).replace(/,/g, '%2C')}]]`;

describe('the widget\'s tools part: confirmations, the page\'s own tools, "Looking up…"', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let quick; // the second stack, whose wait for an answer is EXPIRE_MS
  let browser;
  let api;
  let v; // {ctx, page, log}: one page, the tests build on each other
  const seen = []; // what the owner's API received: [method, url]
  const sockets = []; // each of v's page's sockets: the frames it sent, parsed
  const t0 = Date.now();

  async function admin(method, p, body, stk = stack) {
    const r = await adminApi(stk, method, p, body);
    assert.ok(r.status < 300, `${method} ${p}: ${r.status} ${r.text}`);
    return r.json;
  }

  // Records into socks the frames each of page's sockets sends, parsed.
  function watchSockets(page, socks) {
    page.on('websocket', (ws) => {
      const sent = [];
      socks.push(sent);
      ws.on('framesent', (e) => { try { sent.push(JSON.parse(e.payload)); } catch { /* not JSON */ } });
    });
  }

  // stk's default widget given an agent with the owner's actions at base:
  // its public id.
  async function shop(stk, base) {
    const schema = { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] };
    const cancel = await admin('POST', '/v1/admin/actions', { name: 'cancel_order', description: 'Cancels an order',
      method: 'POST', url: `${base}/orders/{{order_id}}/cancel`, changes_data: true, parameters: schema }, stk);
    const slow = await admin('POST', '/v1/admin/actions', { name: 'order_status', description: 'An order\'s status',
      url: `${base}/slow/{{order_id}}`, timeout_ms: 5000, parameters: schema }, stk);
    const agent = await admin('POST', '/v1/admin/agents', { name: 'Shop', action_ids: [cancel.id, slow.id] }, stk);
    const dw = (await admin('GET', '/v1/admin/widgets', undefined, stk)).widgets[0];
    await admin('PATCH', `/v1/admin/widgets/${dw.widget_id}`, { agent_id: agent.id, allowed_origins: [] }, stk);
    return dw.widget_id;
  }

  // A new page of stk's widget wid, its panel open, its sockets recorded in socks.
  async function openShop(stk, wid, socks) {
    const c = await openPage(browser);
    watchSockets(c.page, socks);
    await c.page.goto(stk.host.widgetEmbedUrl(wid));
    await waitReady(c.page);
    await c.page.click(part('launcher'));
    return c;
  }

  before(async () => {
    // The owner's API: /orders/ID/cancel answers at once, /slow/ID after 1.5 s.
    api = http.createServer((req, res) => {
      seen.push([req.method, req.url]);
      const id = decodeURIComponent(req.url.split('/')[2] || '');
      const answer = () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ order_id: id, status: req.url.endsWith('/cancel') ? 'cancelled' : 'shipped' }));
      };
      if (req.url.startsWith('/slow/')) setTimeout(answer, 1500);
      else answer();
    });
    await new Promise((resolve) => api.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${api.address().port}`;
    const opts = (confirmMs) => ({
      mock: { chunks: 2, delayMs: 10 },
      env: { PARLEY_ACTIONS_ALLOW_PRIVATE: 'on', RATE_LIMIT_MAX_REQUESTS: '0', PARLEY_TEST_CONFIRM_MS: String(confirmMs) },
    });
    // The test build's wait for a confirmation (120 s in a release):
    // long enough for every card the tests answer, screenshot and axe
    // scans before the click included, on a loaded machine. The second
    // stack started beside it (each mostly waits on its processes).
    const [main, second] = await Promise.allSettled([startSuite(opts(CONFIRM_MS)), startStack(opts(EXPIRE_MS))]);
    if (main.status === 'fulfilled') ({ stack, browser } = main.value);
    if (second.status === 'fulfilled') quick = second.value;
    if (main.status === 'rejected') throw main.reason;
    if (second.status === 'rejected') throw second.reason;
    v = await openShop(stack, await shop(stack, base), sockets);
  });
  after(async () => {
    if (v) await v.ctx.close();
    try {
      await stopSuite({ stack, browser });
    } finally {
      await stopSuite({ stack: quick });
    }
    if (api) {
      api.closeAllConnections();
      await new Promise((resolve) => api.close(resolve));
    }
    console.log(`# widget-tools.test.mjs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  // The newest confirmation card of page (v's): {state, summary (its lines), yes, no (disabled?), answer}.
  const card = (page = v.page) => page.evaluate((r) => {
    const all = document.querySelector(r).shadowRoot.querySelectorAll('[data-part="confirm"]');
    const c = all[all.length - 1];
    if (!c) return null;
    const b = (p) => c.querySelector(`[data-part="${p}"]`);
    return {
      count: all.length,
      state: c.getAttribute('data-state'),
      summary: [...b('confirm-summary').children].map((p) => p.textContent),
      label: c.getAttribute('role') + ' ' + document.querySelector(r).shadowRoot.getElementById(c.getAttribute('aria-labelledby')).textContent,
      yes: [b('confirm-yes').textContent, b('confirm-yes').disabled],
      no: [b('confirm-no').textContent, b('confirm-no').disabled],
      answer: b('confirm-answer') && b('confirm-answer').textContent,
      before: c.nextElementSibling && c.nextElementSibling.getAttribute('data-role'),
    };
  }, R);

  // The frames of type sent on every socket of socks (v's page's) so far.
  const sentOf = (type, socks = sockets) => socks.flat().filter((f) => f.type === type);

  // A card of page (v's) newer than the count-th, asking.
  async function cardAsking(count, page = v.page) {
    await waitFor(async () => { const c = await card(page); return c && c.count > count && c.state === 'asking'; }, 15000, 'the confirmation card');
    return card(page);
  }

  test('yes: the card with the summary, then the action runs and the reply has its answer', async () => {
    const { page } = v;
    seen.length = 0;
    await sendByKeyboard(page, `please cancel order 4411 ${call('cancel_order', { order_id: '4411' })}`);
    const c = await cardAsking(0);
    assert.deepEqual(c.summary, ['Cancels an order', 'order_id: 4411'], 'the summary\'s lines, as text');
    assert.equal(c.label, 'group Cancels an orderorder_id: 4411', 'a group named by its summary');
    assert.deepEqual(c.yes, ['Yes, do it', false]);
    assert.deepEqual(c.no, ['No', false]);
    assert.equal(c.before, 'assistant', 'before the reply being written');
    assert.deepEqual(seen, [], 'nothing runs before the visitor says yes');

    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const shot = path.join(SCREENSHOTS, 'widget-tools-confirm.png');
    fs.rmSync(shot, { force: true });
    await page.locator(part('confirm')).screenshot({ path: shot });
    assert.ok(fs.statSync(shot).size > 0, 'the card\'s screenshot');
    const { width, height } = pngSize(shot);
    assert.ok(width > 100 && height > 40, `the card's screenshot is ${width}x${height}`);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'widget-tools-panel.png') });
    assert.deepEqual(await axeLightDark(page, 'the panel with a confirmation card'), []);

    await page.click(part('confirm-yes'));
    const reply = await waitReplyEnd(page);
    assert.equal(reply.state, 'done');
    assert.match(reply.text, /^The tools said: \{"order_id":"4411","status":"cancelled"\}/);
    assert.deepEqual(seen, [['POST', '/orders/4411/cancel']]);
    const after = await card();
    assert.equal(after.state, 'yes');
    assert.deepEqual([after.yes[1], after.no[1]], [true, true], 'both buttons disabled once answered');
    assert.equal(after.answer, 'Your answer: Yes, do it');
    // a second click changes nothing: one answer sent
    await page.locator(part('confirm-yes')).click({ force: true });
    assert.equal((await card()).state, 'yes');
    await page.waitForTimeout(100); // (a second frame would be seen by now)
    const answers = sentOf('confirm');
    assert.equal(answers.length, 1, JSON.stringify(answers));
    assert.equal(answers[0].ok, true);
    assert.equal(answers[0].id, await page.getAttribute(part('confirm'), 'data-id'));
  });

  test('no, by keyboard: the API never called; the assistant hears the visitor said no', async () => {
    const { page } = v;
    seen.length = 0;
    await sendByKeyboard(page, `cancel 77 too ${call('cancel_order', { order_id: '77' })}`);
    const c = await cardAsking(1);
    assert.deepEqual(c.summary, ['Cancels an order', 'order_id: 77']);
    // from the text area, Shift+Tab reaches the card's buttons: No, then Yes
    await page.focus(part('input'));
    await page.keyboard.press('Shift+Tab');
    assert.equal(await focused(page), 'confirm-no');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await focused(page), 'confirm-yes');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    const reply = await waitReplyEnd(page);
    assert.equal(reply.text, 'The tools said: error: the visitor said no; it was not done');
    const after = await card();
    assert.equal(after.state, 'no');
    assert.equal(after.answer, 'Your answer: No');
    assert.equal(await focused(page), 'input', 'the focus back in the text area');
    assert.deepEqual(seen, [], 'no: the API is never called');
    assert.deepEqual(sentOf('confirm').map((f) => f.ok), [true, false]);
    await assertClean(page, v.log, 'confirmations');
  });

  test('a card nobody answers: ended when the server stops waiting, while the reply is still being written', async () => {
    // A page of its own on the second stack (its wait EXPIRE_MS): v's page goes on below.
    const qs = []; // its sockets' frames
    const q = await openShop(quick, await shop(quick, `http://127.0.0.1:${api.address().port}`), qs);
    try {
      const { page } = q;
      seen.length = 0;
      // Each card's end, and whether the reply was still being written then.
      await page.evaluate((r) => {
        const root = document.querySelector(r).shadowRoot;
        window.__ended = [];
        new MutationObserver((ms) => {
          for (const m of ms) {
            if (m.target.getAttribute('data-part') !== 'confirm' || m.target.getAttribute('data-state') !== 'expired') continue;
            window.__ended.push({ id: m.target.getAttribute('data-id'), writing: !!root.querySelector('[data-part="message"][aria-busy]') });
          }
        }).observe(root, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
      }, R);
      await sendByKeyboard(page, `cancel 12 ${call('cancel_order', { order_id: '12' })}`);
      const asked = await cardAsking(0, page);
      const id = await page.evaluate((r) => [...document.querySelector(r).shadowRoot.querySelectorAll('[data-part="confirm"]')].pop().getAttribute('data-id'), R);
      await page.waitForFunction(() => window.__ended.length > 0, null, { timeout: EXPIRE_MS + 15000 });
      // Ended by the call's failed step (its id), before the reply's end:
      // before, only the reply's end did.
      assert.deepEqual(await page.evaluate(() => window.__ended), [{ id, writing: true }]);
      const c = await card(page);
      assert.equal(c.state, 'expired');
      assert.deepEqual([c.yes[1], c.no[1]], [true, true], 'its buttons disabled');
      assert.deepEqual(asked.summary, ['Cancels an order', 'order_id: 12']);
      const reply = await waitReplyEnd(page);
      assert.equal(reply.text, 'The tools said: error: the visitor did not confirm in time; it was not done');
      assert.deepEqual(seen, [], 'the API is never called');
      assert.ok(!sentOf('confirm', qs).some((f) => f.id === id), 'nothing sent for it');
      await assertClean(page, q.log, 'a confirmation not answered');
    } finally {
      await q.ctx.close();
    }
  });

  test('the page\'s own tools: run in the page, their answer the assistant\'s; offered again on a new socket', async () => {
    const { page } = v;
    const ok = await page.evaluate(() => window.ParleyChat.registerTools({
      cart_total: {
        description: 'The cart',
        parameters: { type: 'object', properties: {} },
        handler: (args) => {
          window.__called = true;
          window.__args = args;
          return '3 items';
        },
      },
      cart_items: {
        description: 'What the cart holds',
        handler: async () => ({ items: [{ sku: 'A-1', n: 2 }] }),
      },
      cart_fail: {
        description: 'A tool that fails',
        handler: () => { throw new Error('not signed in'); },
      },
    }));
    assert.equal(ok, true);
    const names = ['cart_total', 'cart_items', 'cart_fail'];
    const offered = (sent) => sent.filter((f) => f.type === 'tools').map((f) => f.tools.map((x) => x.name));
    await waitFor(() => offered(sockets[sockets.length - 1]).length > 0, 5000, 'the tools offered at once on the open socket');
    assert.deepEqual(offered(sockets[sockets.length - 1]), [names]);
    assert.deepEqual(sentOf('tools')[0].tools[1], { name: 'cart_items', description: 'What the cart holds',
      parameters: { type: 'object', properties: {} } }, 'no parameters: an empty object schema');
    // refused in the page (the console says why), the ones offered kept
    const bad = await page.evaluate(() => window.ParleyChat.registerTools({ 'bad name': { description: 'x', handler: () => 1 } }));
    assert.equal(bad, false);
    assert.ok(v.log.console.some((m) => m.type === 'warning' && /registerTools: bad name/.test(m.text)));

    await sendByKeyboard(page, `what is in my cart? ${call('cart_total', {})}`);
    assert.equal((await waitReplyEnd(page)).text, 'The tools said: 3 items');
    assert.deepEqual(await page.evaluate(() => [window.__called, window.__args]), [true, {}], 'the handler ran in the page');
    await sendByKeyboard(page, `and the items? ${call('cart_items', {})}`);
    assert.equal((await waitReplyEnd(page)).text, 'The tools said: {"items":[{"sku":"A-1","n":2}]}');
    await sendByKeyboard(page, `and now? ${call('cart_fail', {})}`);
    assert.equal((await waitReplyEnd(page)).text, 'The tools said: error: not signed in');

    // a new session, a new socket: the page's tools offered again
    const before = sockets.length;
    await page.evaluate(() => { window.__called = false; window.ParleyChat.reset(); });
    await waitFor(() => sockets.length > before && offered(sockets[sockets.length - 1]).length > 0, 10000, 'the tools offered on the new socket');
    const fresh = sockets[sockets.length - 1];
    assert.deepEqual(offered(fresh), [names]);
    assert.ok(fresh.findIndex((f) => f.type === 'visitor') < fresh.findIndex((f) => f.type === 'tools'), 'after the socket\'s visitor frame');
    await sendByKeyboard(page, `my cart again ${call('cart_total', {})}`);
    assert.equal((await waitReplyEnd(page)).text, 'The tools said: 3 items');
    assert.equal(await page.evaluate(() => window.__called), true);
    await assertClean(page, v.log, 'page tools');
  });

  // Prototype.js sets Array.prototype.toJSON, which writes an array as a
  // string: JSON.stringify made the page's tools frame {"tools":"[…]"},
  // refused. Its arrays go as arrays, a handler's answer as JSON's, and
  // the page keeps its toJSON.
  test('a page whose Array.prototype.toJSON writes a string (Prototype.js): its tools still go as arrays', async () => {
    const { page } = v;
    const before = sentOf('tools').length;
    const ok = await page.evaluate(() => {
      window.__toJSON = function () { return '[' + this.join(', ') + ']'; };
      Array.prototype.toJSON = window.__toJSON;
      return window.ParleyChat.registerTools({
        stock: {
          description: 'What is left of a size',
          parameters: { type: 'object', properties: { size: { type: 'string', enum: ['S', 'M'] } }, required: ['size'] },
          handler: () => ({ left: ['S-1', 'M-2'] }),
        },
      });
    });
    try {
      assert.equal(ok, true);
      await waitFor(() => sentOf('tools').length > before, 5000, 'the tools offered');
      const offered = sentOf('tools').pop();
      assert.ok(Array.isArray(offered.tools), `tools: ${JSON.stringify(offered.tools)}`);
      assert.deepEqual(offered.tools[0].parameters.required, ['size']);
      assert.deepEqual(offered.tools[0].parameters.properties.size.enum, ['S', 'M']);
      await sendByKeyboard(page, `in stock? ${call('stock', { size: 'S' })}`);
      assert.equal((await waitReplyEnd(page)).text, 'The tools said: {"left":["S-1","M-2"]}');
      assert.equal(await page.evaluate(() => Array.prototype.toJSON === window.__toJSON), true, 'the page keeps its own');
    } finally {
      await page.evaluate(() => { delete Array.prototype.toJSON; });
    }
    await assertClean(page, v.log, 'a page with Prototype.js');
  });

  test('a slow action: "Looking up…" in the reply while it runs, gone after', async () => {
    const { page } = v;
    seen.length = 0;
    await sendByKeyboard(page, `where is order 9? ${call('order_status', { order_id: '9' })}`);
    await page.waitForSelector(`${part('message')}[aria-busy] [data-part="tool-status"]`, { timeout: 10000 });
    assert.equal(await page.textContent(part('tool-status')), 'Looking up…');
    const reply = await waitReplyEnd(page);
    assert.match(reply.text, /^The tools said: \{"order_id":"9","status":"shipped"\}/);
    assert.equal(await page.locator(part('tool-status')).count(), 0, 'the status line gone with the call');
    assert.deepEqual(seen, [['GET', '/slow/9']]);
    await assertClean(page, v.log, 'looking up');
  });

  // A new page of a widget whose agent may ask for contact details (each
  // page a new session: one that has not left them), the assistant's
  // form asked for with reason and shown.
  async function contactAsked(reason, stk = stack) {
    const agent = await admin('POST', '/v1/admin/agents', { name: 'Follow-up', contact_form_tool: true }, stk);
    const w = await admin('POST', '/v1/admin/widgets', { name: 'Asks', agent_id: agent.id, allowed_origins: [],
      contact_info_mode: 'optional', collect_name: true, collect_email: true }, stk);
    const c = await openPage(browser);
    const { page } = c;
    await page.goto(stk.host.widgetEmbedUrl(w.widget_id));
    await waitReady(page);
    await page.click(part('launcher'));
    // the optional form shows at first; writing skips it
    await page.waitForSelector(part('contact'));
    await sendByKeyboard(page, `a quote please ${call('collect_contact', { reason })}`);
    await page.waitForSelector(`${part('contact')} >> text=${reason}`, { timeout: 15000 });
    return c;
  }

  test('the assistant asks for contact details: the widget\'s form with its reason, saved, the reply goes on', async () => {
    const c = await contactAsked('So the team can email you the quote.');
    try {
      const { page } = c;
      const form = part('contact');
      assert.equal(await page.locator(`${part('message')}[data-role="assistant"][aria-busy]`).count(), 1,
        'the reply waits for the form');
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'widget-tools-contact.png') });
      assert.deepEqual(await axeLightDark(page, 'the contact form the assistant asked for'), []);
      assert.equal(await page.textContent(`${form} [data-part="save"]`), 'Send');
      assert.equal(await page.locator(`${form} [data-part="skip"]`).count(), 1, 'it may be skipped');
      await page.fill(`${form} input[name="name"]`, 'Bo');
      await page.fill(`${form} input[name="email"]`, 'bo@example.com');
      await page.click(`${form} [data-part="save"]`);
      const reply = await waitReplyEnd(page);
      assert.equal(reply.text, 'The tools said: The visitor\'s contact details were saved: the team can reach them now. Thank them.');
      assert.equal(await page.locator(form).count(), 0, 'the form gone once saved');
      const contacts = (await admin('GET', '/v1/admin/contacts')).contacts;
      assert.ok(contacts.some((x) => x.email === 'bo@example.com' && x.name === 'Bo'), JSON.stringify(contacts));
      await assertClean(page, c.log, 'contact form');
    } finally {
      await c.ctx.close();
    }
  });

  test('a contact form nobody fills: gone when the server stops waiting, while the reply is still being written', async () => {
    const c = await contactAsked('So the team can call you back.', quick); // the short wait
    try {
      const { page } = c;
      // The form's end, and whether the reply was still being written then.
      await page.evaluate((r) => {
        const root = document.querySelector(r).shadowRoot;
        window.__gone = [];
        new MutationObserver((ms) => {
          for (const m of ms) {
            for (const n of m.removedNodes) {
              if (n.nodeType === 1 && n.getAttribute('data-part') === 'contact') window.__gone.push(!!root.querySelector('[data-part="message"][aria-busy]'));
            }
          }
        }).observe(root, { subtree: true, childList: true });
      }, R);
      await page.waitForFunction(() => window.__gone.length > 0, null, { timeout: EXPIRE_MS + 15000 });
      assert.deepEqual(await page.evaluate(() => window.__gone), [true], 'gone before the reply ended (before: at its end)');
      const reply = await waitReplyEnd(page);
      assert.equal(reply.text, 'The tools said: error: the visitor did not fill in the form in time; go on without their details');
      assert.equal(await page.locator(part('contact')).count(), 0);
      await assertClean(page, c.log, 'a contact form not filled');
    } finally {
      await c.ctx.close();
    }
  });
});
