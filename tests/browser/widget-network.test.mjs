// The widget where the network and the host page are unkind (a review's
// findings, each failing before its fix):
//  - localStorage blocked (third-party storage settings): a reconnect
//    still resumes the session the page has in memory; it made a new one,
//    the conversation split and the model answering without its start;
//  - a host page whose body has a transform (or filter, will-change,
//    contain) holds fixed elements: the launcher, appended to the body,
//    sat at the bottom of a long page instead of the viewport's;
//  - a network change that kills the socket silently (no FIN, no RST): a
//    message sent on the dead socket stayed pending for good, Send
//    disabled; one not taken in 15 s gives the socket up, its text back in
//    the text area, and the next socket takes it;
//  - a phone held sideways with its keyboard open: the desktop panel (560
//    px, 120 px kept free) left about 50 px, the text area cut off; the
//    phone's full-screen panel takes any viewport 480 px tall or less.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { freePort, sleep, waitFor } from '../integration/lib/harness.mjs';
import { PHONE, SUITE_TIMEOUT, adminApi, openPage, part, startSuite, stopSuite, waitReady } from './lib/browser.mjs';

const connected = (page, timeout = 15000) => page.waitForFunction(() =>
  !document.getElementById('parley-chat-widget').shadowRoot.querySelector('[data-part="send"]').disabled, null, { timeout });
const answered = (page, n, timeout = 20000) => page.waitForFunction((k) => {
  const m = window.ParleyChat.messages();
  return m.length === k && m[k - 1].state === 'done';
}, n, { timeout });
async function say(page, text) {
  await connected(page);
  await page.fill(part('input'), text);
  await page.press(part('input'), 'Enter');
}

