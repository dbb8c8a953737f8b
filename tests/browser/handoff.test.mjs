// Human handoff and agents in headless Chromium, the dashboard and the
// widget in two pages of one Parley (issue 15): the visitor asks for a
// person → the dashboard's list shows the badge and the title its count,
// without a reload (the /v1/admin/events stream) → the owner takes over
// ("Support joined" in the widget: the account's display name, not one typed
// in the page, also after a reload), types (the widget shows it) and
// replies (the reply appears in the widget with the owner's name) → the
// visitor's next message gets no model call → hand back ("The assistant is
// back"; that message, unanswered, answered at once) → the model answers,
// the owner's reply in its context. Then the
// agents page: an agent created in the form (its API key write-only),
// picked in a widget's form, and refused deletion while in use (409 naming
// the widget). Feedback (issue 26): handed back, the widget offers the
// rating form; a thumb on the answer and a rating are stored, in the
// export and in the dashboard's thread. axe-core in light and dark on the
// new views; phone-sized screenshots.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, PHONE, SCREENSHOTS, SUITE_TIMEOUT, adminApi, assertClean, axeLightDark, axeSerious, dashLogin, dashShot,
  focused, openDash, openPage, overflow, part, recordNotifications, refuseStream, sendByKeyboard, startSuite, stopSuite, waitFor, waitReady, waitReplyEnd,
} from './lib/browser.mjs';

const said = (m) => `You said: ${m}`; // the mock model's answer
// The widget's reply-time line: the owner's words, shown as text.
const REPLY_TIME = 'We usually reply in <b>5 minutes</b> & less';

// The name the visitor sees: DASHBOARD_PASSWORD's owner's account name. The
// dashboard sends none, and DASHBOARD_AGENT_NAME (an API key's name) is
// another, so a reply named from the environment fails the test.
const AGENT = 'Support';

// fn({shadowRoot}, AGENT) on the widget's host element, in the page;
// waitWidget polls it until it is true (at most 10 s).
const R = '#parley-chat-widget';
const inWidget = (page, fn) => page.locator(R).evaluate(fn, AGENT);
const waitWidget = (page, fn, what = String(fn)) => waitFor(() => inWidget(page, fn), 10000, what);

// Runs fns (checks on different pages) at the same time; their results,
// or the first one's failure once all are done.
async function together(...fns) {
  const rs = await Promise.allSettled(fns.map((f) => f()));
  const bad = rs.find((r) => r.status === 'rejected');
  if (bad) throw bad.reason;
  return rs.map((r) => r.value);
}

