// The answer to a hand back, as the visitor's open widgets see it: a person
// takes over, the visitor asks, the person hands back with the question
// unanswered, and the assistant answers it with no client of its own
// (workerd/chat/answerlast.c) while the model is slow. Both of the
// visitor's tabs (the one that asked, and another one of its session) show
// the assistant typing before the reply is stored, then the reply, once;
// meanwhile neither loses what the visitor writes: Send waits for the
// reply, the text stays in the box, and goes once the reply is there.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  SUITE_TIMEOUT, adminApi, assertClean, openPage, part, sendByKeyboard, startSuite, stopSuite, waitFor, waitReady, waitReplyEnd,
} from './lib/browser.mjs';

const R = '#parley-chat-widget';
const inWidget = (page, fn) => page.locator(R).evaluate(fn);
const waitWidget = (page, fn, what = String(fn)) => waitFor(() => inWidget(page, fn), 10000, what);

// The assistant's typing line (the bubble of a reply to come), shown.
const typing = ({ shadowRoot: root }) =>
  !!root.querySelector('[data-part="message"][data-role="assistant"][data-state="pending"] [data-part="typing"]');
// The widget's messages: [role, text, state], the welcome left out.
const shown = (page) => inWidget(page, ({ shadowRoot: root }) =>
  [...root.querySelectorAll('[data-part="message"]:not([data-welcome])')].map((m) =>
    [m.getAttribute('data-role'), m.querySelector('[data-part="content"]').textContent, m.getAttribute('data-state')]));

// A page's widget opened, a first question answered, a person taking the
// conversation over, then the visitor's slow question (the model's first
// word 6 s after it is asked) stored, unanswered: its conversation's id and
// a reader of its stored messages.
async function leftToPerson(stack, page, widgetId, first, question) {
  await page.goto(stack.host.widgetEmbedUrl(widgetId));
  await waitReady(page);
  await page.click(part('launcher'));
  await sendByKeyboard(page, first);
  assert.equal((await waitReplyEnd(page)).text, `You said: ${first}`);
  // (newest activity first: this page's session's)
  const conv = (await adminApi(stack, 'GET', '/v1/admin/conversations')).json.conversations[0]._id;
  const read = async () => (await adminApi(stack, 'GET', `/v1/admin/conversations/${conv}`)).json.messages;
  const r = await adminApi(stack, 'POST', `/v1/admin/conversations/${conv}/handoff`, { state: 'human' });
  assert.equal(r.status, 200, r.text);
  await waitWidget(page, ({ shadowRoot: root }) => /joined$/.test(root.querySelector('[data-part="handoff-status"]').textContent), 'the person joined');
  await sendByKeyboard(page, question);
  await waitFor(async () => (await read()).some((m) => m.role === 'user' && m.content === question), 10000, 'the question stored');
  await waitWidget(page, ({ shadowRoot: root }) => !root.querySelector('[data-part="send"]').disabled, 'the question taken');
  return { conv, read };
}

