// The widget at home on someone else's site: a page on another origin
// (http://localhost:PORT) whose CSP allows only 'self' and the Parley
// origin, and whose CSS attacks everything (* { all: unset !important },
// button and div hidden, transforms, tiny red text). The widget must still
// show, open, send and stream, with no CSP violation; and on a normal page
// it must change nothing of the page's own look. A page element of
// id="ParleyChat" (window.ParleyChat by named access) must not stop it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  SCREENSHOTS, SUITE_TIMEOUT, assertClean, focused, openPage, part, sendByKeyboard, startSuite, stopSuite, waitReady, waitReplyEnd,
} from './lib/browser.mjs';

describe('the widget on a hostile host page', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;

  before(async () => { ({ stack, browser } = await startSuite({ mock: { chunks: 6, delayMs: 40 } })); });
  after(() => stopSuite({ stack, browser }));

  test('a strict CSP (self + the Parley origin) and hostile CSS: the widget shows and works', async () => {
    const { page, log, ctx } = await openPage(browser);
    try {
      const res = await page.goto(`${stack.host.origin}/hostile.html`);
      const csp = res.headers()['content-security-policy'];
      assert.match(csp, /script-src 'self' http:\/\/127\.0\.0\.1:\d+;/, 'the host page sends its strict CSP');
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
      await waitReady(page);
      // The page's CSS did hit the page.
      assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('main button')).display), 'none');

      const lb = await page.locator(part('launcher')).boundingBox();
      assert.ok(lb, 'the launcher is rendered');
      assert.ok(Math.abs(lb.width - 56) <= 1 && Math.abs(lb.height - 56) <= 1, `launcher 56×56: ${JSON.stringify(lb)}`);
      assert.ok(lb.x > 1100 && lb.y > 700, `bottom right: ${JSON.stringify(lb)}`);
      assert.equal(await page.isVisible(part('launcher')), true);
      const icon = await page.evaluate(() => {
        const s = getComputedStyle(document.getElementById('parley-chat-widget').shadowRoot.querySelector('[data-part="launcher"] svg'));
        return { display: s.display, w: s.width };
      });
      assert.notEqual(icon.display, 'none', 'the icon shows');
      await page.click(part('launcher'));
      await page.waitForSelector(part('panel'), { state: 'visible' });
      const pb = await page.locator(part('panel')).boundingBox();
      assert.ok(pb.width >= 300 && pb.height >= 400, `a full-size panel: ${JSON.stringify(pb)}`);
      const look = await page.evaluate(() => {
        const r = document.getElementById('parley-chat-widget').shadowRoot;
        const cs = (sel) => getComputedStyle(r.querySelector(sel));
        return {
          input: cs('[data-part="input"]').fontSize,
          inputDisplay: cs('[data-part="input"]').display,
          title: cs('[data-part="title"]').fontSize,
          color: cs('[data-part="title"]').color,
          send: cs('[data-part="send"]').display,
          host: getComputedStyle(document.getElementById('parley-chat-widget')).position,
        };
      });
      assert.equal(look.input, '16px');
      assert.notEqual(look.inputDisplay, 'none');
      assert.notEqual(look.send, 'none');
      assert.notEqual(look.title, '3px', 'the page\'s font size does not reach in');
      assert.notEqual(look.color, 'rgb(255, 0, 0)', 'nor its colour');
      assert.equal(look.host, 'fixed', 'the host element keeps its own :host rules');
      assert.equal(await page.isVisible(part('typing')), false);

      await sendByKeyboard(page, 'hello from a hostile page');
      const m = await waitReplyEnd(page);
      assert.deepEqual(m, { state: 'done', text: 'You said: hello from a hostile page' });
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'widget-hostile-page.png') });
      // The bundle came from the Parley origin, the chat went there too.
      assert.ok(log.requests.some((u) => u === `${stack.parleyOrigin}/widget/chat-widget.js`));
      assert.ok(log.requests.some((u) => u === `${stack.parleyOrigin}/chat`));
      await page.keyboard.press('Escape');
      await page.waitForSelector(part('panel'), { state: 'hidden' });
      await assertClean(page, log, 'hostile page');
    } finally { await ctx.close(); }
  });

  test('the widget changes nothing of the host page\'s own look', async () => {
    const probe = () => {
      const out = {};
      for (const sel of ['html', 'body', 'h1', 'p', '#host-link', '#host-button', '.box', 'main']) {
        const s = getComputedStyle(document.querySelector(sel));
        out[sel] = ['display', 'font-family', 'font-size', 'color', 'background-color', 'margin', 'padding', 'line-height', 'box-sizing', 'position', 'transform', 'outline'].map((k) => s.getPropertyValue(k)).join('|');
      }
      out.sheets = document.styleSheets.length;
      out.adopted = document.adoptedStyleSheets.length;
      out.bodyChildren = [...document.body.children].filter((e) => e.tagName !== 'SCRIPT').map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')).join(',');
      out.htmlChildren = [...document.documentElement.children].map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')).join(',');
      out.scroll = document.documentElement.scrollWidth + 'x' + document.documentElement.scrollHeight;
      return out;
    };
    const a = await openPage(browser);
    const b = await openPage(browser);
    try {
      await a.page.goto(`${stack.host.origin}/embed.html?nowidget=1`);
      await b.page.goto(`${stack.host.origin}/embed.html`);
      await waitReady(b.page);
      await b.page.click(part('launcher'));
      await b.page.waitForSelector(part('panel'), { state: 'visible' });
      const without = await a.page.evaluate(probe);
      const withW = await b.page.evaluate(probe);
      // The host goes on <html>, after body: a body with a transform
      // would hold a fixed launcher inside it, a page swapping its body
      // would drop it.
      assert.equal(withW.bodyChildren, without.bodyChildren, 'body\'s children untouched');
      assert.equal(withW.htmlChildren, `${without.htmlChildren},div#parley-chat-widget`, 'one element added, at the end of html');
      delete withW.htmlChildren;
      delete without.htmlChildren;
      assert.deepEqual(withW, without, 'the same computed styles, style sheets and page size');
      await assertClean(b.page, b.log, 'plain page');
    } finally {
      await a.ctx.close();
      await b.ctx.close();
    }
  });

  // A documentation site's shortcuts (DocSearch's "/", MkDocs Material's
  // "/", "s" and "n"): a key is the page's unless typed in an input or a
  // text area, judged by the event's target, which past the shadow root
  // is the host element. Without the widget stopping the keys typed in its
  // fields, "how do I run a/b tests now?" went to the next page at the
  // "n" of "run" and to the page's search box at the "/".
  test('a page\'s keyboard shortcuts do not take the keys typed in the widget', async () => {
    stack.host.custom = (u) => {
      if (u.pathname === '/keys.js') {
        return { type: 'text/javascript', body: `
          const typing = (e) => e.target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName);
          window.__keys = [];
          for (const t of ['keydown', 'keypress', 'keyup']) window.addEventListener(t, (e) => typing(e) || window.__keys.push(t + ' ' + e.key));
          window.addEventListener('keydown', (e) => {
            if (typing(e)) return;
            if (e.key === '/' || e.key === 's') { e.preventDefault(); document.getElementById('q').focus(); }
            if (e.key === 'n') location.hash = 'next';
          });` };
      }
      if (u.pathname === '/docs.html') {
        return { type: 'text/html', body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Docs</title>
<link rel="icon" href="data:,"><script src="/keys.js"></script></head>
<body><main><h1>Docs</h1><input id="q" aria-label="Search the docs"></main>${stack.host.embedTag(new URLSearchParams())}</body></html>` };
      }
      return null;
    };
    const { page, log, ctx } = await openPage(browser);
    try {
      await page.goto(`${stack.host.origin}/docs.html`);
      await waitReady(page);
      // the page's own shortcut works outside the widget
      await page.keyboard.press('/');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'q', 'the page\'s "/" focuses its search');
      await page.evaluate(() => { document.activeElement.blur(); window.__keys = []; });
      await page.click(part('launcher'));
      await page.waitForSelector(part('panel'), { state: 'visible' });
      await page.click(part('input'));
      const text = 'how do I run a/b tests now?';
      await page.keyboard.type(text);
      assert.equal(await page.$eval(part('input'), (e) => e.value), text, 'every key went into the text area');
      assert.equal(await focused(page), 'input', 'the focus stayed in the text area');
      assert.equal(await page.evaluate(() => location.hash), '', 'no shortcut took the page elsewhere');
      assert.deepEqual(await page.evaluate(() => window.__keys), [], 'the page saw none of the keys typed in the widget');
      await page.press(part('input'), 'Enter');
      assert.deepEqual(await waitReplyEnd(page), { state: 'done', text: `You said: ${text}` });
      // outside a field (the launcher), keys still reach the page
      await page.focus(part('launcher'));
      await page.keyboard.press('s');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'q', 'the page\'s "s" from the widget\'s button');
      await assertClean(page, log, 'shortcuts page');
    } finally {
      stack.host.custom = null;
      await ctx.close();
    }
  });
  test('a page element of id="ParleyChat" (window.ParleyChat by named access) does not stop the widget; a second copy of the script still does nothing', async () => {
    const { page, log, ctx } = await openPage(browser);
    const tag = stack.host.embedTag(new URLSearchParams());
    const pages = {
      '/named.html': '<div id="ParleyChat">The site\'s own box</div>',
      '/named-twice.html': '<p id="ParleyChat">one</p><p id="ParleyChat">two</p>',
      '/two-copies.html': '<div id="ParleyChat">a box</div>' + tag,
    };
    stack.host.custom = (u) => (pages[u.pathname] === undefined ? null : {
      type: 'text/html; charset=utf-8',
      body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Named</title><link rel="icon" href="data:,"></head><body><main>${pages[u.pathname]}</main>${tag}</body></html>`,
    });
    try {
      for (const name of Object.keys(pages)) {
        await page.goto(`${stack.host.origin}${name}`);
        await page.waitForSelector(part('launcher'), { state: 'visible' });
        assert.equal(await page.evaluate(() => typeof window.ParleyChat.send), 'function', `${name}: the widget's own API`);
        assert.equal(await page.evaluate(() => document.querySelectorAll('#parley-chat-widget').length), 1, `${name}: one widget`);
        assert.equal(await page.evaluate(() => document.getElementById('ParleyChat').parentElement.tagName), 'MAIN', `${name}: the page's element is left where it was`);
      }
      assert.ok(log.console.some((m) => m.type === 'warning' && /already loaded/.test(m.text)), 'the second copy said so');
      await page.click(part('launcher'));
      await sendByKeyboard(page, 'hello beside a named element');
      assert.deepEqual(await waitReplyEnd(page), { state: 'done', text: 'You said: hello beside a named element' });
      await assertClean(page, log, 'named element');
    } finally {
      stack.host.custom = null;
      await ctx.close();
    }
  });
});
