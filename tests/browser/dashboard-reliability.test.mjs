// The dashboard's thread when things go wrong around it, in headless
// Chromium against one Parley with the mock model: a reply sent by
// Ctrl+Enter twice during a slow send (stored once); a conversation
// deleted elsewhere while open (the thread says so and the dock is shut,
// from the stream's event or from the send's 404); a reply being typed
// when the session ends (kept for the same person, never shown to
// another); a colleague taking over, seen by polling (the notice names
// them); and an agent (no Delete or Export, which the server refuses; the
// admins' and owners' pages typed by hand say they are not allowed).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, SUITE_TIMEOUT, adminApi, dashLogin, openDash, openPage, pollingNow, refuseStream, startSuite, stopSuite,
  atLoginPage,
} from './lib/browser.mjs';
import { Visitor } from '../integration/lib/wsclient.mjs';
import { login } from '../integration/lib/dashboard.mjs';
import { addMember } from '../integration/lib/people.mjs';

const WAIT = { timeout: 10000 };

describe('the dashboard thread when things go wrong, in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let w;
  let session; // the owner's, shared by the tests that never log out
  const visitors = [];
  const admin = (method, p, body) => adminApi(stack, method, p, body);

  // A new conversation (one visitor turn), by its id.
  async function conv(text) {
    const v = await Visitor.open(stack.parley, w.widget_id);
    visitors.push(v);
    await v.next('session');
    await v.turn(text);
    const list = await admin('GET', `/v1/admin/conversations?widget=${encodeURIComponent(w.id)}&limit=50`);
    const c = list.json.conversations.find((x) => x.lastVisitorMessage === text);
    assert.ok(c, list.text);
    return c._id;
  }

  // The thread of id opened by session's person and taken over, the reply box shown.
  async function takeOver(page, id) {
    await openDash(page, stack, `#/conversations/${id}`, '[data-testid="take-over"]');
    await page.click('[data-testid="take-over"]');
    await page.waitForSelector('[data-testid="reply-form"]:not([hidden])', WAIT);
  }

  // Whether the thread's controls can still be used.
  function dockState(page) {
    return page.evaluate(() => {
      const q = (t) => document.querySelector(`[data-testid="${t}"]`);
      return {
        note: q('poll-status').textContent,
        input: !q('reply-input').disabled,
        send: !q('reply-send').disabled,
        takeOver: !q('take-over').disabled,
        handBack: !q('hand-back').disabled,
        del: !q('delete-conv').disabled,
      };
    });
  }
  const SHUT = { note: 'This conversation has been deleted.', input: false, send: false, takeOver: false, handBack: false, del: false };

  // The next poll, at once (after pollingNow: its interval is set).
  const nextPoll = (page) => page.clock.fastForward(2000);

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 2 }, env: { DASHBOARD_PASSWORD } }));
    const r = await admin('POST', '/v1/admin/widgets', { name: 'Reliability shop', allowed_origins: [], handoff_enabled: true });
    assert.equal(r.status, 201, r.text);
    w = r.json;
    session = await login(stack.parley);
  });
  after(async () => {
    for (const v of visitors) await v.close().catch(() => {});
    await stopSuite({ stack, browser });
  });

  test('Ctrl+Enter pressed again while the reply is being sent: the reply is stored once', async () => {
    const id = await conv('double send please');
    const { ctx, page } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      // a slow network: the reply's POST takes 1.5 s (each one's end, in posts)
      const posts = [];
      await page.route(/\/v1\/admin\/conversations\/[^/]+\/messages$/, (route) => {
        const slow = route.request().method() === 'POST';
        const done = (async () => {
          if (slow) await new Promise((r) => setTimeout(r, 1500));
          await route.continue();
        })();
        if (slow) posts.push(done);
      });
      await takeOver(page, id);
      await page.fill('[data-testid="reply-input"]', 'only once');
      await page.keyboard.press('Control+Enter');
      await page.waitForFunction(() => document.querySelector('[data-testid="reply-status"]').textContent === 'Sending…', null, WAIT);
      await page.keyboard.press('Control+Enter');
      await page.waitForFunction(() => document.querySelector('[data-testid="reply-status"]').textContent === 'Sent.', null, WAIT);
      // a second POST, had there been one, made at the second press: its end awaited
      await Promise.all(posts);
      assert.equal(posts.length, 1, 'one POST');
      const msgs = (await admin('GET', `/v1/admin/conversations/${id}`)).json.messages;
      assert.equal(msgs.filter((m) => m.role === 'agent' && m.content === 'only once').length, 1, 'the reply stored once');
      assert.equal(await page.inputValue('[data-testid="reply-input"]'), '', 'the box emptied once sent');
    } finally { await ctx.close(); }
  });

  test('a conversation deleted elsewhere while open, the stream live: the thread says so and shuts its dock', async () => {
    const id = await conv('delete me while open');
    const { ctx, page } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openDash(page, stack, `#/conversations/${id}`, '[data-testid="take-over"]');
      await page.waitForFunction(() => document.documentElement.dataset.live === 'live', null, WAIT);
      await page.click('[data-testid="take-over"]');
      await page.waitForSelector('[data-testid="reply-form"]:not([hidden])', WAIT);
      assert.equal((await admin('DELETE', `/v1/admin/conversations/${id}`)).status, 204);
      // the list drops its row: the event came
      await page.waitForFunction((x) => !document.querySelector(`[data-testid="conv-row"][data-id="${x}"]`), id, WAIT);
      await page.waitForFunction(() => /deleted/.test(document.querySelector('[data-testid="poll-status"]').textContent), null, WAIT)
        .catch(() => {});
      assert.deepEqual(await dockState(page), SHUT);
    } finally { await ctx.close(); }
  });

  test('a conversation deleted elsewhere with no event to say so: the send\'s 404 says it and shuts the dock', async () => {
    const id = await conv('deleted under my reply');
    const { ctx, page } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      // the stream never answers: no event, and no polling either
      await page.route(/\/v1\/admin\/events/, () => {});
      await takeOver(page, id);
      assert.equal((await admin('DELETE', `/v1/admin/conversations/${id}`)).status, 204);
      await page.fill('[data-testid="reply-input"]', 'hello?');
      await page.click('[data-testid="reply-send"]');
      await page.waitForFunction(() => /^Not sent/.test(document.querySelector('[data-testid="reply-status"]').textContent), null, WAIT);
      assert.match(await page.textContent('[data-testid="reply-status"]'), /deleted/);
      assert.deepEqual(await dockState(page), SHUT);
      assert.equal(await page.inputValue('[data-testid="reply-input"]'), 'hello?', 'the text kept to copy');
    } finally { await ctx.close(); }
  });

  test('the session ends while a reply is typed: the reply is back after signing in again, not for another person in the tab', async () => {
    const id = await conv('session ends while typing');
    const mine = await login(stack.parley);
    const typed = 'a long careful answer to the visitor';
    const { ctx, page } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, mine);
      await takeOver(page, id);
      await page.fill('[data-testid="reply-input"]', typed);
      // the session ends (expiry, or logged out elsewhere): nothing clicked,
      // the event stream's drop checks the session, whose 401 leaves the page
      assert.equal((await mine.request('POST', '/dashboard/api/logout')).status, 204);
      await atLoginPage(page, WAIT);
      await ctx.clearCookies();
      const again = await login(stack.parley);
      await dashLogin(stack, ctx, again);
      await openDash(page, stack, `#/conversations/${id}`, '[data-testid="reply-form"]:not([hidden])');
      assert.equal(await page.inputValue('[data-testid="reply-input"]'), typed, 'the typed reply is kept');

      // another person signs in in the same tab: the draft is not theirs
      const other = await addMember(stack.parley, { role: 'agent', name: 'Olga Other' });
      await ctx.clearCookies();
      await dashLogin(stack, ctx, other.session);
      await page.goto('about:blank'); // the same URL again would only be a hash change
      await openDash(page, stack, `#/conversations/${id}`, '[data-testid="reply-input"]');
      assert.equal(await page.inputValue('[data-testid="reply-input"]'), '', 'another person does not see the draft');

      // back to the owner: sent, the draft is gone (a reload shows an empty box)
      await ctx.clearCookies();
      await dashLogin(stack, ctx, again);
      await page.goto('about:blank');
      await openDash(page, stack, `#/conversations/${id}`, '[data-testid="reply-input"]');
      await page.waitForFunction((t) => document.querySelector('[data-testid="reply-input"]').value === t, typed, WAIT);
      await page.click('[data-testid="reply-send"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="reply-status"]').textContent === 'Sent.', null, WAIT);
      await page.reload();
      await page.waitForSelector('[data-testid="reply-input"]', WAIT);
      assert.equal(await page.inputValue('[data-testid="reply-input"]'), '', 'a sent reply is no draft');

      // Log out clicked: the next person to sign in in this tab starts afresh
      await page.fill('[data-testid="reply-input"]', 'left behind');
      await page.click('#logout');
      await atLoginPage(page, WAIT);
      assert.equal(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('parley.draft.')).length), 0,
        'no draft kept after Log out');
    } finally { await ctx.close(); }
  });

  // A message that reached the page late (a poll, while this tab's own
  // reply was shown at once) was put last, after the reply written after it.
  test('stream down (polling): a message written elsewhere just before my reply is shown before it', async () => {
    const id = await conv('order please');
    const { ctx, page } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await refuseStream(page);
      await takeOver(page, id);
      await pollingNow(page);
      assert.equal((await session.request('POST', `/v1/admin/conversations/${id}/messages`, { body: { content: 'X from elsewhere' } })).status, 201);
      await page.fill('[data-testid="reply-input"]', 'Y from this tab');
      await page.keyboard.press('Control+Enter');
      await page.waitForFunction(() => document.querySelector('[data-testid="reply-status"]').textContent === 'Sent.', null, WAIT);
      await nextPoll(page);
      const texts = () => page.$$eval('[data-testid="thread-message"] [data-testid="msg-content"]', (e) => e.map((x) => x.textContent));
      await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="msg-content"]')].some((x) => x.textContent === 'X from elsewhere'), null, WAIT);
      const t = await texts();
      assert.ok(t.indexOf('X from elsewhere') < t.indexOf('Y from this tab'), JSON.stringify(t));
      assert.deepEqual((await admin('GET', `/v1/admin/conversations/${id}`)).json.messages.slice(-2).map((m) => m.content),
        ['X from elsewhere', 'Y from this tab'], 'the server\'s order');
    } finally { await ctx.close(); }
  });

  // The list read nothing while the stream was down: only the thread polled.
  test('stream down (polling): the list shows a new conversation at a poll', async () => {
    const { ctx, page } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await refuseStream(page);
      await openDash(page, stack, '#/conversations', '[data-testid="conv-list"]');
      await pollingNow(page);
      const id = await conv('a new one while polling');
      await nextPoll(page);
      await page.waitForSelector(`[data-testid="conv-row"][data-id="${id}"]`, WAIT);
    } finally { await ctx.close(); }
  });

  test('stream down (polling): a colleague takes over between two polls after my hand-back elsewhere: the notice names them', async () => {
    const id = await conv('stale notice please');
    const colleague = await addMember(stack.parley, { role: 'agent', name: 'Cleo Colleague' });
    const { ctx, page } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await refuseStream(page);
      await openDash(page, stack, `#/conversations/${id}`, '[data-testid="take-over"]');
      await pollingNow(page);
      await takeOver(page, id);
      assert.equal(await page.textContent('[data-testid="handoff-state"]'), 'You are answering');
      // the polls fail while both changes are made: the next one sees both at once
      const threadGet = new RegExp(`/v1/admin/conversations/${id}$`);
      await page.route(threadGet, (route) => (route.request().method() === 'GET' ? route.abort() : route.continue()));
      assert.equal((await session.request('POST', `/v1/admin/conversations/${id}/handoff`, { body: { state: 'ai' } })).status, 200);
      const r = await colleague.session.request('POST', `/v1/admin/conversations/${id}/handoff`, { body: { state: 'human' } });
      assert.equal(r.status, 200, r.text);
      await page.unroute(threadGet);
      await nextPoll(page);
      await page.waitForFunction(() => document.querySelector('[data-testid="handoff-state"]').textContent === 'Cleo Colleague is answering', null, WAIT)
        .catch(() => {});
      assert.equal(await page.textContent('[data-testid="handoff-state"]'), 'Cleo Colleague is answering');
    } finally { await ctx.close(); }
  });

  test('an agent: no Delete or Export (the server refuses them); the admins\' and owners\' pages typed in say not allowed', async () => {
    const id = await conv('agent role probe');
    const m = await addMember(stack.parley, { role: 'agent', name: 'Andy Agent' });
    const { ctx, page } = await openPage(browser);
    try {
      // what the server refuses an agent
      assert.equal((await m.session.request('DELETE', `/v1/admin/conversations/${id}`)).status, 403);
      assert.equal((await m.session.request('GET', `/v1/admin/export?format=csv&rows=messages&conversation=${id}`)).status, 403);
      await dashLogin(stack, ctx, m.session);
      await openDash(page, stack, `#/conversations/${id}`, '[data-testid="take-over"]');
      await page.waitForSelector('[data-testid="conv-row"]', WAIT);
      const shown = await page.evaluate(() => ['delete-conv', 'export-thread-csv', 'export-thread-jsonl', 'export-menu']
        .filter((t) => { const e = document.querySelector(`[data-testid="${t}"]`); return e && e.getClientRects().length > 0; }));
      assert.deepEqual(shown, [], 'an agent is offered no control the server refuses them');
      for (const route of ['#/widgets', '#/widgets/new', '#/agents', '#/agents/new', '#/webhooks', '#/users', '#/api-keys', '#/audit', '#/reports']) {
        await openDash(page, stack, route, 'h1');
        await page.waitForSelector('[data-testid="not-allowed"]', { timeout: 5000 }).catch(() => {});
        const st = await page.evaluate(() => ({
          h1: document.querySelector('main h1').textContent,
          forms: document.querySelectorAll('main form').length,
        }));
        assert.deepEqual(st, { h1: 'Not allowed', forms: 0 }, route);
      }
      // what an agent may open still opens
      await openDash(page, stack, '#/contacts', 'h1');
      assert.notEqual(await page.textContent('main h1'), 'Not allowed');
    } finally { await ctx.close(); }
  });

  test('an owner still has Delete and Export', async () => {
    const id = await conv('owner role probe');
    const { ctx, page } = await openPage(browser);
    try {
      await dashLogin(stack, ctx, session);
      await openDash(page, stack, `#/conversations/${id}`, '[data-testid="take-over"]');
      await page.waitForSelector('[data-testid="conv-row"]', WAIT);
      for (const t of ['delete-conv', 'export-thread-csv', 'export-thread-jsonl', 'export-menu']) {
        assert.ok(await page.isVisible(`[data-testid="${t}"]`), t);
      }
      await openDash(page, stack, '#/widgets', 'h1');
      assert.notEqual(await page.textContent('main h1'), 'Not allowed');
    } finally { await ctx.close(); }
  });
});
