// What the browser tests share: Debian's Chromium driven by playwright-core
// (never a browser of Playwright's own), a Parley with the mock model
// (tests/integration/lib/harness.mjs), a small host-page server on another
// loopback origin, page probes (console, page errors, CSP violations,
// dialogs), widget helpers, and the axe-core scan.
//
// Every wait is bounded: pages get a 10 s default timeout, and each helper
// that polls has its own limit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { Parley, QUICK_POLLS, REPO, freePort, sleep, waitFor } from '../../integration/lib/harness.mjs';

export { QUICK_POLLS, REPO, sleep, waitFor };
export { conversationOfSession, stored, waitStored } from '../../integration/lib/chat.mjs';

// Two builds of Debian's Chromium (one source package, one engine):
// chromium-headless-shell, without the desktop browser's windows, tabs and
// toolbars, which every new context built in the browser process for a
// headless run that never shows them (a third of the browser tests' CPU,
// measured with tests/browser/README.md's command); and the desktop
// chromium, which widget.test.mjs keeps driving (launch({ full: true })).
export const CHROMIUM = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium-headless-shell';
export const CHROMIUM_FULL = process.env.PARLEY_CHROMIUM_FULL || '/usr/bin/chromium';
export const SCREENSHOTS = path.join(REPO, 'build/test/screenshots');
// A browser suite's bound (node:test's timeout on its describe): a guard
// against a hang, not a figure. With six files side by side on 2 loaded
// cores the slowest suites took about 2 minutes, and the bounds each file
// had (1 to 3 minutes) stopped one midway and left others within 5 %.
export const SUITE_TIMEOUT = 6 * 60 * 1000;
const require = createRequire(import.meta.url);
// required, not imported: an import of a CommonJS package has node's lexer
// read its bundles for their export names first, a third of the 0.9 s of
// CPU each browser test file spent loading playwright-core.
const { chromium } = require('playwright-core');
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// Chromium's features the tests do without. Every new window (each
// context's first page) loaded the omnibox popup's WebUI
// (chrome://omnibox-popup.top-chrome/, twice) in a renderer of its own: a
// third of the CPU of opening a page, for an address bar headless never shows.
const DISABLE_FEATURES = ['WebUIOmniboxPopup', 'WebUIOmniboxAimPopup', 'WebUIOmniboxFullPopup'];

// One browser for a test file. chromium.launch gives it a fresh temporary
// profile (user-data dir) that it removes on close. It starts CHROMIUM
// (full: CHROMIUM_FULL) through lib/chromium.sh, which merges our
// --disable-features with Playwright's (Chromium heeds only the last switch).
export async function launch({ full = false } = {}) {
  const bin = full ? CHROMIUM_FULL : CHROMIUM;
  const pkg = full ? 'chromium' : 'chromium-headless-shell';
  assert.ok(fs.existsSync(bin), `${bin} is missing: scripts/deps.sh test installs the Debian package ${pkg}`);
  return chromium.launch({
    executablePath: path.join(path.dirname(fileURLToPath(import.meta.url)), 'chromium.sh'),
    env: { ...process.env, PARLEY_CHROMIUM_REAL: bin },
    headless: true,
    timeout: 30000,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage', `--disable-features=${DISABLE_FEATURES.join(',')}`],
  });
}

// Page probes, installed before any script of the page runs (CDP init
// scripts are not subject to the page's CSP).
const PROBES = `
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber);
  });
  window.__events = [];
  for (const n of ['ready', 'open', 'close', 'history', 'send', 'reply', 'stop', 'error', 'reset', 'destroy', 'identity']) {
    document.addEventListener('parley:' + n, (e) => window.__events.push({ name: n, detail: JSON.parse(JSON.stringify(e.detail, (k, v) => (v instanceof Node ? undefined : v))) }));
  }
`;

