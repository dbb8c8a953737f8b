// Parley's own test pages in Chromium, under the CSP they are served with:
// /widget-test.html (the widget set up for this server, its events, the JS
// API buttons, the embed snippet) and /headless-test.html (POST
// /v1/chat/stream, /chat and /v1/chat from a form: the raw NDJSON lines and
// the assembled reply; the history); at a phone's 390 px, none wider than
// the screen; / as their page of links.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  SCREENSHOTS, SHOT_TIMEOUT, SUITE_TIMEOUT, assertClean, axeSerious, conversationOfSession, openPage, part, sendByKeyboard, startSuite, stopSuite, stored, waitReady, waitReplyEnd,
} from './lib/browser.mjs';

describe('the test pages', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;

  before(async () => { ({ stack, browser } = await startSuite({ mock: { chunks: 8, delayMs: 40 } })); });
  after(() => stopSuite({ stack, browser }));

  test('/widget-test.html: the widget works on it; events, buttons and the embed snippet', async () => {
    const { page, log, ctx } = await openPage(browser);
    try {
      const res = await page.goto(`${stack.parleyOrigin}/widget-test.html`);
      assert.equal(res.status(), 200);
      assert.match(res.headers()['content-security-policy'], /script-src 'self';/);
      await waitReady(page);
      await page.waitForFunction(() => /Widget ready/.test(document.getElementById('status').textContent), null, { timeout: 5000 });
      const key = await page.evaluate(() => document.querySelector('script[src$="/widget/chat-widget.js"]').dataset.apiKey);
      assert.equal(key, stack.parley.widgetKey, 'the key the server rendered into data-api-key');
      const snippet = await page.textContent('#snippet');
      assert.ok(snippet.includes(`src="${stack.parleyOrigin}/widget/chat-widget.js"`), snippet);
      assert.ok(snippet.includes(`data-api-url="${stack.parleyOrigin}/chat"`), snippet);

      await page.click('#btn-open');
      await page.waitForSelector(part('panel'), { state: 'visible' });
      await sendByKeyboard(page, 'hello test page');
      const m = await waitReplyEnd(page);
      assert.deepEqual(m, { state: 'done', text: 'You said: hello test page' });
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'widget-test-page.png') });
      const events = await page.$$eval('#events li', (lis) => lis.map((li) => li.textContent));
      for (const n of ['parley:ready', 'parley:open', 'parley:send', 'parley:reply']) {
        assert.ok(events.some((e) => e.startsWith(n)), `the page lists ${n}: ${events}`);
      }
      const sid = await page.textContent('#session');
      assert.equal(sid, await page.evaluate(() => window.ParleyChat.sessionId));
      const conv = await conversationOfSession(stack.parley, sid);
      const s = await stored(stack.parley, conv._id);
      assert.equal(s.messages[s.messages.length - 1].content, 'You said: hello test page');

      await page.click('#btn-reset');
      await page.waitForFunction((old) => window.ParleyChat.sessionId !== old, sid);
      assert.equal(await page.textContent('#session'), await page.evaluate(() => window.ParleyChat.sessionId));
      assert.deepEqual(await page.evaluate(() => window.ParleyChat.messages()), []);
      await page.click('#btn-close');
      await page.waitForSelector(part('panel'), { state: 'hidden' });
      await assertClean(page, log, '/widget-test.html');
    } finally { await ctx.close(); }
  });

  test('at 390 px (a phone) no page grows wider than the screen; / links to them', async () => {
    const { page, log, ctx } = await openPage(browser, { viewport: { width: 390, height: 844 } });
    try {
      for (const p of ['/', '/widget-test.html', '/headless-test.html', '/test-pages/embed-test.html']) {
        const res = await page.goto(`${stack.parleyOrigin}${p}`);
        assert.equal(res.status(), 200, p);
        if (p === '/widget-test.html') {
          // The event log's lines (a reply's 32-digit ids, nowhere to break) were what grew it.
          await waitReady(page);
          await page.click('#btn-open');
          await sendByKeyboard(page, 'hello from a phone');
          await waitReplyEnd(page);
          // The panel covers a phone's screen: closed by the JS API.
          await page.evaluate(() => window.ParleyChat.close());
          await page.waitForSelector(part('panel'), { state: 'hidden' });
        }
        const w = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(w <= 390, `${p} is ${w} px wide at 390`);
      }
      await page.goto(`${stack.parleyOrigin}/`);
      const links = await page.$$eval('main a', (as) => as.map((a) => a.getAttribute('href')));
      for (const href of ['/dashboard/', '/widget-test.html', '/headless-test.html', '/v1/openapi.json']) assert.ok(links.includes(href), href);
      // Each embed says when to use it: the key's tag for a site moving from the Open Chat
      // Widget; the tag by widget id for most sites, and for one moving from Loquent.
      const when = await page.$$eval('main li', (lis) => Object.fromEntries(lis.map((li) =>
        [li.querySelector('a').getAttribute('href'), li.textContent.replace(/\s+/g, ' ')])));
      assert.match(when['/widget-test.html'], /Use it on a site moving from the Open Chat Widget/);
      assert.match(when['/test-pages/embed-test.html'], /Use it on most sites: .*a site moving from Loquent keeps its tag/);
      assert.doesNotMatch(JSON.stringify(when), /the Loquent way/, 'no unexplained "the Loquent way"');
      for (const [p, sel, re] of [['/widget-test.html', '#snippet-when', /use it on a site moving from the Open Chat Widget\. Most sites use the embed by widget id/],
        ['/test-pages/embed-test.html', '#embed-when', /the one for most sites\. It is also the Loquent widget module's embed/]]) {
        await page.goto(`${stack.parleyOrigin}${p}`);
        assert.match((await page.textContent(sel)).replace(/\s+/g, ' '), re, p);
      }
      await page.goto(`${stack.parleyOrigin}/`);
      const ax = await axeSerious(page, '/');
      assert.deepEqual(ax.bad, [], `axe: ${JSON.stringify(ax.bad, null, 1)}`);
      await assertClean(page, log, 'the pages at 390 px');
    } finally { await ctx.close(); }
  });

  test('/headless-test.html: a stream shows its raw NDJSON lines and the assembled reply; JSON and history too', async () => {
    const { page, log, ctx } = await openPage(browser);
    try {
      const res = await page.goto(`${stack.parleyOrigin}/headless-test.html`);
      assert.equal(res.status(), 200);
      assert.equal(await page.inputValue('#api-key'), stack.parley.widgetKey, 'the key is filled in');
      const sid = await page.inputValue('#session-id');
      assert.match(sid, /^headless-[0-9a-f]{16}$/);

      await page.selectOption('#endpoint', '/v1/chat/stream');
      await page.fill('#message', 'hello headless');
      await page.click('#send');
      await page.waitForFunction(() => /^Done/.test(document.getElementById('status').textContent), null, { timeout: 10000 });
      const raw = await page.textContent('#raw');
      const lines = raw.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines[0].type, 'start');
      assert.equal(lines[lines.length - 1].type, 'done');
      const tokens = lines.filter((l) => l.type === 'token');
      assert.ok(tokens.length >= 2, `several token lines: ${raw}`);
      assert.equal(tokens.map((t) => t.token).join(''), 'You said: hello headless');
      assert.equal(await page.textContent('#reply'), 'You said: hello headless');
      assert.equal(await page.textContent('#http-status'), '200 OK');
      assert.match(await page.textContent('#content-type'), /^application\/x-ndjson/);
      assert.equal(await page.textContent('#conversation-id'), lines[0].conversationId);
      assert.equal(await page.textContent('#token-count'), String(tokens.length));
      assert.match(await page.textContent('#ttft'), /^\d+ ms$/);

      await page.screenshot({ path: path.join(SCREENSHOTS, 'headless-test-page.png'), fullPage: true, timeout: SHOT_TIMEOUT });

      // /chat (the widget's path) and /v1/chat (JSON) in the same session.
      await page.selectOption('#endpoint', '/chat');
      await page.fill('#message', 'second');
      await page.click('#send');
      await page.waitForFunction(() => /^Done/.test(document.getElementById('status').textContent) && document.getElementById('reply').textContent === 'You said: second', null, { timeout: 10000 });
      await page.selectOption('#endpoint', '/v1/chat');
      await page.fill('#message', 'third');
      await page.click('#send');
      await page.waitForFunction(() => /^Done \(JSON/.test(document.getElementById('status').textContent), null, { timeout: 10000 });
      const j = JSON.parse(await page.textContent('#raw'));
      assert.deepEqual(Object.keys(j).sort(), ['conversationId', 'message']);
      assert.equal(j.message, 'You said: third');
      assert.equal(j.conversationId, lines[0].conversationId, 'one conversation for the session');
      assert.equal(await page.textContent('#reply'), 'You said: third');

      await page.click('#history');
      await page.waitForFunction(() => /History loaded/.test(document.getElementById('status').textContent), null, { timeout: 5000 });
      const h = JSON.parse(await page.textContent('#raw'));
      assert.equal(h.sessionId, sid);
      assert.deepEqual(h.messages.map((x) => x.content), ['hello headless', 'You said: hello headless', 'second', 'You said: second', 'third', 'You said: third']);

      const ax = await axeSerious(page, '/headless-test.html');
      assert.deepEqual(ax.bad, [], `axe: ${JSON.stringify(ax.bad, null, 1)}`);

      // A wrong key shows the server's answer.
      await page.fill('#api-key', 'wrong-key-0123456789-0123456789');
      await page.click('#send');
      await page.waitForFunction(() => /answered 401/.test(document.getElementById('status').textContent), null, { timeout: 5000 });
      assert.deepEqual(JSON.parse(await page.textContent('#raw')), { error: 'Unauthorized' });
      // The browser logs the 401 as a failed resource load: expected.
      log.console = log.console.filter((m) => !(m.type === 'error' && /401/.test(m.text)));
      await assertClean(page, log, '/headless-test.html');
    } finally { await ctx.close(); }
  });
});
