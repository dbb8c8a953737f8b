// Setup mistakes told (issue 24), in headless Chromium, one Parley and one
// browser: each failure an owner can make shows a state in the widget and
// one console.warn naming the fix (a wrong data-api-key, a site missing
// from CORS_ORIGIN, a site missing from the widget's allowed origins, the
// widget disabled while open, no server, a page CSP without the WebSocket
// source), with no Retry where retrying cannot help; storaged counts each
// refusal, and the dashboard's Setup panel names the reason, the count and
// the fix, with the CSP line. The README's CSP line lets the data-widget
// embed chat on a strict-CSP page, the old line (no ws: source) gives the
// CSP state and a refusal count. On a phone, a host page wider than the
// screen keeps the open panel on screen. axe-core on the new states and
// the Setup panel, light and dark.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  DASHBOARD_PASSWORD, PHONE, SCREENSHOTS, SUITE_TIMEOUT, adminApi, axeLightDark, dashLogin, openDash, openPage, part,
  sendByKeyboard, startSuite, stopSuite, waitReady, waitReplyEnd,
} from './lib/browser.mjs';
import { freePort } from '../integration/lib/harness.mjs';

const state = (page) => page.evaluate(() => {
  const r = document.getElementById('parley-chat-widget')?.shadowRoot;
  const o = r && r.querySelector('[data-part="offline"]');
  return o && { reason: o.getAttribute('data-reason'), text: o.textContent, hidden: o.hidden,
    retry: !!r.querySelector('[data-part="retry"]'), send: r.querySelector('[data-part="send"]').disabled };
});