// A fresh context (its own storage) and page with the probes.
// opts: Playwright context options (viewport, colorScheme, ...).
export async function openPage(browser, opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...opts });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  page.setDefaultNavigationTimeout(15000);
  const log = { console: [], errors: [], dialogs: [], requests: [] };
  page.on('console', (m) => log.console.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => log.errors.push(String(e && e.message || e)));
  page.on('dialog', (d) => { log.dialogs.push(`${d.type()}: ${d.message()}`); d.dismiss().catch(() => {}); });
  page.on('request', (r) => log.requests.push(r.url()));
  await page.addInitScript(PROBES);
  return { ctx, page, log };
}

// No page error, no console error, no CSP violation. allowConsole: a
// RegExp of the console errors a test asked for (left out of the check).
export async function assertClean(page, log, what, { allowConsole = null } = {}) {
  assert.deepEqual(log.errors, [], `${what}: page errors`);
  const errs = log.console.filter((m) => m.type === 'error' && !(allowConsole && allowConsole.test(m.text)));
  assert.deepEqual(errs, [], `${what}: console errors`);
  assert.deepEqual(await page.evaluate(() => window.__csp), [], `${what}: CSP violations`);
}

// Selector of a data-part inside the widget (Playwright's CSS pierces open shadow roots).
export const part = (name) => `#parley-chat-widget [data-part="${name}"]`;

// The widget's script has run (window.ParleyChat). A wait that times out
// says what the page had: its address and state, its scripts and every
// resource it fetched, with status and time (a rare slow start, seen
// once, left nothing else to go on).
export async function waitReady(page) {
  try {
    await page.waitForFunction(() => !!window.ParleyChat, null, { timeout: 10000 });
  } catch (err) {
    const seen = await page.evaluate(() => ({
      url: location.href,
      readyState: document.readyState,
      scripts: [...document.scripts].map((s) => s.src || '(inline)'),
      resources: performance.getEntriesByType('resource').map((r) =>
        `${r.name} ${r.responseStatus ?? '?'} start ${Math.round(r.startTime)} ms, took ${Math.round(r.duration)} ms`),
      since: Math.round(performance.now()),
    })).catch((e) => ({ unreadable: String(e) }));
    err.message += `\nwaitReady: the page had ${JSON.stringify(seen, null, 1)}`;
    throw err;
  }
}

// The data-part of the focused element inside the widget, or a description of the focus elsewhere.
export function focused(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    if (a && a.id === 'parley-chat-widget') {
      const d = a.shadowRoot.activeElement;
      return d ? d.getAttribute('data-part') || d.tagName.toLowerCase() : 'host';
    }
    return a ? `page:${a.tagName.toLowerCase()}${a.id ? '#' + a.id : ''}` : 'none';
  });
}

// Assistant messages (welcome left out): [{state, text}], from the DOM.
export function assistantMessages(page) {
  return page.evaluate(() => {
    const root = document.getElementById('parley-chat-widget').shadowRoot;
    return [...root.querySelectorAll('[data-part="message"][data-role="assistant"]:not([data-welcome])')].map((m) => ({
      state: m.getAttribute('data-state'),
      text: m.querySelector('[data-part="content"]').textContent,
    }));
  });
}

// Waits until the last assistant message has left pending/streaming; returns it.
export async function waitReplyEnd(page, timeout = 15000) {
  await page.waitForFunction(() => {
    const root = document.getElementById('parley-chat-widget').shadowRoot;
    const all = root.querySelectorAll('[data-part="message"][data-role="assistant"]:not([data-welcome])');
    const m = all[all.length - 1];
    return m && !['pending', 'streaming'].includes(m.getAttribute('data-state'));
  }, null, { timeout });
  const all = await assistantMessages(page);
  return all[all.length - 1];
}

