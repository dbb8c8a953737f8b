// Issue 26's widget platform in headless Chromium, against the real daemons
// and the mock model: the parts and languages the core imports only when
// needed (English loads no language file; German by data-lang, Arabic by
// <html lang> and right to left, not for a three-letter "arn", Japanese
// by the widget's config, a
// data-* text over the language, a failed load falling back to English),
// the layouts (inline and fullpage at desktop and phone sizes, an inline
// widget without its element falling back to the bubble, the expand
// button), unread (a person's reply to a closed panel: the count on the
// launcher, its label, the live region, the page title, the sound, kept
// over a reload until opened), the starter questions, the proactive bubble
// (a matching path only, once a day), ParleyChat.open({message}) and
// ParleyChat.send() before the socket is up. axe-core in light and dark on
// each new state; screenshots in build/test/screenshots/widget-features-*.png.
//
// The host pages are the host site's (its strict CSP on each): /f/<any
// path>?… (query: w, the widget's
// public id, or key=1 for the data-api-url embed; lang, the <html lang>;
// a, a JSON object of data-* attributes; box=1, an element #chat-box of
// 520 px for data-layout="inline").
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  PHONE, SCREENSHOTS, SUITE_TIMEOUT, adminApi, assertClean, axeLightDark, openPage, part, startSuite, stopSuite, waitFor, waitReady,
  waitReplyEnd,
} from './lib/browser.mjs';

const said = (m) => `You said: ${m}`; // the mock model's answer
const R = '#parley-chat-widget';
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