describe('the widget where the network and the host page are unkind', { timeout: SUITE_TIMEOUT }, () => {
  let stack;
  let browser;
  let w;
  const admin = async (m, p, b) => adminApi(stack, m, p, b);

  before(async () => {
    ({ stack, browser } = await startSuite({ mock: { chunks: 4, delayMs: 20 } }));
    w = (await admin('POST', '/v1/admin/widgets', { name: 'Net', allowed_origins: [], contact_info_mode: 'none' })).json;
  });
  after(() => stopSuite({ stack, browser }));

  async function opened(page) {
    await page.goto(stack.host.widgetEmbedUrl(w.widget_id));
    await waitReady(page);
    await page.click(part('launcher'));
    await connected(page);
  }

  test('localStorage blocked: a reconnect resumes the session, one conversation', async () => {
    const { ctx, page } = await openPage(browser);
    try {
      await page.addInitScript(() => Object.defineProperty(window, 'localStorage', {
        get() { throw new DOMException('The operation is insecure.', 'SecurityError'); },
      }));
      const firsts = [];
      page.on('websocket', (ws) => {
        let n = 0;
        ws.on('framesent', (f) => { if (n++ === 0) firsts.push(JSON.parse(String(f.payload)).type); });
      });
      await opened(page);
      await say(page, 'my order is netblue-12345');
      await answered(page, 2);
      for (const pid of new Set(stack.parley.connectionOwners(stack.parley.workerPids()).values())) process.kill(pid, 'SIGKILL');
      // the widget's next socket has said its first word
      await waitFor(() => firsts.length >= 2, 15000, 'a new socket');
      await say(page, 'netblue again');
      await answered(page, 4);
      assert.equal(firsts.at(-1), 'resume', `the new socket resumes: ${firsts}`);
      const convs = (await admin('GET', '/v1/admin/conversations?q=netblue&limit=10')).json.conversations;
      assert.equal(convs.length, 1, 'one conversation, not two');
    } finally { await ctx.close(); }
  });

  test('a host body with a transform, filter, will-change or contain: the launcher in the viewport', async () => {
    const CSS = ['transform: translateZ(0)', 'filter: saturate(1.01)', 'will-change: transform', 'contain: paint'];
    const origin = stack.parleyOrigin;
    let css = '';
    // (a stylesheet of its own: the host pages' CSP refuses inline styles)
    stack.host.custom = (u) => (u.pathname === '/unkind.css' ? { type: 'text/css', body: `body { ${css} }` } :
      u.pathname !== '/unkind.html' ? null : {
      type: 'text/html',
      body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Long</title><link rel="stylesheet" href="/unkind.css"></head>` +
        `<body><main><h1>Long page</h1>${'<p>Lorem ipsum dolor sit amet.</p>'.repeat(150)}</main>` +
        `<script src="${origin}/api/widget/embed.js" data-widget="${w.widget_id}"></script></body></html>`,
    });
    for (css of CSS) {
      const { ctx, page } = await openPage(browser, { viewport: { width: 1280, height: 800 } });
      try {
        await page.goto(`${stack.host.origin}/unkind.html`);
        await waitReady(page);
        const b = await page.evaluate(() => document.getElementById('parley-chat-widget').shadowRoot
          .querySelector('[data-part="launcher"]').getBoundingClientRect().toJSON());
        assert.ok(b.bottom <= 800 && b.top >= 0, `${css}: the launcher at ${JSON.stringify(b)}, not in the 800 px viewport`);
      } finally { await ctx.close(); }
    }
    stack.host.custom = null;
  });

  test('a phone held sideways, its keyboard open: the panel fills what is left, the text area in sight', async () => {
    const { ctx, page } = await openPage(browser, { ...PHONE, viewport: { width: 844, height: 390 } });
    try {
      await opened(page);
      await page.focus(part('input'));
      await page.setViewportSize({ width: 844, height: 170 });	// the keyboard takes the rest
      // The panel follows the visual viewport's resize event, which comes after.
      await page.waitForFunction(() => window.innerHeight === 170);
      await page.waitForFunction(() => document.getElementById('parley-chat-widget').shadowRoot
        .querySelector('[data-part="panel"]').getBoundingClientRect().bottom <= 170.5, null, { timeout: 3000 }).catch(() => {});
      const got = await page.evaluate(() => {
        const root = document.getElementById('parley-chat-widget').shadowRoot;
        const box = (n) => root.querySelector(`[data-part="${n}"]`).getBoundingClientRect();
        const [p, i] = [box('panel'), box('input')];
        return { panel: [p.top, p.bottom], input: [i.top, i.bottom], h: window.innerHeight };
      });
      const show = JSON.stringify(got);
      assert.ok(got.panel[0] >= -0.5 && got.panel[1] <= got.h + 0.5, `the panel within the viewport: ${show}`);
      assert.ok(got.panel[1] - got.panel[0] >= got.h - 1, `the panel as tall as the viewport: ${show}`);
      assert.ok(got.input[0] >= got.panel[0] && got.input[1] <= got.panel[1] + 0.5 && got.input[1] - got.input[0] >= 40,
        `the whole text area in the panel: ${show}`);
    } finally {
      await ctx.close();
    }
  });

  test('the socket dies silently: a message not taken in 15 s comes back to the text area, and goes on the next socket', async () => {
    // A proxy whose older connections go silent (a NAT or Wi-Fi change).
    const target = new URL(stack.parleyOrigin);
    const port = await freePort();
    let gen = 0;
    let deadBefore = -1;
    const proxy = net.createServer((c) => {
      const id = gen++;
      const s = net.connect(+target.port, '127.0.0.1');
      const alive = () => id >= deadBefore;
      c.on('data', (d) => alive() && s.write(d));
      s.on('data', (d) => alive() && c.write(d));
      c.on('error', () => {});
      s.on('error', () => {});
      c.on('close', () => s.destroy());
      s.on('close', () => alive() && c.destroy());
    });
    await new Promise((r) => proxy.listen(port, '127.0.0.1', r));
    const saved = stack.host.parleyOrigin;
    stack.host.parleyOrigin = `http://127.0.0.1:${port}`;
    const { ctx, page } = await openPage(browser);
    try {
      // the widget's 15 s not waited out: the page's clock is moved on (below)
      await page.clock.install();
      await opened(page);
      await say(page, 'netgreen one');
      await answered(page, 2);
      deadBefore = gen;	// the socket open now goes silent
      await ctx.setOffline(true);
      await sleep(500);
      await ctx.setOffline(false);
      await say(page, 'netgreen after the network came back');
      // shown as sent (its 15 s timer set with its bubble), the text area emptied; then 15 s on
      await page.waitForFunction(() => window.ParleyChat.messages()[2]?.content === 'netgreen after the network came back', null, { timeout: 10000 });
      assert.equal(await page.inputValue(part('input')), '');
      await page.clock.fastForward(15000);
      await page.waitForFunction(() => document.getElementById('parley-chat-widget').shadowRoot
        .querySelector('[data-part="input"]').value === 'netgreen after the network came back', null, { timeout: 25000 });
      await connected(page, 20000);
      await page.press(part('input'), 'Enter');
      await answered(page, 4);
      const said = await page.evaluate(() => window.ParleyChat.messages().map((m) => [m.role, m.content]));
      assert.deepEqual(said.map((m) => m[0]), ['user', 'assistant', 'user', 'assistant']);
      assert.equal(said[3][1], 'You said: netgreen after the network came back');
    } finally {
      await ctx.close();
      stack.host.parleyOrigin = saved;
      proxy.close();
    }
  });
});