// Records each distinct (state, text, typing) of the last assistant message
// in window.__states, from now on; assertStreamed checks them.
export function watchReply(page) {
  return page.evaluate(() => {
    const root = document.getElementById('parley-chat-widget').shadowRoot;
    const list = root.querySelector('[data-part="messages"]');
    window.__states = [];
    const look = () => {
      const all = list.querySelectorAll('[data-part="message"][data-role="assistant"]:not([data-welcome])');
      const m = all[all.length - 1];
      if (!m) return;
      const st = m.getAttribute('data-state');
      const c = m.querySelector('[data-part="content"]');
      const typing = !!c.querySelector('[data-part="typing"]');
      const text = c.textContent;
      const last = window.__states[window.__states.length - 1];
      if (!last || last.state !== st || last.text !== text || last.typing !== typing) window.__states.push({ state: st, text, typing });
    };
    new MutationObserver(look).observe(list, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

// The reply watched by watchReply went pending (the typing indicator) → at
// least two growing prefixes of expected → done. Returns the states.
export async function assertStreamed(page, expected) {
  const states = await page.evaluate(() => window.__states);
  assert.equal(states[0].state, 'pending', 'the typing indicator comes first');
  // What the visitor sees of the reply itself (the indicator may stay for
  // the frame in which the first token arrives).
  const partial = [...new Set(states.filter((s) => s.state === 'streaming' && !s.typing && s.text && s.text !== expected).map((s) => s.text))];
  assert.ok(partial.length >= 2, `at least two intermediate states before the end, saw ${JSON.stringify(partial)}`);
  for (const [i, t] of partial.entries()) {
    assert.ok(expected.startsWith(t) && t.length < expected.length, `state ${JSON.stringify(t)} is a prefix of the reply`);
    if (i > 0) assert.ok(t.length > partial[i - 1].length, 'each state longer than the one before');
  }
  assert.equal(states[states.length - 1].state, 'done');
  return states;
}

// Types text into the widget's text area and presses Enter.
export async function sendByKeyboard(page, text) {
  // The widget ignores Enter until its socket is up (Send disabled: the
  // text stays), so a press made sooner on a busy machine sent nothing.
  await page.waitForFunction(() => !document.getElementById('parley-chat-widget').shadowRoot
    .querySelector('[data-part="send"]').disabled, null, { timeout: 10000 });
  await page.fill(part('input'), text);
  await page.press(part('input'), 'Enter');
}

// The axe rules whose findings depend on colours alone.
export const COLOUR_RULES = ['color-contrast', 'link-in-text-block'];

// axe-core over the whole document, open shadow roots included. Returns the
// serious and critical violations, each with its nodes. In the dark scheme
// it runs COLOUR_RULES only: every dark scan here follows a light scan of
// the same state, and the dark scheme of the dashboard's and the widget's
// style sheets changes colours only (colour-schemes.test.mjs holds them to
// it), so the other rules would find what the light scan found, at 0.1 s
// a scan.
export async function axeSerious(page, what) {
  const has = await page.evaluate(() => typeof window.axe === 'object');
  if (!has) await page.evaluate(AXE_SOURCE); // CDP evaluation: the page's CSP does not apply
  const res = await page.evaluate(async (colourRules) => {
    // Two frames first: a colour scheme just emulated was seen half
    // applied on a loaded machine (the dark background, the light text).
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
    const r = await window.axe.run(document, { resultTypes: ['violations'],
      ...(dark ? { runOnly: { type: 'rule', values: colourRules } } : {}) });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary })) }));
  }, COLOUR_RULES);
  const bad = res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  return { all: res, bad, what };
}