describe('widget parts, languages, layouts, unread, starters, proactive', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let desk; // {ctx, page, log}: 1280×800
  let phone; // {ctx, page, log}: 390×844
  let plain; // a widget with no issue 26 settings
  let ja; // language "ja"
  let shop; // starters, proactive on /shop/*, unread sound and title
  let asker; // starters and a required contact form
  const t0 = Date.now();

  // The host site's /f/** pages (see the top of this file).
  function hostPage(u) {
    const { parleyOrigin } = stack;
    if (!u.pathname.startsWith('/f/')) return null;
    if (u.pathname === '/f/features.css') {
      return { type: 'text/css', body: 'body{margin:0;font:16px/1.4 Georgia,serif}main{padding:16px}#chat-box{height:520px;max-width:640px;margin:16px 0}' };
    }
    const q = u.searchParams;
    const attrs = JSON.parse(q.get('a') || '{}');
    const tag = q.get('key')
      ? [`src="${parleyOrigin}/widget/chat-widget.js"`, `data-api-url="${parleyOrigin}/chat"`, `data-api-key="${esc(stack.parley.widgetKey)}"`]
      : [`src="${parleyOrigin}/api/widget/embed.js"`, `data-widget="${esc(q.get('w'))}"`];
    for (const [k, v] of Object.entries(attrs)) tag.push(`data-${k}="${esc(v)}"`);
    return {
      type: 'text/html; charset=utf-8',
      body: `<!doctype html><html lang="${esc(q.get('lang') || 'en')}"><head><meta charset="utf-8"><title>Shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><link rel="stylesheet" href="/f/features.css"></head>
<body><main><h1>A shop</h1><p>Some text of the site.</p>${q.get('box') ? '<div id="chat-box"></div>' : ''}</main>
<script ${tag.join(' ')}></script></body></html>`,
    };
  }

  const url = (p, q) => `${stack.host.origin}/f${p}?${new URLSearchParams(q)}`;

  // A new page, as a new visitor's: its session token dropped, the rest
  // of the widget's storage kept.
  async function go(who, p, q) {
    if (who.page.url().startsWith(stack.host.origin)) {
      await who.page.evaluate(() => Object.keys(localStorage).filter((k) => /^parley:.*:token$/.test(k)).forEach((k) => localStorage.removeItem(k)));
    }
    who.log.requests.length = 0;
    who.log.console.length = 0;
    await who.page.goto(url(p, q));
    await waitReady(who.page);
  }

  function shot(page, name) {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    return page.screenshot({ path: path.join(SCREENSHOTS, `widget-features-${name}.png`) });
  }

  async function widget(body) {
    const r = await adminApi(stack, 'POST', '/v1/admin/widgets', { allowed_origins: [], ...body });
    assert.equal(r.status, 201, `create widget: ${r.text}`);
    return r.json;
  }

  // Opens the panel with the launcher (a panel left open on the last page opens by itself).
  async function openPanel(page) {
    if (!(await page.isVisible(part('panel')))) await page.click(part('launcher'));
    await page.waitForSelector(part('input'));
  }

  const connected = (page) => page.waitForFunction((r) => {
    const s = document.querySelector(r).shadowRoot.querySelector('[data-part="send"]');
    return !s.disabled && s.offsetParent;
  }, R, { timeout: 10000 });

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 2, delayMs: 10 } }));
    stack.host.custom = hostPage;
    [plain, ja, shop, asker] = await Promise.all([
      widget({ name: 'Plain shop' }),
      widget({ name: 'Shop JP', language: 'ja' }),
      widget({
        name: 'Shop', handoff_enabled: true, unread_sound: true, unread_title: true,
        starter_questions: ['What are your prices?', 'Do you ship abroad?'],
        proactive_message: 'Need help choosing a size?', proactive_delay_s: 0, proactive_path: '/f/shop/*',
      }),
      widget({ name: 'Ask', contact_info_mode: 'required', collect_email: true, starter_questions: ['Can I ask first?'] }),
    ]);
    desk = await openPage(browser);
    phone = await openPage(browser, PHONE);
    // The unread sound: count the oscillators started.
    await desk.page.addInitScript(() => {
      window.__beeps = 0;
      const A = window.AudioContext;
      window.AudioContext = class extends A {
        createOscillator() {
          const o = super.createOscillator();
          const s = o.start.bind(o);
          o.start = (...a) => { window.__beeps++; return s(...a); };
          return o;
        }
      };
    });
  });
  after(async () => {
    if (desk) await desk.ctx.close();
    if (phone) await phone.ctx.close();
    await stopSuite({ stack, browser });
    console.log(`# widget-features.test.mjs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test('languages: English loads no file; German (data-lang), Arabic (<html lang>, rtl), Japanese (config); data-* wins; a failed load is English', async () => {
    const { page, log } = desk;
    await go(desk, '/', { key: 1 });
    await openPanel(page);
    await page.waitForSelector(part('input'));
    assert.equal(await page.textContent(part('send')), 'Send');
    assert.deepEqual(log.requests.filter((u) => u.includes('/widget/lang/')), [], 'English loads no language file');
    assert.equal(await page.getAttribute(part('root'), 'lang'), 'en');

    await go(desk, '/', { w: plain.widget_id, a: JSON.stringify({ lang: 'de' }) });
    await openPanel(page);
    assert.equal(await page.getAttribute(part('input'), 'placeholder'), 'Nachricht eingeben...');
    assert.equal(await page.textContent(part('send')), 'Senden');
    assert.equal(await page.getAttribute(part('close'), 'aria-label'), 'Chat schließen');
    assert.equal(await page.getAttribute(part('root'), 'lang'), 'de');
    assert.deepEqual(log.requests.filter((u) => u.includes('/widget/lang/')).map((u) => new URL(u).pathname), ['/widget/lang/de.js']);
    await shot(page, 'de');

    // Arabic from the page, right to left; data-label-send wins over the language.
    await go(desk, '/', { w: plain.widget_id, lang: 'ar-EG', a: JSON.stringify({ 'label-send': 'Go' }) });
    await openPanel(page);
    assert.equal(await page.getAttribute(part('root'), 'dir'), 'rtl');
    assert.equal(await page.getAttribute(part('input'), 'placeholder'), 'اكتب رسالتك...');
    assert.equal(await page.textContent(part('send')), 'Go', 'a data-* text wins over the language file');
    const [sendX, inputX] = await Promise.all([part('send'), part('input')].map((s) => page.locator(s).evaluate((e) => e.getBoundingClientRect().x)));
    assert.ok(sendX < inputX, `rtl: Send is left of the text area (${sendX}, ${inputX})`);
    await shot(page, 'ar');
    assert.deepEqual(await axeLightDark(page, 'Arabic, open'), []);

    // A language of three letters is not the one of its first two: Mapudungun
    // (arn) is not Arabic; the browser's (English here) is taken instead.
    await go(desk, '/', { w: plain.widget_id, lang: 'arn' });
    await openPanel(page);
    assert.equal(await page.textContent(part('send')), 'Send');
    assert.equal(await page.getAttribute(part('root'), 'dir'), 'ltr');
    assert.equal(await page.getAttribute(part('root'), 'lang'), 'en');

    // The config's language wins over the page's.
    await go(desk, '/', { w: ja.widget_id, lang: 'de' });
    await openPanel(page);
    assert.equal(await page.textContent(part('send')), '送信');
    assert.equal(await page.getAttribute(part('root'), 'dir'), 'ltr');
    await connected(page);
    await page.fill(part('input'), 'こんにちは');
    await page.press(part('input'), 'Enter');
    assert.equal((await waitReplyEnd(page)).text, said('こんにちは'));
    await shot(page, 'ja');

    // A language file that does not load: English, and the console says why.
    await page.route('**/widget/lang/fr.js*', (r) => r.abort());
    await go(desk, '/', { w: plain.widget_id, lang: 'fr' });
    await openPanel(page);
    assert.equal(await page.textContent(part('send')), 'Send');
    assert.ok(log.console.some((m) => m.type === 'warning' && /language fr not loaded, English instead/.test(m.text)), JSON.stringify(log.console));
    await page.unroute('**/widget/lang/fr.js*');
    await assertClean(page, log, 'languages', { allowConsole: /Failed to load resource: net::ERR_FAILED/ });
  });

  test('layouts: inline and fullpage at desktop and phone sizes, always open; inline without its element is a bubble; expand', async () => {
    for (const [who, size] of [[desk, 'desktop'], [phone, 'phone']]) {
      const { page, log } = who;
      await go(who, '/', { w: plain.widget_id, box: 1, a: JSON.stringify({ layout: 'inline', container: '#chat-box' }) });
      await page.waitForSelector(`${R}[data-layout="inline"]`, { state: 'attached' });
      await connected(page);
      const box = await page.evaluate(() => {
        const b = document.getElementById('chat-box').getBoundingClientRect();
        const w = document.getElementById('chat-box').querySelector('#parley-chat-widget');
        const p = w.shadowRoot.querySelector('[data-part="panel"]').getBoundingClientRect();
        return { inBox: !!w, b: [b.x, b.y, b.width, b.height].map(Math.round), p: [p.x, p.y, p.width, p.height].map(Math.round) };
      });
      assert.ok(box.inBox, 'the widget is in #chat-box');
      assert.deepEqual(box.p, box.b, `${size}: the panel fills #chat-box`);
      for (const n of ['launcher', 'close', 'expand']) assert.equal(await page.isVisible(part(n)), false, `${size} inline: no ${n}`);
      await page.press(part('input'), 'Escape');
      assert.equal(await page.isVisible(part('panel')), true, 'Escape does not close an inline widget');
      await shot(page, `inline-${size}`);
      if (size === 'desktop') assert.deepEqual(await axeLightDark(page, 'inline'), []);

      await go(who, '/', { w: plain.widget_id, a: JSON.stringify({ layout: 'fullpage' }) });
      await page.waitForSelector(`${R}[data-layout="fullpage"]`, { state: 'attached' });
      await connected(page);
      const vp = page.viewportSize();
      const full = await page.locator(part('panel')).evaluate((e) => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height].map(Math.round); });
      assert.deepEqual(full, [0, 0, vp.width, vp.height], `${size}: fullpage fills the viewport`);
      assert.equal(await page.isVisible(part('launcher')), false);
      await page.fill(part('input'), 'full page');
      await page.press(part('input'), 'Enter');
      assert.equal((await waitReplyEnd(page)).text, said('full page'));
      await shot(page, `fullpage-${size}`);
      if (size === 'phone') assert.deepEqual(await axeLightDark(page, 'fullpage (phone)'), []);
      await assertClean(page, log, `layouts (${size})`);
    }

    // destroy() at once (on `ready`, the layout part still loading): the
    // widget stays gone (the part put it back into #chat-box).
    const { page, log } = desk;
    await page.addInitScript(() => {
      if (new URLSearchParams(location.search).get('x') === 'destroy') {
        document.addEventListener('parley:ready', () => (window.ParleyChat.destroy(), (window.__destroyed = true)), { once: true });
      }
    });
    await page.goto(url('/', { w: plain.widget_id, box: 1, x: 'destroy', a: JSON.stringify({ layout: 'inline', container: '#chat-box' }) }));
    await page.waitForFunction(() => window.__destroyed && performance.getEntriesByType('resource').some((e) => e.name.includes('/widget/parts/layout.js')), null, { timeout: 10000 });
    // the same module imported here resolves once it ran; the widget's use of it is a task before this page's
    await page.evaluate(async () => {
      await import(performance.getEntriesByType('resource').find((e) => e.name.includes('/widget/parts/layout.js')).name);
      await new Promise((r) => setTimeout(r, 0));
    });
    assert.equal(await page.evaluate(() => !!document.getElementById('parley-chat-widget')), false, 'destroyed: no widget');

    // inline without its element: the console says why, the bubble shows.
    await go(desk, '/', { w: plain.widget_id, a: JSON.stringify({ layout: 'inline', container: '#nowhere' }) });
    await page.waitForSelector(part('launcher'));
    await waitFor(() => log.console.some((m) => m.type === 'error' && /data-layout="inline" needs data-container.*#nowhere: not found/.test(m.text)), 5000, 'the console error');
    assert.equal(await page.isVisible(part('panel')), false);

    // The bubble's expand button: a large panel, aria-pressed; Escape still closes.
    await openPanel(page);
    const w0 = await page.locator(part('panel')).evaluate((e) => e.getBoundingClientRect().width);
    assert.equal(await page.getAttribute(part('expand'), 'aria-pressed'), 'false');
    assert.equal(await page.getAttribute(part('expand'), 'aria-label'), 'Expand chat');
    await page.click(part('expand'));
    assert.equal(await page.getAttribute(part('expand'), 'aria-pressed'), 'true');
    const w1 = await page.locator(part('panel')).evaluate((e) => e.getBoundingClientRect().width);
    assert.ok(w1 >= 700 && w1 > w0, `expanded: ${w0} -> ${w1}`);
    await shot(page, 'expanded');
    assert.deepEqual(await axeLightDark(page, 'expanded'), []);
    await page.keyboard.press('Escape');
    assert.equal(await page.isVisible(part('panel')), false, 'Escape closes the expanded panel');
    await assertClean(page, log, 'expand', { allowConsole: /data-layout="inline" needs data-container/ });
  });

  test('unread: a person replies to a closed panel: count, label, live region, title, sound; kept over a reload (and still counted there, live or in the next visit\'s history) until opened', async () => {
    const { page, log } = desk;
    await go(desk, '/', { w: shop.widget_id });
    await openPanel(page);
    await connected(page);
    await page.fill(part('input'), 'anyone there?');
    await page.press(part('input'), 'Enter');
    assert.equal((await waitReplyEnd(page)).text, said('anyone there?'));
    await page.click(part('close'));
    const list = (await adminApi(stack, 'GET', '/v1/admin/conversations?limit=50')).json.conversations;
    // (a conversation names its widget by the internal id)
    const convs = list.filter((c) => c.widgetId === shop.id);
    assert.equal(convs.length, 1, 'the shop\'s one conversation');
    const id = convs[0]._id;
    assert.equal((await adminApi(stack, 'POST', `/v1/admin/conversations/${id}/handoff`, { state: 'human', name: 'Ann' })).status, 200);
    for (const m of ['Hello, Ann here.', 'Still there?']) {
      assert.equal((await adminApi(stack, 'POST', `/v1/admin/conversations/${id}/messages`, { content: m, name: 'Ann' })).status, 201);
    }
    await page.waitForFunction((r) => document.querySelector(r).shadowRoot.querySelector('[data-part="badge"]')?.textContent === '2', R, { timeout: 10000 });
    assert.equal(await page.getAttribute(part('launcher'), 'aria-label'), 'Open chat, 2 unread');
    assert.equal(await page.title(), '(2) Shop');
    await page.waitForFunction((r) => document.querySelector(r).shadowRoot.querySelector('[data-part="announcer"]').textContent === 'Ann: Still there?', R, { timeout: 5000 });
    assert.equal(await page.evaluate(() => window.__beeps), 2, 'a beep for each (unread_sound)');
    await shot(page, 'unread');
    assert.deepEqual(await axeLightDark(page, 'unread badge'), []);

    await page.reload();
    await waitReady(page);
    await page.waitForSelector(part('badge'));
    assert.equal(await page.textContent(part('badge')), '2', 'kept over a reload');
    assert.equal(await page.title(), '(2) Shop');
    // a person is on it: the new page's socket comes up with the panel
    // closed; once its session's history is in, what a person says next
    // comes live (a message stored before that comes in the history:
    // shown, not counted)
    await page.waitForFunction((r) => [...document.querySelector(r).shadowRoot.querySelectorAll('[data-part="message"]')]
      .some((m) => m.textContent.includes('Still there?')), R, { timeout: 10000 });
    assert.equal((await adminApi(stack, 'POST', `/v1/admin/conversations/${id}/messages`, { content: 'One more thing', name: 'Ann' })).status, 201);
    await page.waitForFunction((r) => document.querySelector(r).shadowRoot.querySelector('[data-part="badge"]').textContent === '3', R, { timeout: 10000 });
    assert.equal(await page.title(), '(3) Shop');
    // One said while the page is away (no socket): it comes in the history
    // of the next visit, after the newest message the widget showed, and
    // is counted as one that came live (and the history's older ones not).
    const here = page.url();
    await page.goto('about:blank');
    assert.equal((await adminApi(stack, 'POST', `/v1/admin/conversations/${id}/messages`, { content: 'Are you back?', name: 'Ann' })).status, 201);
    await page.goto(here);
    await waitReady(page);
    await page.waitForFunction((r) => document.querySelector(r).shadowRoot.querySelector('[data-part="badge"]')?.textContent === '4', R, { timeout: 10000 });
    assert.equal(await page.title(), '(4) Shop');
    await page.waitForFunction((r) => document.querySelector(r).shadowRoot.querySelector('[data-part="announcer"]').textContent === 'Ann: Are you back?', R, { timeout: 5000 });
    await openPanel(page);
    assert.equal(await page.isVisible(part('badge')), false);
    assert.equal(await page.title(), 'Shop', 'the title restored on open');
    assert.equal(await page.getAttribute(part('launcher'), 'aria-label'), 'Close chat');
    assert.equal(await page.evaluate((k) => localStorage.getItem(k), `parley:${shop.widget_id}:unread`), null);
    // A count kept meanwhile (another tab's, panel closed there): this page
    // reloads with its panel open; nothing is unread here, no badge, no "(2) ".
    await page.evaluate((k) => localStorage.setItem(k, '2'), `parley:${shop.widget_id}:unread`);
    await page.reload();
    await waitReady(page);
    await page.waitForFunction((k) => localStorage.getItem(k) === null, `parley:${shop.widget_id}:unread`, { timeout: 10000 });
    assert.equal(await page.isVisible(part('badge')), false);
    assert.equal(await page.title(), 'Shop');
    // reset(): a new session has nothing unread; destroy(): the page's title back.
    const ukey = `parley:${shop.widget_id}:unread`;
    await page.click(part('close'));
    for (const f of ['reset', 'destroy']) {
      await page.evaluate((k) => localStorage.setItem(k, '2'), ukey);
      await page.reload();
      await waitReady(page);
      await page.waitForFunction(() => document.title === '(2) Shop', null, { timeout: 10000 });
      await page.evaluate((fn) => window.ParleyChat[fn](), f);
      assert.equal(await page.title(), 'Shop', f);
      if (f === 'reset') assert.equal(await page.evaluate((k) => localStorage.getItem(k), ukey), null);
    }
    await page.evaluate((k) => localStorage.removeItem(k), ukey);
    await assertClean(page, log, 'unread');
  });

  test('starter questions, the proactive bubble (matching path only, once a day), open({message}), send() before the socket', async () => {
    const { page, log } = phone;
    const key = `parley:${shop.widget_id}:proactive`;
    // not on /about: no bubble, the part not even loaded
    await go(phone, '/about', { w: shop.widget_id });
    await page.waitForSelector(part('starters'), { state: 'attached' });
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
    assert.equal(await page.locator(part('proactive')).count(), 0);
    assert.ok(!log.requests.some((u) => u.includes('/widget/parts/proactive.js')), 'the proactive part is not loaded off its path');

    // ParleyChat.send() with the panel closed and no socket yet: it connects first.
    assert.equal(await page.evaluate(() => window.ParleyChat.send('sent from the page')), true);
    await openPanel(page);
    assert.deepEqual((await page.evaluate(() => window.ParleyChat.messages())).map((m) => m.content), ['sent from the page', said('sent from the page')]);
    assert.equal(await page.isVisible(part('starters')), false, 'no starters once the visitor has written');
    await page.evaluate(() => window.ParleyChat.reset());
    await page.waitForSelector(part('starter'));

    // The starters: buttons before the first message; a click sends one.
    const qs = await page.locator(part('starter')).allTextContents();
    assert.deepEqual(qs, ['What are your prices?', 'Do you ship abroad?']);
    assert.equal(await page.getAttribute(part('starters'), 'aria-label'), 'Suggested questions');
    await connected(page);
    await shot(page, 'starters');
    assert.deepEqual(await axeLightDark(page, 'starters'), []);
    await page.click(`${part('starter')} >> nth=1`);
    assert.equal((await waitReplyEnd(page)).text, said('Do you ship abroad?'));
    assert.equal(await page.isVisible(part('starters')), false);

    // open({message}): the text area prefilled, nothing sent.
    await page.click(part('close'));
    await page.evaluate(() => window.ParleyChat.open({ message: 'About my order 42' }));
    assert.equal(await page.inputValue(part('input')), 'About my order 42');
    assert.equal((await page.evaluate(() => window.ParleyChat.messages())).length, 2);
    await page.click(part('close'));

    // /shop/*: the bubble beside the launcher, counted unread; a click opens the panel with it.
    await go(phone, '/shop/shoes', { w: shop.widget_id });
    await page.waitForSelector(part('proactive-open'));
    assert.equal(await page.textContent(part('proactive-open')), 'Need help choosing a size?');
    await page.waitForSelector(part('badge'));
    assert.equal(await page.textContent(part('badge')), '1');
    assert.equal(await page.evaluate((k) => localStorage.getItem(k), key), new Date().toISOString().slice(0, 10));
    await shot(page, 'proactive');
    assert.deepEqual(await axeLightDark(page, 'proactive bubble'), []);
    await page.click(part('proactive-open'));
    assert.equal(await page.isVisible(part('panel')), true);
    assert.equal(await page.locator(part('proactive')).count(), 0);
    await connected(page);
    const last = (await page.evaluate(() => window.ParleyChat.messages())).pop();
    assert.deepEqual(last, { role: 'assistant', content: 'Need help choosing a size?', state: 'done' }, 'shown as the assistant\'s');
    await page.click(part('close'));

    // once a day: not again today; again once the stored day is another
    await go(phone, '/shop/hats', { w: shop.widget_id });
    await page.waitForSelector(part('starters'), { state: 'attached' });
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
    assert.equal(await page.locator(part('proactive')).count(), 0, 'once a day');
    await page.evaluate((k) => localStorage.setItem(k, '2000-01-01'), key);
    await go(phone, '/shop/hats', { w: shop.widget_id });
    await page.waitForSelector(part('proactive-dismiss'));
    await page.click(part('proactive-dismiss'));
    assert.equal(await page.locator(part('proactive')).count(), 0, 'dismissed');
    await assertClean(page, log, 'starters and proactive');

    // A required contact form first: a starter clicked before it is saved is
    // not sent, and stays offered.
    await go(phone, '/', { w: asker.widget_id });
    await openPanel(page);
    await page.waitForSelector(part('contact'));
    await page.click(part('starter'));
    await page.waitForSelector(part('starter'), { timeout: 5000 });
    assert.deepEqual(await page.evaluate(() => window.ParleyChat.messages()), []);
  });

  test('the proactive bubble on a non-ASCII path: proactive_path matches location.pathname decoded; a malformed escape is the path as it is, never an error', async () => {
    const { page, log } = desk;
    const [preise, rabatt] = await Promise.all([
      widget({ name: 'Preise', proactive_message: 'Fragen zu den Preisen?', proactive_delay_s: 0, proactive_path: '/f/preise-für*' }),
      widget({ name: 'Rabatt', proactive_message: 'Ein Rabatt?', proactive_delay_s: 0, proactive_path: '/f/rabatt-*' }),
    ]);
    // The browser's pathname is /f/preise-f%C3%BCr-2024: matched decoded.
    await go(desk, '/preise-für-2024', { w: preise.widget_id });
    assert.equal(await page.evaluate(() => location.pathname), '/f/preise-f%C3%BCr-2024');
    await page.waitForSelector(part('proactive-open'));
    assert.equal(await page.textContent(part('proactive-open')), 'Fragen zu den Preisen?');
    await assertClean(page, log, 'proactive on a non-ASCII path');

    // Not on another non-ASCII path: the part may load, and shows nothing.
    await page.evaluate((k) => localStorage.removeItem(k), `parley:${preise.widget_id}:proactive`);
    // (its import, had it begun, done: the page's network quiet 500 ms,
    // not a 5 s wait for a response that does not come when it does not)
    await go(desk, '/größen', { w: preise.widget_id });
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(300);
    assert.equal(await page.locator(part('proactive')).count(), 0, 'off its path');
    assert.equal(await page.evaluate((k) => localStorage.getItem(k), `parley:${preise.widget_id}:proactive`), null);

    // A malformed escape (a % not followed by two hex digits): decoding
    // fails, the path is matched as it is, and the widget works on.
    await go(desk, '/preise-für-100%', { w: preise.widget_id });
    assert.equal(await page.evaluate(() => location.pathname), '/f/preise-f%C3%BCr-100%');
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(300);
    assert.equal(await page.locator(part('proactive')).count(), 0, 'the raw path does not match /f/preise-für*');
    await go(desk, '/rabatt-100%', { w: rabatt.widget_id });
    await page.waitForSelector(part('proactive-open'));
    assert.equal(await page.textContent(part('proactive-open')), 'Ein Rabatt?');
    await openPanel(page);
    await page.click(part('close'));
    await assertClean(page, log, 'proactive on a malformed path');
  });

  test('a proactive_path of many *s on a long path costs the page nothing: matched by a walk, not a backtracking RegExp (which held the tab for minutes)', async () => {
    const { page, log } = desk;
    const { widget_id: w } = await widget({ name: 'Stars', proactive_message: 'Found it?', proactive_delay_s: 0, proactive_path: '/f/*a*a*a*a*a*a*a*a*a*a*b' });
    // No match: every a but no b at the end (a RegExp tries each way to
    // share the a's among the *s). The page answers at once.
    await go(desk, '/' + 'a'.repeat(80), { w });
    assert.equal(await page.evaluate(() => 1 + 1), 2);
    await page.waitForLoadState('networkidle');
    assert.equal(await page.locator(part('proactive')).count(), 0, 'no b: no match');
    // A match: the same a's and the b.
    await go(desk, '/' + 'a'.repeat(80) + 'b', { w });
    await page.waitForSelector(part('proactive-open'));
    assert.equal(await page.textContent(part('proactive-open')), 'Found it?');
    await assertClean(page, log, 'proactive on a long path');
  });
});
