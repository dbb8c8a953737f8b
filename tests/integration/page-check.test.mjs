// POST /v1/admin/widgets/:wid/check-page: the server fetches the owner's
// page (served here by a Node http server on 127.0.0.1, which
// PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on lets the default organisation reach)
// and says whether it holds this widget's embed tag: the right tag is
// found; a tag with a mistyped id is not, and the message names both ids;
// a page with no tag, or only other scripts, is not; a redirect is
// followed to the page (the final URL answered); a script of Parley's
// without data-widget is said so; a page over 1 MiB is searched in its
// first MiB (a tag past it unseen, "truncated"); a page that is not HTML,
// a host that does not resolve, a port that refuses and a redirect loop
// are 502 with the reason; a 404 page is searched and its status given.
// The client leaving while the page is slow stops the fetch (the page's
// connection closed long before the 10 s timeout).
// Bad bodies are 400, an unknown widget 404 (before the body is judged,
// its Content-Type and JSON too).
// A second stack without the setting refuses loopback with 400 naming
// PARLEY_KNOWLEDGE_ALLOW_PRIVATE: literals and "localhost" before any
// fetch, and loopback spelled as one number (2130706433, not a literal to
// the policy) as curl connects. Every answer is checked against the
// OpenAPI document.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { buildRequest } from './lib/http.mjs';
import { adminCall, checkerFor } from './lib/openapi.mjs';
import { receiver } from './lib/receiver.mjs';

const page = (head, body = '<p>Hello</p>') =>
  `<!doctype html><html><head><title>Shop</title>${head}</head><body>${body}</body></html>`;
const WRONG = 'wid_0123456789abcdef0123456789abcdef';

