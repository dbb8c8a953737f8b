// "Talk to a person" or "Leave a message" in headless Chromium: the widget
// chooses by the availability it asks for when the button is pressed, not
// by the one it had (the review's find: everyone left, or the hours ended,
// after the socket opened, and the visitor got "Waiting for a person…" with
// no email asked for, though the server said away). The availability here
// changes by the widget's business hours (always open, then a zone with no
// hours: always closed), set through the admin API while the page is open:
// the page hears of it only by asking. An availability never answered (the
// page's frame dropped here) leaves the choice to the one known.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  SUITE_TIMEOUT, adminApi, assertClean, openPage, part, sendByKeyboard, startSuite, stopSuite, waitFor, waitReady,
  waitReplyEnd,
} from './lib/browser.mjs';

const R = '#parley-chat-widget';
const CLOSED = { timezone: 'Europe/Paris', days: {} };
const inWidget = (page, fn, arg) => page.locator(R).evaluate(fn, arg);
const waitWidget = (page, fn, what = String(fn), arg) => waitFor(() => inWidget(page, fn, arg), 10000, what);
// The button, the state line and whether the away form shows.
const state = (page) => inWidget(page, ({ shadowRoot: root }) => {
  const s = root.querySelector('[data-part="handoff-status"]');
  return { button: root.querySelector('[data-part="handoff"]').textContent, status: s.hidden ? '' : s.textContent,
    form: !!root.querySelector('[data-part="away"]') };
});

describe('the handoff button by the availability now', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;

  before(async () => {
    // nobody at a dashboard is never "away" here: the hours alone decide
    ({ stack, browser } = await startSuite({ mock: { chunks: 2, delayMs: 10 }, env: { PARLEY_AWAY_AFTER_MS: '3600000' } }));
  });
  after(async () => { await stopSuite({ stack, browser }); });

  // A widget with handoff (hours: its business_hours), its page open with
  // the first reply in; the page's client frames dropped when drop(frame).
  async function opened(hours, drop = () => false) {
    const r = await adminApi(stack, 'POST', '/v1/admin/widgets', { name: 'Shop', handoff_enabled: true, business_hours: hours });
    assert.equal(r.status, 201, r.text);
    const { ctx, page, log } = await openPage(browser);
    const sent = [];
    await page.routeWebSocket(/\/api\/widget\/.*\/ws/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => {
        sent.push(JSON.parse(m).type);
        if (!drop(JSON.parse(m))) server.send(m);
      });
      server.onMessage((m) => ws.send(m));
    });
    await page.goto(stack.host.widgetEmbedUrl(r.json.widget_id));
    await waitReady(page);
    await page.click(part('launcher'));
    await sendByKeyboard(page, 'hello');
    await waitReplyEnd(page);
    return { w: r.json, ctx, page, log, sent };
  }
  const handoffOf = async (w) => (await adminApi(stack, 'GET', '/v1/admin/conversations')).json.conversations
    .find((c) => c.widgetId === w.id).handoff;

  test('closed since the page opened: the press asks for an email, no person is asked yet', async () => {
    const { w, ctx, page, log, sent } = await opened(null);
    try {
      assert.deepEqual(await state(page), { button: 'Talk to a person', status: '', form: false });
      const r = await adminApi(stack, 'PATCH', `/v1/admin/widgets/${w.widget_id}`, { business_hours: CLOSED });
      assert.equal(r.status, 200, r.text);
      // the page is not told: it still offers a person
      assert.equal((await state(page)).button, 'Talk to a person');
      await page.click(part('handoff'));
      await page.waitForSelector(`${R} [data-part="away"]`);
      assert.deepEqual(await state(page), { button: 'Leave a message', status: '', form: true });
      assert.ok(!sent.includes('request_human'), JSON.stringify(sent));
      assert.equal(await handoffOf(w), 'ai');
      await assertClean(page, log, 'widget');
    } finally {
      await ctx.close();
    }
  });

  test('open since the page opened: the press asks for a person', async () => {
    const { w, ctx, page, log } = await opened(CLOSED);
    try {
      assert.equal((await state(page)).button, 'Leave a message');
      const r = await adminApi(stack, 'PATCH', `/v1/admin/widgets/${w.widget_id}`, { business_hours: null });
      assert.equal(r.status, 200, r.text);
      await page.click(part('handoff'));
      await waitWidget(page, ({ shadowRoot: root }) => root.querySelector('[data-part="handoff-status"]').textContent
        === 'Waiting for a person…', 'waiting for a person');
      assert.equal((await state(page)).form, false);
      await waitFor(async () => (await handoffOf(w)) === 'waiting_human', 10000, 'the conversation waiting');
      await assertClean(page, log, 'widget');
    } finally {
      await ctx.close();
    }
  });

  test('no answer to the availability asked for: the one known decides', async () => {
    const { w, ctx, page, log, sent } = await opened(null, (f) => f.type === 'availability');
    try {
      await page.click(part('handoff'));
      await waitWidget(page, ({ shadowRoot: root }) => root.querySelector('[data-part="handoff-status"]').textContent
        === 'Waiting for a person…', 'waiting for a person');
      assert.ok(sent.includes('availability') && sent.includes('request_human'), JSON.stringify(sent));
      await waitFor(async () => (await handoffOf(w)) === 'waiting_human', 10000, 'the conversation waiting');
      await assertClean(page, log, 'widget');
    } finally {
      await ctx.close();
    }
  });
});