// A host site of its own: each page says its CSP and its embed in the query.
//   /?csp=new|old|none&mode=key|widget&wid=&key=&url=&wide=1
class Host {
  constructor(parley) { this.parley = parley; }
  csp(kind) {
    const p = this.parley;
    const ws = p.replace(/^http/, 'ws');
    // the README's line; the old one had no WebSocket source
    const connect = kind === 'new' ? `connect-src ${p} ${ws}` : `connect-src ${p}`;
    return `default-src 'self'; script-src ${p}; ${connect}; style-src 'unsafe-inline'; img-src data:`;
  }
  page(q) {
    const p = this.parley;
    const tag = q.get('mode') === 'widget'
      ? `<script src="${p}/api/widget/embed.js" data-widget="${q.get('wid')}"></script>`
      : `<script src="${p}/widget/chat-widget.js" data-api-url="${q.get('url') || p + '/chat'}" data-api-key="${q.get('key')}" defer></script>`;
    const wide = q.get('wide') ? '<pre style="margin:0;width:690px;white-space:pre">a log line that does not wrap, as the test pages had</pre>' : '';
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"></head>
<body><main><h1>Host page</h1>${wide}</main>${tag}</body></html>`;
  }
  async start() {
    this.port = await freePort();
    this.server = http.createServer((req, res) => {
      const q = new URL(req.url, 'http://x').searchParams;
      const h = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' };
      if (q.get('csp') !== 'none') h['Content-Security-Policy'] = this.csp(q.get('csp') || 'new');
      res.writeHead(200, h);
      res.end(this.page(q));
    });
    await new Promise((r) => this.server.listen(this.port, '127.0.0.1', r));
    return this;
  }
  // localhost: in CORS_ORIGIN; 127.0.0.1: another origin, not in it
  url(q, allowed = true) { return `http://${allowed ? 'localhost' : '127.0.0.1'}:${this.port}/?${new URLSearchParams(q)}`; }
  stop() { this.server.closeAllConnections(); return new Promise((r) => this.server.close(r)); }
}

describe('setup mistakes told', { timeout: SUITE_TIMEOUT }, () => {
  let stack, browser, host, defaultWid;
  const admin = (m, p, b) => adminApi(stack, m, p, b);
  const setup = async (wid) => {
    const r = await admin('GET', `/v1/admin/widgets/${wid}/setup`);
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  const count = (s, reason) => s.refusals.find((x) => x.reason === reason).count;
  const warns = (log) => log.console.filter((m) => m.type === 'warning' && m.text.startsWith('[parley]'));

  before(async () => {
    host = await new Host().start();
    // CORS_ORIGIN: this host as localhost, not as 127.0.0.1
    ({ stack, browser } = await startSuite({ mock: { chunks: 2 }, env: { DASHBOARD_PASSWORD, CORS_ORIGIN: `http://localhost:${host.port}` } }));
    host.parley = stack.parleyOrigin;
    defaultWid = (await admin('GET', '/v1/admin/widgets')).json.widgets[0].widget_id;
  });
  after(async () => {
    if (host) await host.stop();
    await stopSuite({ stack, browser });
  });

  // Opens the page, the widget, sends one message (key mode); waits for a state.
  async function failing(url, reason, { send = true } = {}) {
    const v = await openPage(browser);
    await v.page.goto(url);
    await waitReady(v.page);
    await v.page.click(part('launcher'));
    if (send) await sendByKeyboard(v.page, 'hello?');
    await v.page.waitForFunction((r) => document.getElementById('parley-chat-widget').shadowRoot
      .querySelector('[data-part="offline"]').getAttribute('data-reason') === r, reason, { timeout: 10000 });
    return v;
  }

  test('key mode: a wrong key, a site not in CORS_ORIGIN, no server: told, and counted', async () => {
    const before0 = await setup(defaultWid);
    // three pages side by side (their own contexts)
    const wrongKey = async () => {
      const k = await failing(host.url({ csp: 'new', key: 'not-the-key-at-all-0123456789' }), 'key');
      const ks = await state(k.page);
      assert.equal(ks.text, 'This chat is not set up correctly.');
      assert.equal(ks.retry, false, 'no Retry: it cannot help');
      assert.equal(ks.send, true, 'Send is off');
      assert.equal(warns(k.log).length, 1, JSON.stringify(k.log.console));
      assert.match(warns(k.log)[0].text, /WIDGET_API_KEY/);
      // the notice is one element for every reason: one scan covers them
      assert.deepEqual(await axeLightDark(k.page, 'key state'), []);
      await k.ctx.close();
    };
    const notInCors = async () => {
      const c = await failing(host.url({ csp: 'new', key: stack.parley.widgetKey }, false), 'origin');
      assert.equal((await state(c.page)).retry, false);
      assert.equal(warns(c.log).length, 1);
      assert.match(warns(c.log)[0].text, /CORS_ORIGIN/);
      assert.match(warns(c.log)[0].text, new RegExp(`127\\.0\\.0\\.1:${host.port}`));
      await c.ctx.close();
    };
    const noServer = async () => {
      const deadPort = await freePort();
      const u = await openPage(browser);
      await u.page.goto(host.url({ csp: 'none', key: 'k', url: `http://127.0.0.1:${deadPort}/chat` }));
      await waitReady(u.page);
      await u.page.click(part('launcher'));
      await sendByKeyboard(u.page, 'anyone?');
      await u.page.waitForSelector(part('retry'), { timeout: 10000 });
      assert.equal(await u.page.textContent(part('error')), 'Cannot connect to the chat.Retry');
      assert.equal(warns(u.log).length, 1);
      assert.match(warns(u.log)[0].text, /cannot connect to http:\/\/127\.0\.0\.1/);
      await u.ctx.close();
    };
    await Promise.all([wrongKey(), notInCors(), noServer()]);

    // each note travels on its worker's connection: wait for both to land
    const deadline = Date.now() + 5000;
    let s;
    while (Date.now() < deadline) {
      s = await setup(defaultWid);
      if (count(s, 'key') > count(before0, 'key') && count(s, 'cors') > count(before0, 'cors')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(count(s, 'key'), count(before0, 'key') + 1);
    assert.equal(count(s, 'cors'), count(before0, 'cors') + 1);
    assert.ok(s.origins.some((o) => o.origin === `http://127.0.0.1:${host.port}` && o.result === 'cors'), JSON.stringify(s.origins));
  });

  test('data-widget: a site not allowed, disabled while open, the old CSP line; the README line chats', async () => {
    const w = (await admin('POST', '/v1/admin/widgets', { name: 'Shop', allowed_origins: ['https://shop.example'] })).json;
    const o = await failing(host.url({ csp: 'new', mode: 'widget', wid: w.widget_id }), 'origin', { send: false });
    assert.equal((await state(o.page)).text, 'This chat is not available on this site.');
    assert.match(warns(o.log)[0].text, /allowed origins of widget wid_/);
    await o.ctx.close();
    assert.equal(count(await setup(w.widget_id), 'origin'), 1);

    // Any site now: the old CSP line blocks the socket
    await admin('PATCH', `/v1/admin/widgets/${w.widget_id}`, { allowed_origins: [] });
    const old = await failing(host.url({ csp: 'old', mode: 'widget', wid: w.widget_id }), 'csp', { send: false });
    const cs = await state(old.page);
    assert.equal(cs.text, 'This page blocks the chat.');
    assert.equal(cs.send, true);
    assert.equal(warns(old.log).length, 1);
    const ws = stack.parleyOrigin.replace(/^http/, 'ws');
    assert.ok(warns(old.log)[0].text.includes(`connect-src ${stack.parleyOrigin} ${ws}`), warns(old.log)[0].text);
    await old.ctx.close();
    const deadline = Date.now() + 5000;
    while (count(await setup(w.widget_id), 'csp') !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(count(await setup(w.widget_id), 'csp'), 1, 'the widget reported the CSP block');

    // The README's line: a chat turn completes
    const ok = await openPage(browser);
    await ok.page.goto(host.url({ csp: 'new', mode: 'widget', wid: w.widget_id }));
    await waitReady(ok.page);
    await ok.page.click(part('launcher'));
    await sendByKeyboard(ok.page, 'strict page');
    assert.equal((await waitReplyEnd(ok.page)).state, 'done');
    assert.deepEqual(await ok.page.evaluate(() => window.__csp), []);
    // disabled while open: told (not "gone"), once
    await admin('PATCH', `/v1/admin/widgets/${w.widget_id}`, { enabled: false });
    await ok.page.waitForFunction(() => document.getElementById('parley-chat-widget').shadowRoot
      .querySelector('[data-part="offline"]').getAttribute('data-reason') === 'disabled', null, { timeout: 10000 });
    assert.equal((await state(ok.page)).text, 'This chat is disabled.');
    assert.equal(warns(ok.log).length, 1);
    assert.match(warns(ok.log)[0].text, /is disabled: enable it/);
    await ok.ctx.close();
    await admin('PATCH', `/v1/admin/widgets/${w.widget_id}`, { enabled: true });
    const s = await setup(w.widget_id);
    assert.ok(count(s, 'disabled') >= 1);
    // the last word from this site: the config of the disabled widget
    const seen = s.origins.find((x) => x.origin === `http://localhost:${host.port}`);
    assert.equal(seen && seen.result, 'disabled', JSON.stringify(s.origins));
    assert.ok(seen.count >= 4, 'refused, blocked, accepted, disabled: one origin');

    // The Setup panel names the reasons, counts and fixes, with the CSP line
    const d = await openPage(browser);
    await dashLogin(stack, d.ctx);
    await openDash(d.page, stack, `#/widgets/${w.widget_id}`, '[data-testid="setup"]');
    await d.page.waitForSelector('[data-testid="setup-refusals"] li', { timeout: 10000 });
    const text = await d.page.textContent('[data-testid="setup"]');
    assert.match(text, /Content-Security-Policy/);
    assert.match(text, /allowed origins/);
    const line = await d.page.textContent('[data-testid="setup-csp"]');
    assert.equal(line, `script-src ${stack.parleyOrigin}; connect-src ${stack.parleyOrigin} ${ws}`);
    assert.match(await d.page.textContent('[data-testid="setup-refusal-csp"]'), /1/);
    assert.equal(await d.page.textContent('[data-testid="embed-csp"]'), line);
    // the live preview: the real bundle, following the unsaved form
    const title = () => d.page.evaluate(() => document.getElementById('parley-chat-widget')?.shadowRoot.querySelector('[data-part="title"]')?.textContent);
    await d.page.waitForFunction(() => !!window.ParleyChat);
    assert.equal(await title(), 'Shop');
    await d.page.fill('#f-name', 'Shop, renamed');
    await d.page.fill('#f-greeting', 'Hello from the preview');
    await d.page.waitForFunction(() => document.getElementById('parley-chat-widget')?.shadowRoot
      .querySelector('[data-welcome]')?.textContent.includes('Hello from the preview'), null, { timeout: 5000 });
    assert.equal(await title(), 'Shop, renamed');
    assert.equal((await admin('GET', `/v1/admin/widgets/${w.widget_id}`)).json.name, 'Shop', 'nothing saved');
    assert.equal(await d.page.evaluate(() => document.getElementById('parley-chat-widget').shadowRoot.querySelector('[data-part="composer"]').inert), true);
    assert.deepEqual(await axeLightDark(d.page, 'setup panel'), []);
    await d.ctx.close();
  });

  test('data-widget: an id that is none, a widget that does not exist: not started, and the console says why once', async () => {
    const gone = 'wid_' + '0'.repeat(32);
    for (const [wid, line] of [
      ['not an id', '[parley] not started: data-widget is not a widget id'],
      [gone, `[parley] not started: widget ${gone}: no such widget (404)`],
    ]) {
      const v = await openPage(browser);
      try {
        await v.page.goto(host.url({ csp: 'new', mode: 'widget', wid }));
        await v.page.waitForFunction(() => document.readyState === 'complete');
        for (let i = 0; i < 250 && !warns(v.log).length; i++) await v.page.waitForTimeout(20);
        assert.deepEqual(warns(v.log).map((m) => m.text), [line]);
        assert.equal(await v.page.locator('#parley-chat-widget').count(), 0, 'no widget element');
      } finally { await v.ctx.close(); }
    }
  });

  test('phone: a host page wider than the screen keeps the open panel on screen', async () => {
    const v = await openPage(browser, PHONE);
    await v.page.goto(host.url({ csp: 'new', key: stack.parley.widgetKey, wide: 1 }));
    await waitReady(v.page);
    assert.ok(await v.page.evaluate(() => document.documentElement.scrollWidth) >= 690, 'the page is wider than the screen');
    await v.page.click(part('launcher'));
    await v.page.waitForSelector(part('send'));
    await v.page.waitForTimeout(100);
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await v.page.screenshot({ path: path.join(SCREENSHOTS, 'widget-phone-wide-host.png') });
    const vw = await v.page.evaluate(() => window.visualViewport.width);
    for (const p of ['panel', 'close', 'send']) {
      const b = await v.page.locator(part(p)).boundingBox();
      assert.ok(b && b.x >= 0 && b.x + b.width <= vw + 0.5, `${p} on screen: ${JSON.stringify(b)} in ${vw}`);
    }
    await v.ctx.close();
  });
});