// A started stack (env added) with a widget "Shop": {p, call (the admin
// API, each answer checked against the OpenAPI document), wid}.
async function stackWithWidget(env) {
  const p = new Parley({ workers: 1, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0', ...env } });
  await p.start();
  const api = await checkerFor(p);
  const call = (method, pathname, body) => adminCall(p, api, method, pathname, body);
  const r = await call('POST', '/v1/admin/widgets', { name: 'Shop' });
  assert.equal(r.status, 201, r.text);
  return { p, call, wid: r.json().widget_id };
}

describe('check my page', () => {
  let p;
  let site;
  let call;
  let wid;
  const files = new Map();

  let slowClosed = null; // when the slow page's connection closed
  let slowAsked = 0; // the slow page's requests
  function serve(req, res) {
    if (req.url === '/slow') {
      slowAsked++;
      slowClosed = 0;
      req.socket.on('close', () => { slowClosed = Date.now(); });
      return; // never answered
    }
    const f = files.get(req.url);
    if (!f) {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end(page('', '<h1>Not found</h1>'));
      return;
    }
    if (f.redirect) {
      res.writeHead(302, { location: f.redirect });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': f.type || 'text/html; charset=utf-8' });
    res.end(f.body);
  }

  const check = (url, id = wid) => call('POST', `/v1/admin/widgets/${id}/check-page`, { url });

  before(async () => {
    site = await receiver(serve);
    ({ p, call, wid } = await stackWithWidget({ PARLEY_KNOWLEDGE_ALLOW_PRIVATE: 'on' }));
    const origin = `http://127.0.0.1:${p.port}`;
    const tag = (id) => `<script src="${origin}/widget/chat-widget.js" data-widget="${id}" data-api-key="k" defer></script>`;
    files.set('/right', { body: page(`<script src="/app.js"></script>${tag(wid)}`) });
    files.set('/typo', { body: page(tag(WRONG)) });
    files.set('/none', { body: page('<script src="/app.js"></script><script>var x = "data-widget";</script>') });
    files.set('/old', { redirect: '/moved' });
    files.set('/moved', { redirect: '/right' });
    files.set('/bare', { body: page(`<script src="${origin}/api/widget/embed.js?v=2"></script>`) });
    files.set('/image', { type: 'image/png', body: Buffer.alloc(64, 1) });
    files.set('/loop', { redirect: '/loop' });
    // A tag past the first MiB is not seen; the first MiB is searched.
    files.set('/big', { body: page('', `<p>${'x'.repeat(1100000)}</p>${tag(wid)}`) });
    files.set('/big-early', { body: page(tag(wid), `<p>${'x'.repeat(1100000)}</p>`) });
    // A NUL byte before the tag (a template's stray one): libxml2 stopped
    // reading there, and the tag was reported missing.
    files.set('/nul', { body: page('<script src="/app.js"></script>\0', `<p>Hello</p>${tag(wid)}`) });
  });
  // The test's own server closed even when stop() throws (a sanitizer
  // report): left listening, it kept the file's process alive.
  after(async () => {
    try {
      if (p) await p.stop();
    } finally {
      if (site) await site.close();
    }
  });

  test('the right tag is found', async () => {
    const r = await check(site.url('/right'));
    assert.equal(r.status, 200, r.text);
    const b = r.json();
    assert.equal(b.found, true);
    assert.equal(b.status, 200);
    assert.equal(b.url, site.url('/right'));
    assert.equal(b.truncated, false);
    assert.deepEqual(b.tags, [{ data_widget: wid, src: `http://127.0.0.1:${p.port}/widget/chat-widget.js` }]);
    assert.match(b.message, new RegExp(`embed tag for this widget \\(${wid}\\)`));
    const hit = site.hits.at(-1);
    assert.match(hit.headers['user-agent'], /^Parley\/\S+ \(page check\)$/);
    assert.equal(hit.headers.cookie, undefined);
  });

  test('a mistyped id: not found, and the message names both ids', async () => {
    const b = (await check(site.url('/typo'))).json();
    assert.equal(b.found, false);
    assert.equal(b.tags.length, 1);
    assert.equal(b.tags[0].data_widget, WRONG);
    assert.ok(b.message.includes(`another id: ${WRONG}`), b.message);
    assert.ok(b.message.includes(`the widget's id is ${wid}`), b.message);
  });

  test('a page without a Parley tag, and a 404 page', async () => {
    let b = (await check(site.url('/none'))).json();
    assert.equal(b.found, false);
    assert.deepEqual(b.tags, []);
    assert.equal(b.message, 'No Parley tag on that page.');
    b = (await check(site.url('/missing'))).json();
    assert.equal(b.found, false);
    assert.equal(b.status, 404);
    assert.match(b.message, /^No Parley tag on that page\. It answered HTTP 404/);
  });

  test('a NUL byte before the tag: the tag is found all the same', async () => {
    const b = (await check(site.url('/nul'))).json();
    assert.equal(b.found, true, b.message);
    assert.deepEqual(b.tags.map((x) => x.data_widget), [wid]);
  });

  test('redirects are followed to the page', async () => {
    const b = (await check(site.url('/old'))).json();
    assert.equal(b.found, true);
    assert.equal(b.url, site.url('/right'));
  });

  test('Parley\'s script without data-widget is said so', async () => {
    const b = (await check(site.url('/bare'))).json();
    assert.equal(b.found, false);
    assert.deepEqual(b.tags, [{ data_widget: null, src: `http://127.0.0.1:${p.port}/api/widget/embed.js?v=2` }]);
    assert.ok(b.message.includes(`data-widget="${wid}"`), b.message);
  });

  test('a page over 1 MiB: its first MiB is searched', async () => {
    let b = (await check(site.url('/big'))).json();
    assert.equal(b.truncated, true);
    assert.equal(b.found, false);
    assert.match(b.message, /Only its first 1 MiB was read\./);
    b = (await check(site.url('/big-early'))).json();
    assert.equal(b.truncated, true);
    assert.equal(b.found, true);
  });

  test('what cannot be fetched is 502 with the reason', async () => {
    let r = await check(site.url('/image'));
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json().error, 'url: could not fetch it: not an HTML page (Content-Type: image/png)');
    r = await check(site.url('/loop'));
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json().error, 'url: could not fetch it: more than 5 redirects');
    r = await check('http://page-check.invalid/');
    assert.equal(r.status, 502, r.text);
    assert.match(r.json().error, /^url: could not fetch it: /);
    // A port nothing listens on (the site's, once it is closed).
    const gone = await receiver(serve);
    const url = gone.url('/');
    await gone.close();
    r = await check(url);
    assert.equal(r.status, 502, r.text);
    assert.match(r.json().error, /^url: could not fetch it: .*(connect|refused)/i);
  });

  test('the client leaving stops the fetch', async () => {
    const body = JSON.stringify({ url: site.url('/slow') });
    const c = await p.connect();
    await c.write(buildRequest('POST', `/v1/admin/widgets/${wid}/check-page`, {
      host: `127.0.0.1:${p.port}`,
      headers: { 'x-admin-api-key': p.adminKey, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      body,
    }));
    await waitFor(() => slowClosed === 0, 5000, 'the page asked for');
    const left = Date.now();
    c.destroy();
    await waitFor(() => slowClosed > 0, 3000, 'the page\'s connection closed once the client left');
    assert.ok(slowClosed - left < 3000);
  });

  // CHECKS_MAX (8) a worker: one organisation's slow pages take 2 of
  // them at most, so its slowness never refuses the others' checks.
  test('one organisation checks 2 pages at once at most', async () => {
    const body = JSON.stringify({ url: site.url('/slow') });
    const held = [];
    const asked = slowAsked;
    try {
      for (let i = 0; i < 2; i++) {
        const c = await p.connect();
        held.push(c);
        await c.write(buildRequest('POST', `/v1/admin/widgets/${wid}/check-page`, {
          host: `127.0.0.1:${p.port}`,
          headers: { 'x-admin-api-key': p.adminKey, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
          body,
        }));
      }
      await waitFor(() => slowAsked === asked + 2, 5000, 'both slow pages asked for');
      const r = await check(site.url('/right'));
      assert.equal(r.status, 503, r.text);
      assert.equal(r.json().error, 'Too many of this organization\'s pages being checked; try again');
    } finally {
      for (const c of held) c.destroy();
    }
    // Their slots given back once their clients left.
    await waitFor(async () => (await check(site.url('/right'))).status === 200, 5000, 'a check again');
  });

  test('bad bodies are 400, an unknown widget 404', async () => {
    const bad = [
      [{}, 'url: required'],
      [{ url: 42 }, 'url: must be a string'],
      [[], 'body: must be a JSON object'],
    ];
    for (const [body, error] of bad) {
      const r = await call('POST', `/v1/admin/widgets/${wid}/check-page`, body);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json().error, error);
    }
    for (const url of ['ftp://example.com/', 'not a url', '']) {
      const r = await check(url);
      assert.equal(r.status, 400, `${url}: ${r.text}`);
      assert.match(r.json().error, /^url: /);
    }
    let r = await p.request('POST', `/v1/admin/widgets/${wid}/check-page`,
      { headers: { 'x-admin-api-key': p.adminKey, 'content-type': 'application/json' }, body: '{"url":' });
    assert.equal(r.status, 400, r.text);
    r = await check(site.url('/right'), WRONG);
    assert.equal(r.status, 404, r.text);
    assert.deepEqual(r.json(), { error: 'Widget not found' });
    r = await call('POST', `/v1/admin/widgets/${WRONG}/check-page`, {});
    assert.equal(r.status, 404, 'the widget before the body');
    for (const [type, body] of [['application/json', '{"url":'], ['text/plain', 'x']]) {
      r = await p.request('POST', `/v1/admin/widgets/${WRONG}/check-page`,
        { headers: { 'x-admin-api-key': p.adminKey, 'content-type': type }, body });
      assert.equal(r.status, 404, `the widget before the body's ${type}: ${r.text}`);
      r = await p.request('POST', `/v1/admin/widgets/${wid}/check-page`,
        { headers: { 'x-admin-api-key': p.adminKey, 'content-type': type }, body });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json().error, type === 'text/plain' ?
        'Content-Type must be application/json' : 'Invalid JSON body');
    }
    r = await call('POST', '/v1/admin/widgets/nope/check-page', { url: site.url('/right') });
    assert.equal(r.status, 404, r.text);
  });
});

describe('check my page without PARLEY_KNOWLEDGE_ALLOW_PRIVATE', () => {
  let p;
  let site;
  let call;
  let wid;

  before(async () => {
    site = await receiver((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html></html>');
    });
    ({ p, call, wid } = await stackWithWidget({}));
  });
  // The test's own server closed even when stop() throws (a sanitizer
  // report): left listening, it kept the file's process alive.
  after(async () => {
    try {
      if (p) await p.stop();
    } finally {
      if (site) await site.close();
    }
  });

  test('loopback is refused with 400 naming the setting, and nothing is fetched', async () => {
    for (const url of [site.url('/page'), `http://localhost:${site.server.address().port}/page`, 'http://[::1]/', 'http://10.0.0.1/']) {
      const r = await call('POST', `/v1/admin/widgets/${wid}/check-page`, { url });
      assert.equal(r.status, 400, `${url}: ${r.text}`);
      assert.match(r.json().error, /^url: resolves to a private, loopback or link-local address \(PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on allows it/);
    }
    assert.equal(site.hits.length, 0);
  });

  test('a host that is loopback in another spelling (2130706433) is refused as curl connects', async () => {
    // Not a literal the policy reads before fetching (inet_pton takes
    // dotted quads only): curl reads it as 127.0.0.1, and the address it
    // connects to is refused by the connect-time check.
    const r = await call('POST', `/v1/admin/widgets/${wid}/check-page`, { url: `http://2130706433:${site.server.address().port}/page` });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json().error, /PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on/);
    assert.equal(site.hits.length, 0);
  });
});
