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
    await page.goto(stack.host.widgetEmbedUrl(w.widget_id));
    await waitReady(page);
    await page.click(part('launcher'));
    await sendByKeyboard(page, 'first question');
    assert.equal((await waitReplyEnd(page)).text, 'You said: first question');
    const list = (await adminApi(stack, 'GET', '/v1/admin/conversations')).json.conversations;
    assert.equal(list.length, 1);
    const conv = list[0]._id;
    const read = async () => (await adminApi(stack, 'GET', `/v1/admin/conversations/${conv}`)).json.messages;

    // A person takes over; the visitor asks (no reply: a person answers).
    let r = await adminApi(stack, 'POST', `/v1/admin/conversations/${conv}/handoff`, { state: 'human' });
    assert.equal(r.status, 200, r.text);
    await waitWidget(page, ({ shadowRoot: root }) => /joined$/.test(root.querySelector('[data-part="handoff-status"]').textContent), 'the person joined');
    // The model, once asked, is slow: its first word comes 6 s on.
    const question = 'slow one [[mock:first_delay=6000,chunks=2]]';
    await sendByKeyboard(page, question);
    await waitFor(async () => (await read()).some((m) => m.role === 'user' && m.content === question), 10000, 'the question stored');
    await waitWidget(page, ({ shadowRoot: root }) => !root.querySelector('[data-part="send"]').disabled, 'the question taken');
    assert.equal(await inWidget(page, typing), false, 'nobody types while a person answers');

    // The session's other tab, opened now: it shows the question (its history).
    other = await visitor.ctx.newPage();
    await other.goto(stack.host.widgetEmbedUrl(w.widget_id));
    await waitReady(other);
    await other.evaluate(() => window.ParleyChat.open());
    await waitFor(async () => (await shown(other)).some(([role, text]) => role === 'user' && text === question), 10000, 'the other tab has the question');

    // Hand back: both tabs show the assistant typing while the reply is made.
    r = await adminApi(stack, 'POST', `/v1/admin/conversations/${conv}/handoff`, { state: 'ai' });
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
});
