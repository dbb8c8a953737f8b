// Grounded answers in the widget, in headless Chromium against the real
// daemons and the mock model: a widget whose agent has knowledge sources
// (a qa pair, and a page of the host site crawled by the fetcher) shows
// under the answer the sources it cites: their number, the page's title
// as a link to it (opened in a new tab, no opener), a qa pair's question
// as text; a title holding markup shown as text. The sources part loads
// only when an answer cites something. A reload shows them again under
// the answer of the history. The visitor's other tab shows the
// answer's copy the same: its sources under it, and the typing indicator
// while it is written. axe-core in light and dark; screenshots in
// build/test/screenshots/widget-sources-*.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  PHONE, SCREENSHOTS, SUITE_TIMEOUT, adminApi, axeLightDark, openPage, part, sendByKeyboard, startSuite, stopSuite, waitFor, waitReady,
  waitReplyEnd, watchReply,
} from './lib/browser.mjs';

const R = '#parley-chat-widget';

describe('the widget shows the sources an answer cites', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let desk;
  let phone;
  let w;
  let plain;
  const t0 = Date.now();

  function hostPage(u) {
    const { parleyOrigin } = stack;
    if (u.pathname === '/docs/descaling') {
      return { type: 'text/html; charset=utf-8', body: '<!doctype html><html lang="en"><head><title>Descaling &lt;b&gt;guide&lt;/b&gt;</title></head>' +
        '<body><main><h1>Descaling</h1><p>Descale the kettle every month with citric acid.</p></main></body></html>' };
    }
    if (u.pathname !== '/k/') return null;
    return {
      type: 'text/html; charset=utf-8',
      body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Kettles</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"></head>
<body><main><h1>Kettles</h1></main><script src="${parleyOrigin}/api/widget/embed.js" data-widget="${u.searchParams.get('w')}"></script></body></html>`,
    };
  }

  async function api(method, p, body) {
    const r = await adminApi(stack, method, p, body);
    assert.ok(r.status < 300, `${method} ${p}: ${r.status} ${r.text}`);
    return r.json;
  }

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 2, delayMs: 10 }, env: { PARLEY_KNOWLEDGE_ALLOW_PRIVATE: 'on' } }));
    stack.host.custom = hostPage;
    const qa = await api('POST', '/v1/admin/knowledge/sources', { type: 'qa',
      question: 'How long is the warranty?', answer: 'The warranty lasts two years.' });
    const crawl = await api('POST', '/v1/admin/knowledge/sources', { type: 'crawl', url: `${stack.host.origin}/docs/descaling` });
    await waitFor(async () => (await adminApi(stack, 'GET', `/v1/admin/knowledge/sources/${crawl.id}`)).json.status === 'ready',
      20000, 'the page crawled');
    const agent = await api('POST', '/v1/admin/agents', { name: 'Kettle help', knowledge_source_ids: [qa.id, crawl.id] });
    w = await api('POST', '/v1/admin/widgets', { name: 'Kettles', agent_id: agent.id, allowed_origins: [] });
    plain = await api('POST', '/v1/admin/widgets', { name: 'Plain', allowed_origins: [] });
    desk = await openPage(browser);
    phone = await openPage(browser, PHONE);
  });
  after(async () => {
    if (desk) await desk.ctx.close();
    if (phone) await phone.ctx.close();
    await stopSuite({ stack, browser });
    console.log(`# knowledge.test.mjs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  async function ask(who, widgetId, text) {
    await who.page.goto(`${stack.host.origin}/k/?w=${widgetId}`);
    await waitReady(who.page);
    if (!(await who.page.isVisible(part('panel')))) await who.page.click(part('launcher'));
    await who.page.waitForSelector(part('input'));
    // (Enter is ignored until the socket is up: sendByKeyboard waits for it.)
    await sendByKeyboard(who.page, text);
    await waitReplyEnd(who.page);
  }

  // What the newest answer's sources show: [{text, href, target, rel}].
  const shown = (page) => page.evaluate((r) => {
    const all = document.querySelector(r).shadowRoot.querySelectorAll('[data-role=assistant]');
    const box = all[all.length - 1].querySelector('[data-part=sources]');
    if (!box) return null;
    return {
      label: box.querySelector('span').textContent,
      items: [...box.querySelectorAll('li')].map((li) => {
        const a = li.querySelector('a');
        return { text: li.textContent, href: a && a.getAttribute('href'), target: a && a.target, rel: a && a.rel, tags: li.querySelectorAll('b').length };
      }),
    };
  }, R);

  test('an answer citing a page and a qa pair shows both under it', async () => {
    await ask(desk, w.widget_id, 'what about the warranty and descaling the kettle?');
    await waitFor(async () => (await shown(desk.page)) !== null, 5000, 'the sources shown');
    const s = await shown(desk.page);
    assert.equal(s.label, 'Sources');
    assert.equal(s.items.length, 2, JSON.stringify(s));
    const page = s.items.find((i) => i.href);
    assert.equal(page.href, `${stack.host.origin}/docs/descaling`);
    assert.equal(page.target, '_blank');
    assert.equal(page.rel, 'noopener noreferrer');
    assert.match(page.text, /^\[\d\] Descaling <b>guide<\/b>$/, 'the title shown as text');
    assert.equal(page.tags, 0, 'no markup made of the title');
    const qa = s.items.find((i) => !i.href);
    assert.match(qa.text, /^\[\d\] How long is the warranty\?$/);
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await desk.page.screenshot({ path: path.join(SCREENSHOTS, 'widget-sources-1280x800.png') });
    assert.deepEqual(await axeLightDark(desk.page, 'an answer with its sources'), []);
  });

  test('a reload keeps them: the history shows the answer\'s sources as it did live, the thread too', async () => {
    const live = await shown(desk.page);
    assert.ok(live, 'the answer of the test before, with its sources');
    await desk.page.reload();
    await waitReady(desk.page);
    if (!(await desk.page.isVisible(part('panel')))) await desk.page.click(part('launcher'));
    await waitFor(async () => (await desk.page.evaluate(() => window.ParleyChat.messages().length)) === 2, 10000, 'the history shown');
    await waitFor(async () => (await shown(desk.page)) !== null, 5000, 'the sources shown under the answer of the history');
    assert.deepEqual(await shown(desk.page), live, 'the same sources, as text');
    // the admin thread shows them too (the dashboard's, escaped: dashboard-thread)
    const convs = (await api('GET', `/v1/admin/conversations?widget=${encodeURIComponent(w.id)}`)).conversations;
    assert.equal(convs.length, 1);
    const answer = (await api('GET', `/v1/admin/conversations/${convs[0]._id}`)).messages.find((m) => m.role === 'assistant');
    assert.deepEqual(answer.citations.map((c) => c.title).sort(), ['Descaling <b>guide</b>', 'How long is the warranty?']);
  });

  test('the visitor\'s other tab shows the answer with the same sources, and the typing indicator while it is written', async () => {
    const one = await openPage(browser);
    const count = (page) => page.evaluate(() => window.ParleyChat.messages().length);
    try {
      await ask(one, w.widget_id, 'hello');
      // the same browser's second tab: the same session, its history
      const two = { page: await one.ctx.newPage() };
      await two.page.goto(`${stack.host.origin}/k/?w=${w.widget_id}`);
      await waitReady(two.page);
      await waitFor(async () => (await count(two.page)) === 2, 10000, 'the history in the second tab');
      // what the second tab shows of the answer, from the question's copy on
      await watchReply(two.page);
      await sendByKeyboard(one.page, 'what about the warranty and descaling the kettle?');
      await waitReplyEnd(one.page);
      await waitFor(async () => (await shown(one.page)) !== null, 5000, 'the sources shown in the tab that asked');
      await waitFor(async () => (await count(two.page)) === 4, 10000, 'the answer\'s copy in the second tab');
      await waitFor(async () => (await shown(two.page)) !== null, 5000, 'the sources shown in the second tab');
      const s = await shown(one.page);
      assert.equal(s.items.length, 2, JSON.stringify(s));
      assert.deepEqual(await shown(two.page), s, 'the same sources in both tabs');
      const states = await two.page.evaluate(() => window.__states);
      assert.ok(states.some((x) => x.state === 'pending' && x.typing), `the typing indicator while it was written: ${JSON.stringify(states)}`);
      assert.equal(states[states.length - 1].state, 'done');
      assert.deepEqual(await two.page.evaluate(() => window.ParleyChat.messages()), await one.page.evaluate(() => window.ParleyChat.messages()));
      // a reply that fails (the model refuses it): the other tab's typing stops too
      await watchReply(two.page);
      await sendByKeyboard(one.page, 'and the lid? [[mock:status=400]]');
      await one.page.waitForSelector(part('error'));
      await waitFor(async () => (await count(two.page)) === 5, 10000, 'the question\'s copy, and no typing after the failure');
      const after = await two.page.evaluate(() => window.__states);
      assert.ok(after.some((x) => x.state === 'pending' && x.typing), `the typing indicator until it failed: ${JSON.stringify(after)}`);
      assert.deepEqual(await two.page.evaluate(() => window.ParleyChat.messages()), await one.page.evaluate(() => window.ParleyChat.messages()));
    } finally { await one.ctx.close(); }
  });

  test('on a phone too; an answer citing nothing loads no sources part', async () => {
    await ask(phone, w.widget_id, 'the warranty, please');
    await waitFor(async () => (await shown(phone.page)) !== null, 5000, 'the sources shown');
    await phone.page.screenshot({ path: path.join(SCREENSHOTS, 'widget-sources-390x844.png') });
    const requests = [];
    desk.page.on('request', (r) => requests.push(r.url()));
    await ask(desk, plain.widget_id, 'hello there');
    assert.equal(await shown(desk.page), null);
    assert.ok(!requests.some((u) => /parts\/sources/.test(u)), 'the sources part was not loaded');
  });
});