// A mock reply= directive with every byte but letters, digits and spaces percent-escaped.
export function mockReply(text) {
  const enc = [...Buffer.from(text, 'utf8')].map((b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9 ]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
  return `[[mock:reply=${enc}]]`;
}

// Width and height of a PNG file (from its IHDR chunk).
export function pngSize(file) {
  const b = fs.readFileSync(file);
  assert.equal(b.subarray(1, 4).toString('latin1'), 'PNG', `${file} is a PNG`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

function escAttr(s) {
  return String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// A site that embeds the widget, on its own loopback origin
// (http://localhost:PORT, while Parley is http://127.0.0.1:PORT: another
// site), with a strict CSP that allows only 'self' and the Parley origin.
//   /embed.html?position=&accent=&nowidget=1   a plain page
//   /hostile.html[?nowidget=1]                 hostile CSS (/hostile.css)
//   /widget-embed.html?widget=wid_…            the data-widget (Loquent) embed
// and what a test's own custom(url) answers ({type, body, delayMs?}, or null:
// not its).
export class HostSite {
  constructor({ parleyOrigin, widgetKey }) {
    this.parleyOrigin = parleyOrigin;
    this.widgetKey = widgetKey;
  }

  get origin() { return `http://localhost:${this.port}`; }

  // The page that embeds the widget with this public id by data-widget.
  widgetEmbedUrl(id) { return `${this.origin}/widget-embed.html?widget=${encodeURIComponent(id)}`; }

  csp() {
    const p = this.parleyOrigin;
    // ws://: Chromium does not let an http: source cover the data-widget's WebSocket
    return `default-src 'self'; script-src 'self' ${p}; connect-src 'self' ${p} ${p.replace(/^http/, 'ws')}; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`;
  }

  embedTag(q) {
    const a = [`src="${this.parleyOrigin}/widget/chat-widget.js"`, `data-api-url="${this.parleyOrigin}/chat"`, `data-api-key="${escAttr(this.widgetKey)}"`];
    if (q.get('position')) a.push(`data-position="${escAttr(q.get('position'))}"`);
    if (q.get('accent')) a.push(`data-accent-color="${escAttr(q.get('accent'))}"`);
    if (q.get('title')) a.push(`data-title="${escAttr(q.get('title'))}"`);
    return `<script ${a.join(' ')} defer></script>`;
  }

  page(u) {
    const q = u.searchParams;
    // user-id, user-name, user-email, user-hash, user-email-hash, user-expires: the data-user-* of a signed-in visitor
    const user = ['id', 'name', 'email', 'hash', 'email-hash', 'expires'].map((k) => (q.get(`user-${k}`) === null ? '' : ` data-user-${k}="${escAttr(q.get(`user-${k}`))}"`)).join('');
    const widget = q.get('nowidget') ? '' : q.get('widget')
      ? `<script src="${this.parleyOrigin}/api/widget/embed.js" data-widget="${escAttr(q.get('widget'))}"${user}></script>`
      : this.embedTag(q);
    if (u.pathname === '/widget-embed.html') {
      return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host page (data-widget)</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<link rel="stylesheet" href="/site.css"></head>
<body><header><h1>Host page</h1></header><main><p>A page that embeds a widget by its id.</p></main>
${widget}</body></html>`;
    }
    if (u.pathname === '/embed.html') {
      return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host page</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<link rel="stylesheet" href="/site.css"></head>
<body><header><h1>Host page</h1></header><main><p>Some text of the site, with <a href="#more" id="host-link">a link</a>.</p>
<p><button type="button" id="host-button">A button of the site</button></p><div class="box">A box</div></main>
${widget}</body></html>`;
    }
    if (u.pathname === '/hostile.html') {
      return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Hostile host page</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<link rel="stylesheet" href="/hostile.css"></head>
<body><main><h1>Hostile page</h1><div><p>Everything here is unset.</p><button type="button">Hidden</button></div></main>
${widget}</body></html>`;
    }
    return null;
  }

  async start() {
    this.port = await freePort();
    this.server = http.createServer((req, res) => {
      const u = new URL(req.url, this.origin);
      const mine = this.custom && this.custom(u);
      if (mine) {
        const send = () => {
          res.writeHead(200, { 'Cache-Control': 'no-store', 'Content-Security-Policy': this.csp(), 'Content-Type': mine.type });
          res.end(mine.body);
        };
        // A slow page (a crawl kept syncing a while): at most 10 s.
        if (mine.delayMs) setTimeout(send, Math.min(mine.delayMs, 10000));
        else send();
        return;
      }
      const css = {
        '/site.css': 'body { font: 16px/1.4 Georgia, serif; color: #222; background: #fafafa; } h1 { color: #333; } a { color: #0645ad; } .box { padding: 4px; border: 1px solid #999; } button { font: inherit; }',
        // What an aggressive theme does to everything it can reach.
        '/hostile.css': [
          '* { all: unset !important; }',
          'button { display: none !important; }',
          'div { display: none !important; transform: scale(0.2) rotate(45deg) !important; }',
          'body * { font-size: 3px !important; color: red !important; line-height: 0 !important; }',
          'html, body { overflow: hidden !important; }',
          'textarea, input { display: none !important; }',
          '[hidden] { display: block !important; }',
          'svg, path { display: none !important; fill: red !important; }',
        ].join('\n'),
      }[u.pathname];
      const headers = { 'Cache-Control': 'no-store', 'Content-Security-Policy': this.csp() };
      if (css !== undefined) {
        res.writeHead(200, { ...headers, 'Content-Type': 'text/css; charset=utf-8' });
        res.end(css);
        return;
      }
      const html = this.page(u);
      if (html === null) {
        res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
        res.end('not found');
        return;
      }
      res.writeHead(200, { ...headers, 'Content-Type': 'text/html; charset=utf-8' });
      res.end(html);
    });
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', resolve);
    });
    return this;
  }

  stop() {
    if (!this.server) return Promise.resolve();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// Parley (with the mock model) and the host site, each allowed by the
// other: CORS_ORIGIN lists Parley's own origin (its test pages) and the
// host site's. mock: MockAI options.
// The port is chosen here (the host page and CORS_ORIGIN name it), so
// Parley's own retry on a taken port does not apply: the port freePort()
// found free may be taken before masterd binds it (another test file's
// server, chosen at the same moment), and then the stack starts again on
// another port, three times at most.
export async function startStack({ mock = { chunks: 8, delayMs: 50 }, workers = 2, env = {} } = {}) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const parleyOrigin = `http://127.0.0.1:${port}`;
    const host = new HostSite({ parleyOrigin });
    await host.start();
    const parley = new Parley({
      port, workers, mock,
      env: { CORS_ORIGIN: `${parleyOrigin},${host.origin}`, RATE_LIMIT_MAX_REQUESTS: '0', ...env },
    });
    host.widgetKey = parley.widgetKey;
    try {
      await parley.start();
      return { parley, host, parleyOrigin };
    } catch (e) {
      await parley.stop().catch(() => {});
      await host.stop();
      if (attempt >= 3 || !/Address already in use/.test(String(e?.message))) throw e;
    }
  }
}

// A test file's Parley and host site (startStack) and browser (launch),
// started side by side (each mostly waits on its processes' start-up).
// opts.full: the desktop chromium (launch).
export async function startSuite(opts) {
  const [st, br] = await Promise.allSettled([startStack(opts), launch({ full: opts?.full })]);
  if (st.status === 'rejected' || br.status === 'rejected') {
    await stopSuite({ stack: st.value, browser: br.value });
    throw st.status === 'rejected' ? st.reason : br.reason;
  }
  return { stack: st.value, browser: br.value };
}

// Stops what startSuite started (either may be missing).
export async function stopSuite({ stack, browser }) {
  if (browser) await browser.close();
  if (stack) {
    await stack.host.stop();
    await stack.parley.stop();
  }
}

// A call to the admin API of the stack's Parley with its x-admin-api-key
// (body: JSON): {status, json (null when the answer is not JSON), text}.
export async function adminApi(stack, method, path, body) {
  const headers = { 'x-admin-api-key': stack.parley.adminKey };
  if (body) headers['Content-Type'] = 'application/json';
  const r = await fetch(stack.parleyOrigin + path, { method, headers, body: body && JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}

// ---- the dashboard (docs/dashboard.md) ----

export { PASSWORD as DASHBOARD_PASSWORD } from '../../integration/lib/dashboard.mjs';

// Logs in over the API (from another loopback address, so the browser's
// own login attempts from 127.0.0.1 stay countable) and gives ctx the
// session cookie, as the login would. Returns the Session (csrf, id).
// session: one such Session to give ctx instead of logging in again (a
// login is two scrypts on the server: tests that never log out can share
// one).
export async function dashLogin(stack, ctx, session = null) {
  const { login } = await import('../../integration/lib/dashboard.mjs');
  const s = session ?? await login(stack.parley);
  await ctx.addCookies([{
    name: 'parley_session', value: s.id, domain: '127.0.0.1', path: '/', httpOnly: true, sameSite: 'Strict',
  }]);
  return s;
}

// The page sent to the login page, and that page's own check of the session
// (login.js alreadyIn) answered. A session added before the check had
// answered would send the page on to the dashboard by itself, interrupting
// the test's own page.goto (seen in CI).
export async function atLoginPage(page, opts = {}) {
  await page.waitForURL(/\/dashboard\/login/, opts);
  await page.waitForSelector('#login-form[data-session-checked="signed-out"]', opts);
}

// A page of the dashboard's application, waited for: route like '#/widgets'.
export async function openDash(page, stack, route = '#/conversations', ready = 'h1') {
  await page.goto(`${stack.parleyOrigin}/dashboard/${route}`);
  if (ready) await page.waitForSelector(ready, { timeout: 10000 });
}

// The dashboard's event stream refused (a 503: the browser does not retry
// by itself; live.js does, 2 s later, and after three failures in a row
// polls every 2 s and tries the stream every 30 s), its timers under the
// page's clock (Playwright's page.clock) for the test to move on instead
// of waiting them out; window.__esErrors counts the stream's errors after
// live.js has handled each (its retry set). Call before the page loads;
// page.unroute('**/v1/admin/events*') lets the stream through.
export async function refuseStream(page) {
  await page.clock.install();
  await page.addInitScript(() => {
    window.__esErrors = 0;
    const E = window.EventSource;
    window.EventSource = class extends E {
      set onerror(f) { super.onerror = (e) => { f.call(this, e); window.__esErrors++; }; }
      get onerror() { return super.onerror; }
    };
  });
  await page.route('**/v1/admin/events*', (route) => route.fulfill({ status: 503, body: '' }));
}

// After refuseStream, the page loaded: its dashboard polling, at once.
export async function pollingNow(page) {
  for (let k = 1; k < 3; k++) {
    await page.waitForFunction((n) => window.__esErrors >= n, k, { timeout: 10000 });
    await page.clock.fastForward(2000);
  }
  await page.waitForFunction(() => document.documentElement.dataset.live === 'poll', null, { timeout: 10000 });
}

// The Notification API, recorded (headless Chromium shows none): each
// notification's {title, body} in window.__notes. granted: the permission
// already given (else given when asked); on: the dashboard's notifications
// switched on (its localStorage). Call before the page loads.
export async function recordNotifications(page, { granted = true, on = true } = {}) {
  await page.addInitScript(({ granted: g, on: o }) => {
    window.__notes = [];
    window.Notification = class {
      static permission = g ? 'granted' : 'default';
      static requestPermission() { this.permission = 'granted'; return Promise.resolve('granted'); }
      constructor(title, opts) { window.__notes.push({ title, body: opts && opts.body }); }
      close() {}
    };
    if (o) localStorage.setItem('parley.notify', '1');
  }, { granted, on });
}

// A view's read the events stream's start asks for, held back: the
// stream (/v1/admin/events) is held until the page's own first read of
// the GETs route matches is answered, so its "ready" asks the second
// read, which is read and held. Call before the page loads. Returns
// {held (a promise: the second read is held; fails after 10 s), release()
// (its answer given)}; page.unrouteAll when done.
export async function holdSecondRead(page, route) {
  let n = 0;
  let firstRead;
  const first = new Promise((ok) => { firstRead = ok; });
  await page.route('**/v1/admin/events*', async (r) => {
    await first;
    await r.continue();
  });
  let answer;
  let heldOk;
  const held = new Promise((ok) => { heldOk = ok; });
  await page.route(route, async (r) => {
    if (r.request().method() !== 'GET') return r.continue();
    if (++n === 1) {
      await r.fulfill({ response: await r.fetch() });
      firstRead();
      return;
    }
    if (n !== 2) return r.continue();
    answer = { r, response: await r.fetch() };
    heldOk();
  });
  let timer;
  const late = new Promise((_, no) => { timer = setTimeout(() => no(new Error('no second read')), 10000); });
  return {
    held: Promise.race([held, late]).finally(() => clearTimeout(timer)),
    release: () => answer.r.fulfill({ response: answer.response }),
  };
}

// Page wider than the viewport (horizontal scroll)? {scrollWidth, innerWidth}.
export function overflow(page) {
  return page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
}

// The px from the right edge of the control sel finds to that of the content
// box of what holds it (its fieldset, else its form): 0 for a control as wide
// as its form, as a text area is (a URL's field, .field-wide).
export function rightGap(page, sel) {
  return page.$eval(sel, (el) => {
    const box = el.closest('fieldset') || el.closest('form');
    const cs = getComputedStyle(box);
    const inner = box.getBoundingClientRect().right - parseFloat(cs.borderRightWidth) - parseFloat(cs.paddingRight);
    return Math.round(inner - el.getBoundingClientRect().right);
  });
}

// On a phone's cards (.table-cards), each cell of the rows the selector
// finds is its label and, beside it, its value: asserts that every piece of
// the value (an element, or text) starts in the cell's second column, none
// wrapped under the label. Returns the cells looked at.
export async function assertCardCells(page, rows, what) {
  const bad = await page.$$eval(`${rows} td`, (tds) => tds.map((td) => {
    const cs = getComputedStyle(td);
    const cols = cs.gridTemplateColumns.split(' ').map(parseFloat);
    const second = td.getBoundingClientRect().left + parseFloat(cs.paddingLeft) + cols[0] + parseFloat(cs.columnGap);
    const out = [];
    for (const n of td.childNodes) {
      if (n.nodeType === 3 && !n.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNode(n);
      const r = range.getBoundingClientRect();
      if (r.width && r.left < second - 1) out.push(`${td.dataset.label}: "${n.textContent.trim()}" at ${Math.round(r.left)}, its column at ${Math.round(second)}`);
    }
    return out;
  }));
  assert.ok(bad.length > 0, `${what}: no cells in ${rows}`);
  assert.deepEqual(bad.flat(), [], `${what}: a value under its label`);
  return bad.length;
}

// Each badge the selector finds (a list's Status on a phone's cards) is
// as wide as its text and its padding, not its card: asserts that the
// badge is at most 24 px wider than its text (.badge's padding is 16 px).
// Returns the measures (its cell's width for a message).
export async function assertBadgesFit(page, selector, what) {
  const boxes = await page.$$eval(selector, (els) => els.map((el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return {
      text: el.textContent,
      badge: Math.round(el.getBoundingClientRect().width),
      words: Math.round(range.getBoundingClientRect().width),
      cell: Math.round(el.closest('td').getBoundingClientRect().width),
    };
  }));
  assert.ok(boxes.length > 0, `${what}: no ${selector}`);
  for (const b of boxes) {
    assert.ok(b.badge <= b.words + 24, `${what}: a badge as wide as its text: ${JSON.stringify(b)}`);
  }
  return boxes;
}

// axe-core in light and in dark (prefers-color-scheme): the serious and
// critical violations of both, labelled.
export async function axeLightDark(page, what) {
  const bad = [];
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    await page.waitForTimeout(50);
    const r = await axeSerious(page, `${what} (${colorScheme})`);
    for (const v of r.bad) bad.push({ page: what, colorScheme, ...v });
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return bad;
}

// A phone-sized context (390x844, touch, mobile viewport) for screenshots.
export const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };

// A full-page screenshot's bound: a guard against a hang, not a figure
// (Playwright's default is the page's 10 s, meant for a click). A full page
// is rastered whole: the widget form on a phone (390 x 8,924 px) took
// 0.74 s on a quiet machine, 3.3 s within make test on 2 cores, and once
// more than 10 s on CI's.
export const SHOT_TIMEOUT = 60000;

// The bound on a password's answer through a page (a login, an
// invitation's acceptance): a guard against a hang, not a figure. A wrong
// password waits a second by design (DASH_WRONG_DELAY_MS), each password
// is a scrypt (N=2^14, 72 ms on this machine) and the first a worker
// serves three (the owner's password stored first): 1.1 to 1.5 s quiet,
// 3.2 s beside ten busy loops, over 8 s once with six test files at a time.
export const LOGIN_TIMEOUT = 30000;

// Saves build/test/screenshots/<name>-light.png and -dark.png (the page
// in each colour scheme; fullPage: the whole page, else the viewport),
// and leaves the page light.
export async function shotsLightDark(page, name, { fullPage = true } = {}) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${colorScheme}.png`), fullPage, timeout: SHOT_TIMEOUT });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

// The dashboard's reply box on a phone (PHONE): no sideways scroll, Send
// on the screen, screenshots <shot>-light/-dark of the viewport, a clean
// console. axe-core's findings (what: where, in their words).
export async function phoneReplyChecked(phone, shot, what) {
  const o = await overflow(phone.page);
  assert.ok(o.scrollWidth <= o.innerWidth, `no sideways scroll: ${JSON.stringify(o)}`);
  const send = await phone.page.locator('[data-testid="reply-send"]').boundingBox();
  assert.ok(send.x + send.width <= 390 && send.y + send.height <= 844, `Send on the screen: ${JSON.stringify(send)}`);
  await shotsLightDark(phone.page, shot, { fullPage: false });
  const bad = await axeLightDark(phone.page, what);
  await assertClean(phone.page, phone.log, 'phone reply box');
  return bad;
}

// Saves build/test/screenshots/dashboard-<name>.png of the whole page.
export async function dashShot(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `dashboard-${name}.png`);
  await page.screenshot({ path: file, fullPage: true, timeout: SHOT_TIMEOUT });
  return file;
}

// For each [name, route, ready] of pages: axe-core in light and dark on
// desk and, at the same time, on phone (a PHONE-sized page) no horizontal
// overflow and a screenshot (dashShot). Both pages are logged in already
// (two contexts: neither waits on the other). Returns the serious and
// critical violations (axeLightDark) of every page.
export async function axeAndPhone(stack, desk, phone, pages) {
  const bad = [];
  for (const [name, route, ready] of pages) {
    const onDesk = async () => {
      await openDash(desk, stack, route, ready);
      await desk.waitForTimeout(100);
      return axeLightDark(desk, name);
    };
    const onPhone = async () => {
      await openDash(phone, stack, route, ready);
      await phone.waitForTimeout(100);
      const o = await overflow(phone);
      assert.ok(o.scrollWidth <= o.innerWidth, `${name}: no horizontal overflow on a phone: ${JSON.stringify(o)}`);
      await dashShot(phone, name);
    };
    const [d, ph] = await Promise.allSettled([onDesk(), onPhone()]);
    if (d.status === 'rejected') throw d.reason;
    if (ph.status === 'rejected') throw ph.reason;
    bad.push(...d.value);
  }
  return bad;
}
