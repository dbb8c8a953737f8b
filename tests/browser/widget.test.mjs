// The widget in headless Chromium against the real daemons and the mock
// model (the "Must show"): open, send, the reply growing through
// intermediate states, the completed text equal to the stored message;
// reload restoring history and open state; left/right and the accent
// colour; stop ending the reply, stored as interrupted; a hostile reply
// rendered inert; keyboard-only use; a phone-sized screenshot with the
// panel filling the width, the panel (not the text area) focused when a
// touch screen opens it; an axe-core scan.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  SCREENSHOTS, SUITE_TIMEOUT, assertClean, assertStreamed, assistantMessages, axeSerious, conversationOfSession, focused,
  mockReply, openPage, part, pngSize, sendByKeyboard, startSuite, stopSuite, stored, waitReady, waitReplyEnd, waitStored, watchReply,
} from './lib/browser.mjs';

describe('the widget in Chromium', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;

  before(async () => { ({ stack, browser } = await startSuite({ mock: { chunks: 8, delayMs: 60 }, full: true })); });
  after(() => stopSuite({ stack, browser }));

  const embed = (q = '') => `${stack.host.origin}/embed.html${q}`;

  // The stored conversation of the page's session: {conversation, messages}.
  async function storedOf(page) {
    const sid = await page.evaluate(() => window.ParleyChat.sessionId);
    const conv = await conversationOfSession(stack.parley, sid);
    assert.ok(conv, `a stored conversation for session ${sid}`);
    return stored(stack.parley, conv._id);
  }

  describe('open, send, stream, reload', () => {
    let page;
    let log;
    let ctx;
    before(async () => { ({ page, log, ctx } = await openPage(browser)); });
    after(async () => { await ctx.close(); });

    test('open, send: the reply grows through intermediate states, then equals the stored message', async () => {
      await page.goto(embed());
      await waitReady(page);
      assert.equal(await page.isVisible(part('panel')), false, 'closed at first');
      await page.click(part('launcher'));
      await page.waitForSelector(part('panel'), { state: 'visible' });
      assert.equal(await focused(page), 'input', 'opening focuses the text area');

      // Record every text the reply shows while it streams.
      await watchReply(page);
      const question = 'hello from the browser';
      await sendByKeyboard(page, question);
      const m = await waitReplyEnd(page);
      assert.equal(m.state, 'done');
      const expected = `You said: ${question}`;
      assert.equal(m.text, expected);

      const states = await assertStreamed(page, expected);
      assert.ok(states[0].typing);
      assert.match(states[0].text, /^Thinking/);

      // The completed text is what the server stored.
      const api = await page.evaluate(() => window.ParleyChat.messages());
      assert.deepEqual(api, [
        { role: 'user', content: question, state: '' },
        { role: 'assistant', content: expected, state: 'done' },
      ]);
      const s = await storedOf(page);
      const last = s.messages[s.messages.length - 1];
      assert.equal(last.role, 'assistant');
      assert.equal(last.content, m.text, 'the DOM text equals the stored message');
      assert.equal(last.content, api[1].content, 'ParleyChat.messages() equals the stored message');
      assert.equal(last.status, 'complete');
      // The chat request told the page and the browser (issue 24).
      const told = await page.evaluate(() => ({ url: location.href.split('#')[0], ua: navigator.userAgent, lang: navigator.language, tz: Intl.DateTimeFormat().resolvedOptions().timeZone }));
      assert.deepEqual(s.conversation.visitor, { pageUrl: told.url, referrer: '', userAgent: told.ua, language: told.lang, timeZone: told.tz });
      assert.equal(s.conversation.lastVisitorMessage, question);
      const reply = await page.evaluate(() => window.__events.filter((e) => e.name === 'reply').map((e) => e.detail.text));
      assert.deepEqual(reply, [last.content], 'parley:reply carries the stored text');
      // Announced once, when finished (not token by token).
      await page.waitForFunction(() => document.getElementById('parley-chat-widget').shadowRoot
        .querySelector('[data-part="announcer"]').textContent.includes('You said'));
      assert.equal(await focused(page), 'input', 'the text area keeps the focus');
      await assertClean(page, log, 'send');
    });

    test('a reload restores the history and the open state', async () => {
      const before1 = await page.evaluate(() => ({ sid: window.ParleyChat.sessionId, msgs: window.ParleyChat.messages() }));
      assert.equal(await page.evaluate(() => localStorage.getItem('os-chatbot-widget-open')), 'true');
      await page.reload();
      await waitReady(page);
      await page.waitForFunction((n) => window.ParleyChat.messages().length === n, before1.msgs.length, { timeout: 10000 });
      const after1 = await page.evaluate(() => ({ sid: window.ParleyChat.sessionId, msgs: window.ParleyChat.messages(), open: window.ParleyChat.isOpen }));
      assert.equal(after1.sid, before1.sid, 'same session');
      assert.equal(after1.open, true, 'still open');
      assert.equal(await page.isVisible(part('panel')), true);
      assert.deepEqual(after1.msgs, before1.msgs, 'the same messages, in order');
      const hist = await page.evaluate(() => window.__events.filter((e) => e.name === 'history').length);
      assert.equal(hist, 1, 'one parley:history');
      assert.notEqual(await focused(page), 'input', 'a restored panel does not take the focus');

      // Closed, then reloaded: stays closed.
      await page.click(part('close'));
      assert.equal(await page.evaluate(() => localStorage.getItem('os-chatbot-widget-open')), 'false');
      await page.reload();
      await waitReady(page);
      assert.equal(await page.evaluate(() => window.ParleyChat.isOpen), false);
      assert.equal(await page.isVisible(part('panel')), false);
      await assertClean(page, log, 'reload');
    });

    test('stop ends the reply; the server stores it as interrupted', async () => {
      await page.click(part('launcher'));
      await sendByKeyboard(page, 'a long one [[mock:chunks=60,delay=150]]');
      // Wait for a few tokens, then stop.
      await page.waitForFunction(() => {
        const t = window.__events.filter((e) => e.name === 'send').length;
        const root = document.getElementById('parley-chat-widget').shadowRoot;
        const all = root.querySelectorAll('[data-part="message"][data-role="assistant"]:not([data-welcome])');
        const m = all[all.length - 1];
        const c = m && m.querySelector('[data-part="content"]');
        // The reply's own text (the typing indicator may linger for a frame).
        return t > 0 && c && m.getAttribute('data-state') === 'streaming' && !c.querySelector('[data-part="typing"]') && c.textContent.length >= 6;
      }, null, { timeout: 10000 });
      assert.equal(await page.isVisible(part('send')), false, 'Stop replaces Send while a reply streams');
      await page.click(part('stop'));
      const m = await waitReplyEnd(page, 5000);
      assert.equal(m.state, 'stopped');
      assert.ok(m.text.endsWith('Stopped.'), `the note: ${m.text}`);
      const partial = m.text.slice(0, -'Stopped.'.length);
      assert.ok('You said: a long one'.startsWith(partial) && partial.length >= 6, `partial text ${JSON.stringify(partial)}`);
      assert.equal(await page.isVisible(part('send')), true, 'Send is back');
      const stopEv = await page.evaluate(() => window.__events.filter((e) => e.name === 'stop').map((e) => e.detail.text));
      assert.deepEqual(stopEv, [partial]);

      const sid = await page.evaluate(() => window.ParleyChat.sessionId);
      const conv = await conversationOfSession(stack.parley, sid);
      const s = await waitStored(stack.parley, conv._id, (msgs) => msgs[msgs.length - 1].status === 'interrupted', 8000);
      const last = s.messages[s.messages.length - 1];
      assert.equal(last.role, 'assistant');
      assert.equal(last.status, 'interrupted', `stored status ${last.status}`);
      assert.ok(last.content.startsWith(partial), `stored ${JSON.stringify(last.content)} starts with what was shown`);
      // The model call was cancelled too.
      const stats = await stack.parley.mock.stats();
      assert.equal(stats.active_streams, 0, 'no stream left at the mock');
      await assertClean(page, log, 'stop');
    });
  });

  test('a hostile reply renders inert: no element, no handler, no javascript: link', async () => {
    const { page, log, ctx } = await openPage(browser);
    try {
      await page.goto(embed());
      await waitReady(page);
      await page.click(part('launcher'));
      const hostile = [
        'Look: <img src=x onerror="window.__pwned1=1;alert(1)"> and <script>window.__pwned2=1;alert(2)</script>',
        '[x](javascript:window.__pwned3=1) and <a href="javascript:alert(4)">y</a> [z](javascript:alert%283%29)',
        '<iframe src="javascript:alert(5)"></iframe> <svg onload=alert(6)><style>*{display:none}</style>',
        '**bold** and [safe](https://example.com/)',
      ].join('\n\n');
      await sendByKeyboard(page, `show ${mockReply(hostile)}`);
      const m = await waitReplyEnd(page);
      assert.equal(m.state, 'done');
      await page.waitForTimeout(300); // give any handler a chance to run
      assert.deepEqual(log.dialogs, [], 'no dialog');
      assert.deepEqual(await page.evaluate(() => [window.__pwned1, window.__pwned2, window.__pwned3]), [undefined, undefined, undefined]);
      const dom = await page.evaluate(() => {
        const root = document.getElementById('parley-chat-widget').shadowRoot;
        const all = root.querySelectorAll('[data-part="message"][data-role="assistant"]:not([data-welcome])');
        const c = all[all.length - 1].querySelector('[data-part="content"]');
        const tags = [...c.querySelectorAll('*')].map((e) => e.tagName.toLowerCase());
        const links = [...c.querySelectorAll('a')].map((a) => ({ href: a.getAttribute('href'), rel: a.getAttribute('rel'), target: a.getAttribute('target'), text: a.textContent }));
        const attrs = [...c.querySelectorAll('*')].flatMap((e) => [...e.attributes].map((a) => a.name)).filter((n) => n.startsWith('on') || n === 'style' || n === 'src');
        return { tags, links, attrs, text: c.textContent, imgs: root.querySelectorAll('img, script, iframe, svg style, object, embed').length };
      });
      assert.equal(dom.imgs, 0, 'no img, script or iframe element in the widget');
      for (const t of ['img', 'script', 'iframe', 'style', 'svg']) assert.ok(!dom.tags.includes(t), `no <${t}> in the reply (${dom.tags})`);
      assert.deepEqual(dom.attrs, [], 'no handler, style or src attribute');
      assert.deepEqual(dom.links, [{ href: 'https://example.com/', rel: 'noopener noreferrer', target: '_blank', text: 'safe' }], 'only the https link is a link');
      assert.ok(dom.tags.includes('strong'), 'Markdown still works');
      assert.ok(dom.text.includes('<img src=x onerror="window.__pwned1=1;alert(1)">'), 'the markup shows as text');
      assert.ok(dom.text.includes('<script>window.__pwned2=1;alert(2)</script>'));
      assert.ok(dom.text.includes('x and <a href="javascript:alert(4)">y</a> z'), `the javascript: links are their text only: ${dom.text}`);
      assert.ok(!log.requests.some((u) => /\/x$/.test(u)), 'the img src was never fetched');
      // The visitor's own bubble is plain text too.
      const userText = await page.evaluate(() => window.ParleyChat.messages()[0].content);
      assert.ok(userText.startsWith('show [[mock:reply='));
      await assertClean(page, log, 'hostile reply');
    } finally { await ctx.close(); }
  });

  test('data-position left/right and data-accent-color are applied; an invalid colour falls back', async () => {
    const vw = 1280;
    const cases = [
      { q: '?position=left&accent=%23ff0000', side: 'left', bg: 'rgb(255, 0, 0)', fg: 'rgb(0, 0, 0)' },
      { q: '?position=right&accent=%23123', side: 'right', bg: 'rgb(17, 34, 51)', fg: 'rgb(255, 255, 255)' },
      { q: '', side: 'right', bg: 'rgb(14, 165, 233)', fg: 'rgb(0, 0, 0)' },
      { q: '?accent=red%3Bbackground%3Aurl(x)', side: 'right', bg: 'rgb(14, 165, 233)', fg: 'rgb(0, 0, 0)', warn: true },
    ];
    for (const c of cases) {
      const { page, log, ctx } = await openPage(browser);
      try {
        await page.goto(embed(c.q));
        await waitReady(page);
        const lb = await page.locator(part('launcher')).boundingBox();
        assert.ok(lb && lb.width >= 44 && lb.height >= 44, `${c.q}: launcher visible ${JSON.stringify(lb)}`);
        if (c.side === 'left') assert.ok(Math.abs(lb.x - 20) <= 2, `${c.q}: launcher 20 px from the left (${lb.x})`);
        else assert.ok(Math.abs(vw - (lb.x + lb.width) - 20) <= 2, `${c.q}: launcher 20 px from the right (${lb.x})`);
        assert.equal(await page.getAttribute(part('root'), 'data-position'), c.side);
        const colors = await page.evaluate(() => {
          const l = document.getElementById('parley-chat-widget').shadowRoot.querySelector('[data-part="launcher"]');
          const s = getComputedStyle(l);
          return { bg: s.backgroundColor, fg: s.color };
        });
        assert.deepEqual(colors, { bg: c.bg, fg: c.fg }, `${c.q}: accent and the text on it`);
        await page.click(part('launcher'));
        const pb = await page.locator(part('panel')).boundingBox();
        if (c.side === 'left') assert.ok(pb.x <= 24, `${c.q}: panel on the left (${pb.x})`);
        else assert.ok(vw - (pb.x + pb.width) <= 24, `${c.q}: panel on the right (${pb.x}+${pb.width})`);
        // The send button carries the accent too.
        await page.fill(part('input'), 'x');
        const sendBg = await page.evaluate(() => getComputedStyle(document.getElementById('parley-chat-widget').shadowRoot.querySelector('[data-part="send"]')).backgroundColor);
        assert.equal(sendBg, c.bg, `${c.q}: send button`);
        const warned = log.console.some((m) => m.type === 'warning' && /data-accent-color/.test(m.text));
        assert.equal(warned, !!c.warn, `${c.q}: a warning for an invalid colour`);
        assert.equal(await page.evaluate(() => document.getElementById('parley-chat-widget').shadowRoot
          .querySelector('[data-part="root"]').getAttribute('style').includes('url(')), false, 'nothing of the attribute reached CSS');
        await assertClean(page, log, c.q);
      } finally { await ctx.close(); }
    }
  });

  test('keyboard only: Tab to the button, Enter opens, type, Shift+Enter, Enter sends, Tab order, Escape closes', async () => {
    const { page, log, ctx } = await openPage(browser);
    try {
      await page.goto(embed());
      await waitReady(page);
      let where = '';
      for (let i = 0; i < 10 && where !== 'launcher'; i++) {
        await page.keyboard.press('Tab');
        where = await focused(page);
      }
      assert.equal(where, 'launcher', 'Tab reaches the launcher');
      assert.equal(await page.getAttribute(part('launcher'), 'aria-expanded'), 'false');
      await page.keyboard.press('Enter');
      await page.waitForSelector(part('panel'), { state: 'visible' });
      assert.equal(await focused(page), 'input', 'Enter opens and focuses the text area');
      assert.equal(await page.getAttribute(part('launcher'), 'aria-expanded'), 'true');

      await page.keyboard.type('first line');
      await page.keyboard.press('Shift+Enter');
      await page.keyboard.type('second line');
      assert.equal(await page.inputValue(part('input')), 'first line\nsecond line', 'Shift+Enter adds a line');
      await page.keyboard.press('Enter');
      const m = await waitReplyEnd(page);
      assert.equal(m.state, 'done');
      assert.equal(m.text, 'You said: first line\nsecond line');
      assert.equal(await page.inputValue(part('input')), '', 'sent and cleared');
      assert.equal(await focused(page), 'input');

      // Tab order inside the panel: close → messages → input → send.
      await page.keyboard.press('Shift+Tab');
      assert.equal(await focused(page), 'messages');
      await page.keyboard.press('Shift+Tab');
      assert.equal(await focused(page), 'close');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'input');
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'send');
      // Then the launcher, the close button while open ("Close chat", the ×
      // icon): Enter closes, the focus stays on it ("Open chat"), Enter opens.
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'launcher');
      assert.equal(await page.getAttribute(part('launcher'), 'aria-label'), 'Close chat');
      const icons = () => page.evaluate(() => [...document.getElementById('parley-chat-widget').shadowRoot
        .querySelectorAll('[data-part="launcher"] svg')].map((s) => getComputedStyle(s).display !== 'none'));
      assert.deepEqual(await icons(), [false, true], 'the × icon while open');
      await page.keyboard.press('Enter');
      await page.waitForSelector(part('panel'), { state: 'hidden' });
      assert.equal(await focused(page), 'launcher');
      assert.equal(await page.getAttribute(part('launcher'), 'aria-expanded'), 'false');
      assert.equal(await page.getAttribute(part('launcher'), 'aria-label'), 'Open chat');
      assert.deepEqual(await icons(), [true, false], 'the chat icon while closed');
      await page.keyboard.press('Enter');
      await page.waitForSelector(part('panel'), { state: 'visible' });
      assert.equal(await focused(page), 'input');

      // Escape closes and gives the focus back to the button.
      await page.keyboard.press('Escape');
      await page.waitForSelector(part('panel'), { state: 'hidden' });
      assert.equal(await focused(page), 'launcher');
      // Space opens it again; the close button by keyboard closes it.
      await page.keyboard.press('Space');
      await page.waitForSelector(part('panel'), { state: 'visible' });
      assert.equal(await focused(page), 'input');
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Shift+Tab');
      assert.equal(await focused(page), 'close');
      await page.keyboard.press('Enter');
      await page.waitForSelector(part('panel'), { state: 'hidden' });
      assert.equal(await focused(page), 'launcher');
      await assertClean(page, log, 'keyboard');
    } finally { await ctx.close(); }
  });

  test('375×667: the open panel fills the width (screenshot saved)', async () => {
    const { page, log, ctx } = await openPage(browser, { viewport: { width: 375, height: 667 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      await page.goto(embed());
      await waitReady(page);
      await page.tap(part('launcher'));
      await page.waitForSelector(part('panel'), { state: 'visible' });
      // A touch screen: the panel itself takes the focus, not the text area
      // (whose keyboard would cover the page), and names the chat for a
      // screen reader: the dialog, by its title.
      assert.equal(await focused(page), 'panel', 'opening on a phone focuses the panel');
      assert.equal(await page.getByRole('dialog', { name: 'Assistant' }).evaluate((d) => d === d.getRootNode().activeElement), true,
        'the focus on the dialog named Assistant');
      await sendByKeyboard(page, 'hello from a phone');
      assert.equal((await waitReplyEnd(page)).state, 'done');
      const pb = await page.locator(part('panel')).boundingBox();
      assert.ok(Math.abs(pb.x) <= 1 && Math.abs(pb.width - 375) <= 1, `the panel fills the width: ${JSON.stringify(pb)}`);
      assert.ok(Math.abs(pb.y) <= 1 && Math.abs(pb.height - 667) <= 2, `and the height: ${JSON.stringify(pb)}`);
      assert.equal(await page.isVisible(part('launcher')), false, 'the button hides while the panel is open');
      const fs16 = await page.evaluate(() => getComputedStyle(document.getElementById('parley-chat-widget').shadowRoot.querySelector('[data-part="input"]')).fontSize);
      assert.equal(fs16, '16px', 'the text area uses 16 px text (no zoom on focus)');
      const ib = await page.locator(part('input')).boundingBox();
      assert.ok(ib.y + ib.height <= 667 && ib.y > 400, `the text area is on screen at the bottom: ${JSON.stringify(ib)}`);
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      const file = path.join(SCREENSHOTS, 'widget-375x667.png');
      await page.screenshot({ path: file });
      assert.deepEqual(pngSize(file), { width: 750, height: 1334 }, 'a 375×667 screenshot at 2x');
      await page.tap(part('close'));
      await page.waitForSelector(part('panel'), { state: 'hidden' });
      assert.equal(await focused(page), 'launcher', 'closing gives the focus back to the button');
      await assertClean(page, log, 'phone');
    } finally { await ctx.close(); }
  });

  test('axe-core: no serious or critical violation, closed and open, light and dark', async () => {
    for (const colorScheme of ['light', 'dark']) {
      const { page, log, ctx } = await openPage(browser, { colorScheme });
      try {
        await page.goto(embed());
        await waitReady(page);
        let r = await axeSerious(page, `${colorScheme}, closed`);
        assert.deepEqual(r.bad, [], `${r.what}: ${JSON.stringify(r.bad, null, 1)}`);
        await page.click(part('launcher'));
        await sendByKeyboard(page, 'Tell me **something** with `code` and [a link](https://example.com/)');
        assert.equal((await waitReplyEnd(page)).state, 'done');
        await sendByKeyboard(page, `fail [[mock:status=500]]`);
        await page.waitForSelector(part('error'));
        r = await axeSerious(page, `${colorScheme}, open with messages and an error`);
        assert.deepEqual(r.bad, [], `${r.what}: ${JSON.stringify(r.bad, null, 1)}`);
        // The same over Parley's own test page.
        await page.goto(`${stack.parleyOrigin}/widget-test.html`);
        await waitReady(page);
        await page.click(part('launcher'));
        r = await axeSerious(page, `${colorScheme}, /widget-test.html`);
        assert.deepEqual(r.bad, [], `${r.what}: ${JSON.stringify(r.bad, null, 1)}`);
        // The failed send was logged as a console error by the browser (HTTP 502): expected.
        log.console = log.console.filter((m) => !(m.type === 'error' && /502/.test(m.text)));
        await assertClean(page, log, `axe ${colorScheme}`);
      } finally { await ctx.close(); }
    }
  });
});