describe('hand back: the visitor sees the assistant answer', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let visitor; // {ctx, page, log}: the tab that asks
  let other; // another tab of the same session
  let w;
  const t0 = Date.now();

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 3, delayMs: 20 } }));
    const r = await adminApi(stack, 'POST', '/v1/admin/widgets', { name: 'Hand back shop', allowed_origins: [], handoff_enabled: true });
    assert.equal(r.status, 201, `create widget: ${r.status} ${r.text}`);
    w = r.json;
    visitor = await openPage(browser);
  });
  after(async () => {
    if (visitor) await visitor.ctx.close();
    await stopSuite({ stack, browser });
    console.log(`# handback-typing.test.mjs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test('the question left to a person, answered on hand back: typing first, then the reply, in both tabs', async () => {
    const { page } = visitor;
    // A person takes over; the visitor asks (no reply: a person answers).
    const question = 'slow one [[mock:first_delay=6000,chunks=2]]';
    const { conv, read } = await leftToPerson(stack, page, w.widget_id, 'first question', question);
    assert.equal((await adminApi(stack, 'GET', '/v1/admin/conversations')).json.conversations.length, 1);
    assert.equal(await inWidget(page, typing), false, 'nobody types while a person answers');

    // The session's other tab, opened now: it shows the question (its history).
    other = await visitor.ctx.newPage();
    await other.goto(stack.host.widgetEmbedUrl(w.widget_id));
    await waitReady(other);
    await other.evaluate(() => window.ParleyChat.open());
    await waitFor(async () => (await shown(other)).some(([role, text]) => role === 'user' && text === question), 10000, 'the other tab has the question');

    // Hand back: both tabs show the assistant typing while the reply is made.
    const r = await adminApi(stack, 'POST', `/v1/admin/conversations/${conv}/handoff`, { state: 'ai' });
    assert.equal(r.status, 200, r.text);
    await waitWidget(page, typing, 'the asking tab shows the assistant typing');
    await waitWidget(other, typing, 'the other tab shows the assistant typing');
    assert.equal((await read()).filter((m) => m.role === 'assistant').length, 1, 'shown before the reply is stored');

    // Meanwhile the visitor writes: it waits for the reply, nothing lost.
    await page.fill(part('input'), 'a follow-up');
    await page.press(part('input'), 'Enter');
    assert.equal(await page.inputValue(part('input')), 'a follow-up', 'the text stays in the box');

    // The reply, once, in both tabs; the typing line gone.
    const reply = 'You said: slow one';
    for (const p of [page, other]) {
      await waitFor(async () => {
        const m = await shown(p);
        return m.filter(([role]) => role === 'assistant').length === 2 && !(await inWidget(p, typing));
      }, 20000, 'the reply shown');
      assert.deepEqual(await shown(p), [
        ['user', 'first question', null], ['assistant', 'You said: first question', 'done'],
        ['user', question, null], ['assistant', reply, 'done'],
      ]);
    }
    const stored = await read();
    assert.deepEqual(stored.filter((m) => m.role === 'assistant').map((m) => m.content), ['You said: first question', reply]);

    // The follow-up goes now, and is answered.
    assert.equal(await page.inputValue(part('input')), 'a follow-up');
    await sendByKeyboard(page, 'a follow-up');
    await waitFor(async () => (await shown(page)).some(([role, text, state]) => role === 'assistant' && text === 'You said: a follow-up' && state === 'done'),
      15000, 'the follow-up answered');
    await assertClean(page, visitor.log, 'widget');
  });

  // The race the frames allow: the visitor's message leaves while a person
  // has the conversation, and the server has it only after the hand back's
  // answer began (held here, in the test's route of the socket). Neither the
  // handoff (ai) nor the answer's typing_start says that message is stored:
  // it is refused (reply_in_progress), and the widget gives its words back.
  test('a message on its way when the hand back is answered: refused, its words given back', async () => {
    const x = await openPage(browser);
    try {
      const held = [];
      let hold = false;
      await x.page.routeWebSocket(/\/api\/widget\/.*\/ws/, (ws) => {
        const server = ws.connectToServer();
        ws.onMessage((m) => {
          if (hold && JSON.parse(m).type === 'message') held.push(m);
          else server.send(m);
        });
        x.release = () => held.splice(0).forEach((m) => server.send(m));
      });
      const { page } = x;
      const { conv, read } = await leftToPerson(stack, page, w.widget_id, 'hello again', 'slow two [[mock:first_delay=6000,chunks=2]]');

      // The next message leaves the page, and waits in the route.
      hold = true;
      await page.fill(part('input'), 'on its way');
      await page.press(part('input'), 'Enter');
      await waitFor(() => held.length === 1, 5000, 'the message held on its way');
      assert.equal(await page.inputValue(part('input')), '', 'sent: the box emptied');

      // Hand back: the answer begins (typing), then the server gets the message.
      const r = await adminApi(stack, 'POST', `/v1/admin/conversations/${conv}/handoff`, { state: 'ai' });
      assert.equal(r.status, 200, r.text);
      await waitWidget(page, typing, 'the assistant typing the answer');
      hold = false;
      x.release();
      await waitFor(async () => (await page.inputValue(part('input'))) === 'on its way', 10000, 'the words given back');
      assert.ok(!(await shown(page)).some(([, text]) => text === 'on its way'), 'its bubble gone');
      assert.ok(!(await read()).some((m) => m.content === 'on its way'), 'not stored');

      // The answer comes; the words go again, and are answered.
      await waitFor(async () => (await shown(page)).some(([role, text, state]) => role === 'assistant' && text === 'You said: slow two' && state === 'done'),
        20000, 'the answer shown');
      await waitWidget(page, ({ shadowRoot: root }) => !root.querySelector('[data-part="send"]').disabled, 'Send enabled');
      await page.press(part('input'), 'Enter');
      await waitFor(async () => (await shown(page)).some(([role, text, state]) => role === 'assistant' && text === 'You said: on its way' && state === 'done'),
        15000, 'the words answered');
    } finally {
      await x.ctx.close();
    }
  });
});