describe('handoff and agents in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let owner; // {ctx, page, log}: the dashboard
  let ownerSession; // its session, given to the other dashboard contexts too (none logs out)
  let visitor; // {ctx, page, log}: the host page with the widget
  let w; // the widget
  let convId;
  const t0 = Date.now();

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 3, delayMs: 20 }, env: { DASHBOARD_PASSWORD, DASHBOARD_AGENT_NAME: 'Support desk', PARLEY_MODEL_ALLOW_PRIVATE: 'on' } }));
    owner = await openPage(browser);
    // Notifications recorded: the permission is granted when asked.
    await recordNotifications(owner.page, { granted: false, on: false });
    ownerSession = await dashLogin(stack, owner.ctx);
    const r = await adminApi(stack, 'POST', '/v1/admin/widgets', {
      // The default colours (#4f46e5, white text: 6.3:1; axe wants 4.5).
      name: 'Handoff shop', allowed_origins: [], handoff_enabled: true, handoff_label: 'Ask a human', rating_enabled: true,
      reply_time: REPLY_TIME,
    });
    assert.equal(r.status, 201, `create widget: ${r.status} ${r.text}`);
    w = r.json;
    visitor = await openPage(browser, PHONE);
  });
  after(async () => {
    if (owner) await owner.ctx.close();
    if (visitor) await visitor.ctx.close();
    await stopSuite({ stack, browser });
    console.log(`# handoff.test.mjs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test('the visitor asks for a person: the dashboard shows it live, pinned and counted', async () => {
    const { page } = visitor;
    await page.goto(stack.host.widgetEmbedUrl(w.widget_id));
    await waitReady(page);
    await page.click(part('launcher'));
    await waitWidget(page, ({ shadowRoot: root }) => !root.querySelector('[data-part="send"]').disabled);
    assert.equal(await inWidget(page, ({ shadowRoot: root }) => root.querySelector('[data-part="handoff"]').hidden), true,
      'no "Talk to a person" before the first message');
    await sendByKeyboard(page, 'first question');
    assert.equal((await waitReplyEnd(page)).text, said('first question'));
    const btn = await inWidget(page, ({ shadowRoot: root }) => {
      const b = root.querySelector('[data-part="handoff"]');
      return { hidden: b.hidden, text: b.textContent, tag: b.tagName };
    });
    assert.deepEqual(btn, { hidden: false, text: 'Ask a human', tag: 'BUTTON' }, 'the label from the config');

    // The dashboard's list, loaded before the request: it must change by itself.
    await openDash(owner.page, stack, '#/conversations', '[data-testid="conv-row"]');
    await owner.page.evaluate(() => { window.__sameDocument = true; });
    // Opt in to the notification (a click asks for the permission).
    assert.equal(await owner.page.getAttribute('[data-testid="notify-toggle"]', 'aria-pressed'), 'false');
    await owner.page.click('[data-testid="notify-toggle"]');
    await owner.page.waitForSelector('[data-testid="notify-toggle"][aria-pressed="true"]');
    assert.equal(await owner.page.locator('[data-testid="conv-handoff-badge"]').count(), 0);

    // The stream is live (its list loaded first): what follows comes as events.
    await owner.page.waitForFunction(() => document.documentElement.dataset.live === 'live', null, { timeout: 5000 });
    // By keyboard: Shift+Tab from the text area reaches it; Enter asks; the focus goes back to the text area.
    await page.focus(part('input'));
    await page.keyboard.press('Shift+Tab');
    assert.equal(await focused(page), 'handoff');
    await page.keyboard.press('Enter');
    // once the availability it asked for is here (choose): a round trip
    await waitFor(async () => (await focused(page)) === 'input', 5000, 'the focus back in the text area');
    await waitWidget(page, ({ shadowRoot: root }) => root.querySelector('[data-part="handoff-status"]').textContent === 'Waiting for a person…');
    assert.equal(await inWidget(page, ({ shadowRoot: root }) => root.querySelector('[data-part="handoff-status"]').getAttribute('role')), 'status');
    assert.equal(await inWidget(page, ({ shadowRoot: root }) => root.querySelector('[data-part="handoff"]').hidden), true, 'asked once');

    const badge = owner.page.locator('[data-testid="conv-row"]').first().locator('[data-testid="conv-handoff-badge"]');
    await badge.waitFor({ timeout: 5000 });
    assert.equal(await badge.textContent(), 'Waiting for a person');
    convId = await owner.page.locator('[data-testid="conv-row"]').first().getAttribute('data-id');
    assert.equal(await owner.page.locator('[data-testid="conv-row"]').first().getAttribute('data-handoff'), 'waiting_human');
    await owner.page.waitForFunction(() => document.title.startsWith('(1) '), null, { timeout: 5000 });
    assert.equal(await owner.page.textContent('[data-testid="nav-waiting"]'), '1 waiting for a person');
    assert.equal(await owner.page.evaluate(() => window.__sameDocument), true, 'no reload');
    assert.deepEqual((await owner.page.evaluate(() => window.__notes)).map((n) => n.title), ['A conversation waits for a person']);
    const [bad] = await together(
      () => axeLightDark(owner.page, 'list with a waiting conversation'),
      async () => dashShot(await phoneDash('#/conversations', '[data-testid="conv-handoff-badge"]'), 'handoff-list'));
    assert.deepEqual(bad, []);
  });

  // A phone-sized dashboard page on route (its own context, logged in), no sideways scroll.
  let phone;
  async function phoneDash(route, ready) {
    if (!phone) {
      phone = await openPage(browser, PHONE);
      await dashLogin(stack, phone.ctx, ownerSession);
    }
    await openDash(phone.page, stack, route, ready);
    const o = await overflow(phone.page);
    assert.ok(o.scrollWidth <= o.innerWidth, `${route}: no horizontal overflow on a phone: ${JSON.stringify(o)}`);
    return phone.page;
  }

  test('take over, type, reply: the widget shows the person; the model is not called', async () => {
    const o = owner.page;
    await o.click(`[data-testid="conv-row"][data-id="${convId}"] [data-testid="conv-link"]`);
    await o.waitForSelector('[data-testid="take-over"]');
    assert.equal(await o.textContent('[data-testid="handoff-state"]'), 'Waiting for a person');
    await o.click('[data-testid="take-over"]');
    await o.waitForSelector('[data-testid="reply-form"]:not([hidden])');
    assert.equal(await o.textContent('[data-testid="handoff-state"]'), 'You are answering');
    // The focus goes to the reply box once the take-over is answered; the
    // live stream's handoff event may show the box before that answer.
    await o.waitForFunction(() => document.activeElement && document.activeElement.dataset.testid === 'reply-input', null, { timeout: 5000 })
      .catch(async () => assert.fail(`the focus goes to the reply box, not ${await o.evaluate(() => document.activeElement && document.activeElement.outerHTML.slice(0, 80))}`));
    await waitWidget(visitor.page, ({ shadowRoot: root }, agent) => root.querySelector('[data-part="handoff-status"]').textContent === `${agent} joined`);
    await o.waitForFunction(() => !document.title.startsWith('('), null, { timeout: 5000 });

    // Typing shows in the widget, with the name.
    await o.focus('[data-testid="reply-input"]');
    const completions = (await stack.parley.mock.completions()).length;
    await o.keyboard.type('Hello, I am');
    await waitWidget(visitor.page, ({ shadowRoot: root }, agent) => {
      const t = root.querySelector('[data-part="message"][data-role="agent"][data-state="pending"]');
      return t && t.querySelector('[data-part="typing"]') && t.querySelector('[data-part="name"]').textContent === agent;
    });
    await o.keyboard.type(' a person.');
    await o.keyboard.press('Control+Enter');
    await o.waitForFunction(() => document.querySelector('[data-testid="reply-status"]').textContent === 'Sent.');
    assert.equal(await o.inputValue('[data-testid="reply-input"]'), '');
    await waitWidget(visitor.page, ({ shadowRoot: root }) => [...root.querySelectorAll('[data-part="message"][data-role="agent"]')]
      .some((m) => m.querySelector('[data-part="content"]').textContent === 'Hello, I am a person.'));
    const shown = await inWidget(visitor.page, ({ shadowRoot: root }) => [...root.querySelectorAll('[data-part="message"][data-role="agent"]')].map((m) => ({
      name: m.querySelector('[data-part="name"]').textContent, state: m.getAttribute('data-state'),
      bg: getComputedStyle(m).backgroundColor,
      botBg: getComputedStyle(root.querySelector('[data-part="message"][data-role="assistant"]')).backgroundColor,
    })));
    assert.equal(shown.length, 1, 'the typing bubble gave way to the message');
    assert.equal(shown[0].name, AGENT);
    assert.equal(shown[0].state, 'done');
    assert.notEqual(shown[0].bg, shown[0].botBg, 'styled apart from the assistant');
    assert.equal(await o.textContent('[data-testid="thread-message"][data-role="agent"] [data-testid="msg-role"]'), AGENT);

    // The visitor writes while a person answers: stored, shown live in the thread, no model call.
    await sendByKeyboard(visitor.page, 'thanks, person');
    await o.waitForFunction(() => [...document.querySelectorAll('[data-testid="thread-message"][data-role="user"] [data-testid="msg-content"]')]
      .some((c) => c.textContent === 'thanks, person'), null, { timeout: 5000 });
    assert.equal(await inWidget(visitor.page, ({ shadowRoot: root }) => root.querySelectorAll('[data-part="message"][data-state="pending"]').length), 0,
      'no typing indicator from the assistant');
    await visitor.page.waitForTimeout(300);
    assert.equal((await stack.parley.mock.completions()).length, completions, 'the model was not called');
    // A reload while a person answers: a message gets no reply bubble that never ends.
    await visitor.page.reload();
    await waitReady(visitor.page);
    await waitWidget(visitor.page, ({ shadowRoot: root }) => !root.querySelector('[data-part="send"]').disabled
      && root.querySelectorAll('[data-part="message"][data-role="agent"]').length === 1, 'resumed');
    await sendByKeyboard(visitor.page, 'after a reload');
    await waitWidget(visitor.page, ({ shadowRoot: root }, agent) => !root.querySelector('[data-part="send"]').disabled
      && !root.querySelector('[data-part="message"][data-state="pending"]')
      && root.querySelector('[data-part="handoff-status"]').textContent === `${agent} joined`, 'the message sent, no reply pending');
    // Resumed: who joined, and who wrote, by the account's name still.
    assert.equal(await inWidget(visitor.page, ({ shadowRoot: root }) =>
      root.querySelector('[data-part="message"][data-role="agent"] [data-part="name"]').textContent), AGENT);
    assert.equal((await stack.parley.mock.completions()).length, completions, 'the model was not called after the reload either');
    const stored = (await adminApi(stack, 'GET', `/v1/admin/conversations/${convId}`)).json;
    assert.equal(stored.conversation.handoff, 'human');
    assert.deepEqual(stored.messages.filter((m) => m.role === 'agent').map((m) => [m.name, m.content]), [[AGENT, 'Hello, I am a person.']]);

    // the dashboard, its phone-sized page and the widget, side by side
    const [bad] = await together(
      () => axeLightDark(o, 'thread while a person answers'),
      async () => dashShot(await phoneDash(`#/conversations/${convId}`, '[data-testid="reply-form"]:not([hidden])'), 'handoff-thread'),
      async () => {
        for (const colorScheme of ['light', 'dark']) {
          await visitor.page.emulateMedia({ colorScheme });
          const r = await axeSerious(visitor.page, `widget with a person (${colorScheme})`);
          assert.deepEqual(r.bad, [], `${r.what}: ${JSON.stringify(r.bad)}`);
        }
        await visitor.page.emulateMedia({ colorScheme: 'light' });
        fs.mkdirSync(SCREENSHOTS, { recursive: true });
        await visitor.page.screenshot({ path: path.join(SCREENSHOTS, 'widget-handoff-390x844.png') });
      });
    assert.deepEqual(bad, []);
    await assertClean(o, owner.log, 'dashboard');
  });

  test('hand back: the visitor\'s unanswered message answered at once, "The assistant is back", and the model answers with the person\'s reply in its context', async () => {
    const o = owner.page;
    // The visitor wrote last: Hand back asks nothing, and the assistant
    // answers that message at once, in the widget and the thread.
    await o.waitForFunction(() => [...document.querySelectorAll('[data-testid="thread-message"][data-role="user"] [data-testid="msg-content"]')]
      .some((c) => c.textContent === 'after a reload'), null, { timeout: 5000 });
    await o.click('[data-testid="hand-back"]');
    await o.waitForSelector('[data-testid="reply-form"]', { state: 'hidden' });
    assert.equal(await o.locator('[data-testid="confirm-dialog"]').count(), 0, 'not asked');
    assert.equal(await o.textContent('[data-testid="handoff-state"]'), 'The assistant answers');
    await waitWidget(visitor.page, ({ shadowRoot: root }) => root.querySelector('[data-part="handoff-status"]').textContent === 'The assistant is back');
    await waitWidget(visitor.page, ({ shadowRoot: root }) => !root.querySelector('[data-part="handoff"]').hidden);
    await waitWidget(visitor.page, ({ shadowRoot: root }) => [...root.querySelectorAll('[data-part="message"][data-role="assistant"]')]
      .some((m) => m.textContent.includes('You said: after a reload')), 'the answer in the widget');
    await o.waitForFunction(() => [...document.querySelectorAll('[data-testid="thread-message"][data-role="assistant"] [data-testid="msg-content"]')]
      .some((c) => c.textContent === 'You said: after a reload'), null, { timeout: 5000 });
    await stack.parley.mock.clearRequests();
    await sendByKeyboard(visitor.page, 'and now the bot');
    assert.equal((await waitReplyEnd(visitor.page)).text, said('and now the bot'));
    const [req] = await stack.parley.mock.completions();
    const msgs = req.body.messages;
    assert.ok(msgs.some((m) => m.role === 'assistant' && m.content === 'Hello, I am a person.'), `the person's reply in the context: ${JSON.stringify(msgs)}`);
    await o.waitForFunction(() => [...document.querySelectorAll('[data-testid="thread-message"][data-role="assistant"] [data-testid="msg-content"]')]
      .some((c) => c.textContent === 'You said: and now the bot'), null, { timeout: 5000 });
    await assertClean(o, owner.log, 'dashboard');
    await assertClean(visitor.page, visitor.log, 'widget');

    // Feedback (issue 26): the hand-back's rating_request offered the form;
    // the new answer has its thumbs. axe in light and dark with both.
    const answer = visitor.page.locator(`${R} [data-part="message"][data-role="assistant"]`).last();
    await waitWidget(visitor.page, ({ shadowRoot: root }) => !!root.querySelector('[data-part="rating"] legend')
      && !![...root.querySelectorAll('[data-part="message"][data-role="assistant"]')].pop().querySelector('[data-part="thumbs"]'),
    'the rating form and the thumbs');
    for (const colorScheme of ['light', 'dark']) {
      await visitor.page.emulateMedia({ colorScheme });
      const r = await axeSerious(visitor.page, `widget with thumbs and the rating form (${colorScheme})`);
      assert.deepEqual(r.bad, [], `${r.what}: ${JSON.stringify(r.bad)}`);
    }
    await visitor.page.emulateMedia({ colorScheme: 'light' });
    const up = answer.locator('[data-part="thumbs"] button[value="up"]');
    assert.equal(await up.getAttribute('aria-pressed'), 'false');
    assert.equal(await up.getAttribute('aria-label'), 'Helpful');
    // The thumb's frame is lost with its socket (closed as it goes): the
    // thumb is sent again on the next socket, not left waiting for an answer.
    await visitor.page.evaluate(() => {
      const send = WebSocket.prototype.send;
      WebSocket.prototype.send = function (d) {
        if (!/"type":"feedback"/.test(d)) return send.call(this, d);
        WebSocket.prototype.send = send;
        this.close();
      };
    });
    await up.click();
    assert.equal(await up.getAttribute('aria-pressed'), 'true');
    const lastAnswer = async () => (await adminApi(stack, 'GET', `/v1/admin/conversations/${convId}`)).json.messages
      .filter((m) => m.role === 'assistant').pop();
    await waitFor(async () => (await lastAnswer()).feedback === 'up', 5000, 'the thumb stored');
    await visitor.page.locator(`${R} [data-part="rating"] input[value="4"]`).check();
    await visitor.page.locator(`${R} [data-part="rating"] textarea`).fill('Quick and kind');
    await visitor.page.locator(`${R} [data-part="rating"] [data-part="save"]`).click();
    await waitWidget(visitor.page, ({ shadowRoot: root }) => root.querySelector('[data-part="rated"]')?.textContent === 'Thanks for your feedback!'
      && !root.querySelector('[data-part="rating"]'), 'the rating saved');
    const inInput = ({ shadowRoot: root }) => root.activeElement === root.querySelector('[data-part="input"]');
    assert.ok(await inWidget(visitor.page, inInput), 'the focus in the text area once the form is gone');
    const rated = (await adminApi(stack, 'GET', `/v1/admin/conversations/${convId}`)).json.conversation.rating;
    assert.deepEqual([rated.score, rated.comment], [4, 'Quick and kind']);
    // ParleyChat.rate() offers it again, the first star focused; Dismiss takes it away.
    assert.equal(await visitor.page.evaluate(() => window.ParleyChat.rate()), true);
    await waitWidget(visitor.page, ({ shadowRoot: root }) => root.activeElement === root.querySelector('[data-part="rating"] input[value="1"]'),
      'the form shown, its first star focused');
    await visitor.page.locator(`${R} [data-part="rating"] [data-part="skip"]`).click();
    await waitWidget(visitor.page, ({ shadowRoot: root }) => !root.querySelector('[data-part="rating"]'), 'the form dismissed');
    assert.ok(await inWidget(visitor.page, inInput), 'the focus in the text area once dismissed');
    // The export has both; the dashboard's thread shows them.
    const mrows = (await adminApi(stack, 'GET', `/v1/admin/export?format=jsonl&rows=messages&conversation=${convId}`)).text
      .trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(mrows.filter((m) => m.feedback).map((m) => [m.content, m.feedback]), [[said('and now the bot'), 'up']]);
    const crow = JSON.parse((await adminApi(stack, 'GET', `/v1/admin/export?format=jsonl&rows=conversations&conversation=${convId}`)).text.trim());
    assert.deepEqual([crow.rating, crow.ratingComment], [4, 'Quick and kind']);
    await o.reload();
    await o.waitForSelector('[data-testid="msg-feedback"][data-value="up"]', { timeout: 10000 });
    assert.equal(await o.textContent('[data-testid="conv-rating-score"]'), '4 / 5');
    assert.equal(await o.textContent('[data-testid="conv-rating-comment"]'), 'Quick and kind');
    assert.deepEqual(await axeLightDark(o, 'thread with a thumb and a rating'), []);
    // The widgets view's summary: this widget, 1 answer rated, all positive, rated 4.
    const back = o.url();
    await o.goto(back.replace(/#.*$/, '#/widgets'));
    const row = o.locator(`[data-testid="fb-widget-row"][data-id="${w.id}"]`);
    await row.waitFor({ timeout: 10000 });
    assert.deepEqual(await Promise.all(['fb-rated', 'fb-positive', 'fb-ratings', 'fb-average']
      .map((t) => row.locator(`[data-testid="${t}"]`).textContent())), ['1', '100%', '1', '4.0 / 5']);
    // The organisation's total above the lists (the lists were not cut).
    assert.equal(await o.textContent('[data-testid="feedback-total"]'), 'In all: 1 answer rated, 100% positive; 1 rating, 4.0 / 5 on average.');
    assert.deepEqual(await axeLightDark(o, 'widgets with the feedback summary'), []);
    await o.goto(back);
    await o.waitForSelector('[data-testid="thread-messages"]', { timeout: 10000 });
    await assertClean(o, owner.log, 'dashboard with feedback');
    await assertClean(visitor.page, visitor.log, 'widget with feedback');

    // A reload: the history has the person's message, with the name.
    await visitor.page.reload();
    await waitReady(visitor.page);
    await waitWidget(visitor.page, ({ shadowRoot: root }, agent) => {
      const m = root.querySelector('[data-part="message"][data-role="agent"]');
      return !!m && m.querySelector('[data-part="name"]').textContent === agent
        && m.querySelector('[data-part="content"]').textContent === 'Hello, I am a person.';
    }, 'the person\'s message in the history');
    const roles = await inWidget(visitor.page, ({ shadowRoot: root }) => [...root.querySelectorAll('[data-part="message"]:not([data-welcome])')]
      .map((m) => m.getAttribute('data-role')));
    // (the assistant's answer to the message the hand-back left unanswered, then the next turn)
    assert.deepEqual(roles, ['user', 'assistant', 'agent', 'user', 'user', 'assistant', 'user', 'assistant']);
    await assertClean(visitor.page, visitor.log, 'widget after a reload');

    // A new conversation offers the rating of the one left; a message in the
    // new one takes it away (sent then, it would rate the new one).
    await visitor.page.click(`${R} [data-part="new-conversation"]`);
    await waitWidget(visitor.page, ({ shadowRoot: root }) => !!root.querySelector('[data-part="rating"]'), 'the form for the conversation left');
    await sendByKeyboard(visitor.page, 'a new question');
    await waitWidget(visitor.page, ({ shadowRoot: root }) => !root.querySelector('[data-part="rating"]'), 'the form gone with the message');
    assert.equal((await waitReplyEnd(visitor.page)).text, said('a new question'));
  });

  // A visitor who asks while the dashboard's stream is not there yet (or
  // away) has its event missed: the list the stream's "ready" reloads
  // tells it, once (this raced with the stream's start in a full run).
  test('a wait begun before the stream is live is still notified, once', async () => {
    const late = await openPage(browser);
    try {
      await recordNotifications(late.page);
      await dashLogin(stack, late.ctx, ownerSession);
      await refuseStream(late.page);
      await openDash(late.page, stack, '#/conversations', '[data-testid="conv-row"]');
      await late.page.waitForFunction(() => window.__esErrors >= 1, null, { timeout: 10000 });
      const r = await adminApi(stack, 'POST', `/v1/admin/conversations/${convId}/handoff`, { state: 'waiting_human', name: 'Ann' });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      await late.page.unroute('**/v1/admin/events*');
      // live.js's next try (2 s after a refusal, 30 s after three) at once
      await late.page.clock.fastForward(30000);
      await late.page.waitForFunction(() => window.__notes.length > 0, null, { timeout: 10000 });
      await late.page.waitForFunction(() => document.title.startsWith('(1) '), null, { timeout: 5000 });
      assert.deepEqual((await late.page.evaluate(() => window.__notes)).map((n) => n.title), ['A conversation waits for a person']);
    } finally {
      await late.ctx.close();
      await adminApi(stack, 'POST', `/v1/admin/conversations/${convId}/handoff`, { state: 'ai', name: 'Ann' });
    }
  });

  test('agents: create one (the key write-only), pick it for a widget, refused deletion while in use', async () => {
    const o = owner.page;
    await openDash(o, stack, '#/agents', '[data-testid="agent-row"]');
    assert.equal(await o.getAttribute('[data-testid="agent-row"]', 'data-id'), 'default', 'the default agent first');
    await o.click('[data-testid="new-agent"]');
    await o.waitForSelector('[data-testid="agent-form"]');
    await o.fill('#f-name', 'Clinic bot');
    await o.fill('#f-system_prompt', 'You answer for the clinic.');
    await o.fill('#f-model', 'clinic-model');
    await o.fill('#f-temperature', '0.3');
    await o.fill('#f-base_url', 'http://127.0.0.1:9/v1');
    await o.fill('#f-api_key', 'sk-secret-clinic-key');
    await o.click('[data-testid="save-agent"]');
    await o.waitForURL((u) => /^#\/agents\/[0-9a-f]{32}$/.test(u.hash), { timeout: 10000 });
    const agentId = new URL(o.url()).hash.split('/')[2];
    await o.waitForSelector('[data-testid="api-key-status"]');
    assert.equal(await o.textContent('[data-testid="api-key-status"]'), 'API key set');
    assert.equal(await o.inputValue('#f-api_key'), '', 'the key is never shown');
    assert.ok(!(await o.content()).includes('sk-secret-clinic-key'), 'nor anywhere in the page');
    const a = (await adminApi(stack, 'GET', `/v1/admin/agents/${agentId}`)).json;
    assert.equal(a.name, 'Clinic bot');
    assert.equal(a.temperature, 0.3);
    assert.equal(a.api_key_set, true);
    // Its base URL moved to another server: the server clears the key, and the page says so.
    await o.fill('#f-base_url', 'http://localhost:9/v1');
    await o.click('[data-testid="save-agent"]');
    await o.waitForFunction(() => document.querySelector('[data-testid="save-status"]').textContent ===
      'Saved. The API key was cleared: the base URL points at another server now. Enter the key again to send it there.');
    assert.equal(await o.textContent('[data-testid="api-key-status"]'), 'No API key');
    assert.equal((await adminApi(stack, 'GET', `/v1/admin/agents/${agentId}`)).json.api_key_set, false);
    await o.fill('#f-api_key', 'sk-secret-clinic-key');
    await o.click('[data-testid="save-agent"]');
    await o.waitForFunction(() => document.querySelector('[data-testid="save-status"]').textContent === 'Saved.');
    assert.equal(await o.textContent('[data-testid="api-key-status"]'), 'API key set');
    const [badAgent] = await together(
      () => axeLightDark(o, 'agent'),
      async () => dashShot(await phoneDash(`#/agents/${agentId}`, '[data-testid="agent-form"]'), 'agent'));
    assert.deepEqual(badAgent, []);

    // The default agent: read-only.
    await openDash(o, stack, '#/agents/default', '[data-testid="default-agent-note"]');
    assert.equal(await o.isDisabled('#f-name'), true);
    assert.equal(await o.locator('[data-testid="save-agent"]').isVisible(), false);
    // It answers from all of the organisation's sources: no checkboxes to choose.
    assert.match(await o.textContent('[data-testid="default-agent-note"]'), /Knowledge: all of the organisation's sources\./);
    await o.waitForSelector('[data-testid="default-agent-sources"]');
    assert.match(await o.textContent('[data-testid="default-agent-sources"]'), /^All of the organisation's sources/);
    assert.equal(await o.locator('[data-testid="agent-sources"] input[type="checkbox"]').count(), 0);

    // Picked in the widget's form.
    await openDash(o, stack, `#/widgets/${w.widget_id}`, '[data-testid="widget-form"]');
    assert.equal(await o.inputValue('#f-agent_id'), 'default');
    assert.equal(await o.isChecked('#f-handoff_enabled'), true);
    assert.equal(await o.inputValue('#f-handoff_label'), 'Ask a human');
    assert.equal(await o.inputValue('#f-reply_time'), REPLY_TIME);
    await o.selectOption('#f-agent_id', agentId);
    await o.fill('#f-reply_time', `  ${REPLY_TIME}  `);
    await o.click('[data-testid="save-widget"]');
    await o.waitForFunction(() => document.querySelector('[data-testid="save-status"]').textContent === 'Saved.');
    const saved = (await adminApi(stack, 'GET', `/v1/admin/widgets/${w.widget_id}`)).json;
    assert.deepEqual([saved.agent_id, saved.reply_time], [agentId, REPLY_TIME], 'the form saved both, the line trimmed');
    assert.deepEqual(await axeLightDark(o, 'widget with the agent picker'), []);

    // In use: the 409 names the widget.
    await openDash(o, stack, `#/agents/${agentId}`, '[data-testid="delete-agent"]');
    await o.click('[data-testid="delete-agent"]');
    await o.click('[data-testid="confirm-ok"]');
    const link = o.locator('[data-testid="agent-in-use-widget"]');
    await link.waitFor({ timeout: 5000 });
    assert.equal(await link.textContent(), w.widget_id);
    assert.match(await o.textContent('[data-testid="action-error"]'), /in use/i);
    assert.equal((await adminApi(stack, 'GET', `/v1/admin/agents/${agentId}`)).status, 200, 'not deleted');
    await openDash(o, stack, '#/agents', '[data-testid="agent-row"]');
    assert.equal(await o.locator('[data-testid="agent-row"]').count(), 2);
    const [badAgents] = await together(
      () => axeLightDark(o, 'agents'),
      async () => dashShot(await phoneDash('#/agents', '[data-testid="agent-row"]'), 'agents'));
    assert.deepEqual(badAgents, []);
    await assertClean(o, owner.log, 'dashboard', { allowConsole: /status of 409/ });
    if (phone) await phone.ctx.close();
  });

  test('the reply-time line: under the header, as text, while a person may answer', async () => {
    // The dashboard is open (live): a person may answer.
    await openDash(owner.page, stack, '#/conversations', '[data-testid="conv-row"]');
    await owner.page.waitForFunction(() => document.documentElement.dataset.live === 'live', null, { timeout: 5000 });
    const late = await openPage(browser);
    try {
      await late.page.goto(stack.host.widgetEmbedUrl(w.widget_id));
      await waitReady(late.page);
      await late.page.click(part('launcher'));
      await waitWidget(late.page, ({ shadowRoot: root }) => {
        const l = root.querySelector('[data-part="reply-time"]');
        return l && !l.hidden;
      }, 'the line shown');
      const line = await inWidget(late.page, ({ shadowRoot: root }) => {
        const l = root.querySelector('[data-part="reply-time"]');
        return { text: l.textContent, b: l.querySelectorAll('b').length, after: l.previousElementSibling.getAttribute('data-part') };
      });
      assert.deepEqual(line, { text: REPLY_TIME, b: 0, after: 'header' });
      await assertClean(late.page, late.log, 'widget with the reply-time line');
    } finally {
      await late.ctx.close();
    }
  });

  // The line is the language's "{name} joined" with the name put in: $'
  // $& and $` in a name are its letters, not replacement patterns. (A
  // visitor of its own: the first one's page is the other tests'.)
  test('a person\'s name with $ patterns shows as written in the "joined" line', async () => {
    const v = await openPage(browser);
    let id;
    try {
      await v.page.goto(stack.host.widgetEmbedUrl(w.widget_id));
      await waitReady(v.page);
      await v.page.click(part('launcher'));
      // (the widget's agent is the agents test's, whose model does not
      // answer: the conversation is there once the message is stored)
      await sendByKeyboard(v.page, 'a name with dollars');
      await waitFor(async () => (id = (await adminApi(stack, 'GET', '/v1/admin/conversations')).json.conversations
        .find((c) => c.lastVisitorMessage === 'a name with dollars')?._id), 10000, 'the conversation stored');
      const r = await adminApi(stack, 'POST', `/v1/admin/conversations/${id}/handoff`, { state: 'human', name: "Ann $' $& $`" });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      await waitWidget(v.page, ({ shadowRoot: root }) => root.querySelector('[data-part="handoff-status"]').textContent === "Ann $' $& $` joined",
        'the name as written');
    } finally {
      if (id) await adminApi(stack, 'POST', `/v1/admin/conversations/${id}/handoff`, { state: 'ai', name: 'Ann' });
      await v.ctx.close();
    }
  });

  // Hand back asks nothing: a question the visitor asked while a person
  // answered, left unanswered by them, is the assistant's to answer at
  // once (its markup shown as text in the widget and the thread); once
  // the person has answered, handing back calls no model.
  test('hand back: the question left unanswered is answered at once, as text; after the person\'s answer no model is called', async () => {
    const v = await openPage(browser);
    const o = owner.page;
    const q = 'is <b>this</b> answered?';
    let id;
    try {
      // A widget of its own: the default agent, the mock model.
      const r = await adminApi(stack, 'POST', '/v1/admin/widgets', { name: 'Hand back shop', allowed_origins: [], handoff_enabled: true });
      assert.equal(r.status, 201, r.text);
      await v.page.goto(stack.host.widgetEmbedUrl(r.json.widget_id));
      await waitReady(v.page);
      await v.page.click(part('launcher'));
      await sendByKeyboard(v.page, 'a first question');
      assert.equal((await waitReplyEnd(v.page)).text, said('a first question'));
      await waitFor(async () => (id = (await adminApi(stack, 'GET', '/v1/admin/conversations')).json.conversations
        .find((c) => c.lastVisitorMessage === 'a first question')?._id), 10000, 'the conversation stored');
      await openDash(o, stack, `#/conversations/${id}`, '[data-testid="take-over"]');
      await o.waitForFunction(() => document.documentElement.dataset.live === 'live', null, { timeout: 5000 });
      await o.click('[data-testid="take-over"]');
      await o.waitForSelector('[data-testid="hand-back"]:not([hidden])');
      await waitWidget(v.page, ({ shadowRoot: root }, agent) => root.querySelector('[data-part="handoff-status"]').textContent === `${agent} joined`);
      await sendByKeyboard(v.page, q);
      await o.waitForFunction((t) => [...document.querySelectorAll('[data-testid="thread-message"][data-role="user"] [data-testid="msg-content"]')]
        .some((c) => c.textContent === t), q, { timeout: 5000 });
      await stack.parley.mock.clearRequests();
      await o.click('[data-testid="hand-back"]');
      await o.waitForSelector('[data-testid="reply-form"]', { state: 'hidden', timeout: 5000 });
      assert.equal(await o.locator('[data-testid="confirm-dialog"]').count(), 0, 'not asked');
      assert.equal(await o.textContent('[data-testid="handoff-state"]'), 'The assistant answers');
      await waitWidget(v.page, ({ shadowRoot: root }) => [...root.querySelectorAll('[data-part="message"][data-role="assistant"]')]
        .some((m) => m.textContent.includes('You said: is <b>this</b> answered?')), 'the answer in the widget, as text');
      assert.equal(await v.page.locator(`${R} [data-part="message"] b`).count(), 0, 'no markup made in the widget');
      await o.waitForFunction((t) => [...document.querySelectorAll('[data-testid="thread-message"][data-role="assistant"] [data-testid="msg-content"]')]
        .some((c) => c.textContent === t), said(q), { timeout: 5000 });
      assert.equal(await o.locator('[data-testid="thread-message"] [data-testid="msg-content"] b').count(), 0, 'no markup made in the thread');
      assert.equal((await stack.parley.mock.completions()).length, 1);
      const msgs = (await adminApi(stack, 'GET', `/v1/admin/conversations/${id}`)).json.messages;
      assert.deepEqual(msgs.slice(-2).map((m) => [m.role, m.content]), [['user', q], ['assistant', said(q)]]);

      // Taken over again and answered by the person: handing back calls no model.
      await o.click('[data-testid="take-over"]');
      await o.waitForSelector('[data-testid="hand-back"]:not([hidden])');
      await o.fill('[data-testid="reply-input"]', 'Yes: answered by a person.');
      await o.click('[data-testid="reply-send"]');
      await o.waitForFunction(() => document.querySelector('[data-testid="reply-status"]').textContent === 'Sent.');
      await stack.parley.mock.clearRequests();
      await o.click('[data-testid="hand-back"]');
      await o.waitForSelector('[data-testid="reply-form"]', { state: 'hidden', timeout: 5000 });
      assert.equal(await o.textContent('[data-testid="handoff-state"]'), 'The assistant answers');
      assert.equal((await adminApi(stack, 'GET', `/v1/admin/conversations/${id}`)).json.conversation.handoff, 'ai');
      await o.waitForTimeout(300); // an answer begun all the same would have called the model by now
      assert.equal((await stack.parley.mock.completions()).length, 0);
      // (the agents test's refused deletion is in this page's log)
      await assertClean(o, owner.log, 'dashboard: hand back, answered', { allowConsole: /status of 409/ });
      await assertClean(v.page, v.log, 'widget: the answer to a hand-back');
    } finally {
      if (id) await adminApi(stack, 'POST', `/v1/admin/conversations/${id}/handoff`, { state: 'ai', name: 'Ann' });
      await v.ctx.close();
    }
  });
});
