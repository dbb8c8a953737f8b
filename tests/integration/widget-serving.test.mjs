// The widget bundle and the test pages as the real daemons serve them:
// the bundle's bytes, ETag and 304, gzip (q-values), HEAD, Cache-Control in
// development and production, any Origin allowed for the bundle (and only
// for it), the widget's parts and languages (each built file, gzip, any
// Origin; any other name 404, no path out of their directories), WIDGET_BUNDLE_PATH and PARLEY_ASSETS_DIR, a missing bundle (404
// JSON, no crash, found later), a reload (SIGHUP) picking up a new bundle,
// a stale .gz ignored; the test pages with their CSP, the key HTML-escaped,
// no inline script, 404 in production. Answers are checked against the
// OpenAPI document too.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';

import { Parley, REPO, sleep } from './lib/harness.mjs';
import { assertJsonError, assertSecurityHeaders } from './lib/checks.mjs';
import { ResponseChecker } from './lib/openapi.mjs';

const BUNDLE = path.join(REPO, 'widget/dist/chat-widget.js');
const SITE = 'http://site.example';

function bundleBytes() {
  assert.ok(fs.existsSync(BUNDLE), `${BUNDLE} is missing: run "make widget"`);
  return { raw: fs.readFileSync(BUNDLE), gz: fs.readFileSync(`${BUNDLE}.gz`) };
}

// The key holds every character HTML must escape.
const KEY = `k"<&>'-${'x'.repeat(24)}`;
const KEY_HTML = 'k&quot;&lt;&amp;&gt;&#39;-' + 'x'.repeat(24);

function assertBundleHeaders(r, what) {
  assert.equal(r.headers['content-type'], 'application/javascript; charset=utf-8', what);
  assert.equal(r.headers.vary, 'Accept-Encoding', `${what}: Vary`);
  assert.equal(r.headers['access-control-allow-origin'], '*', `${what}: ACAO`);
  assert.equal(r.headers['cross-origin-resource-policy'], 'cross-origin', `${what}: CORP`);
  assertSecurityHeaders(r, what);
}

// Every <script> has a src: the pages run no inline script.
function assertNoInlineScript(html, what) {
  const tags = html.match(/<script\b[^>]*>/gi) || [];
  assert.ok(tags.length > 0, `${what} has scripts`);
  for (const t of tags) assert.match(t, /\ssrc="[^"]+"/, `${what}: inline script ${t}`);
  assert.doesNotMatch(html, /\son[a-z]+=/i, `${what}: an inline event handler`);
  assert.doesNotMatch(html, /style="/i, `${what}: a style attribute`);
}

describe('widget bundle and test pages (development)', () => {
  let p;
  let api;
  const { raw, gz } = bundleBytes();

  before(async () => {
    p = new Parley({ workers: 2, widgetKey: KEY, env: { CORS_ORIGIN: SITE } });
    await p.start();
    const doc = await p.get('/v1/openapi.json');
    api = new ResponseChecker(doc.json());
  });
  after(async () => { await p.stop(); });

  test('GET /widget/chat-widget.js: the built bundle, no-store, strong ETag, public to any origin', async () => {
    const r = await p.get('/widget/chat-widget.js');
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(raw), 'the bytes of widget/dist/chat-widget.js');
    assertBundleHeaders(r, 'GET');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.headers['content-encoding'], undefined);
    assert.match(r.headers.etag, /^"[0-9a-f]{32}"$/);
    assert.equal(r.headers['content-length'], String(raw.length));
    api.validate('GET', '/widget/chat-widget.js', 200, r.headers['content-type'], r.text);

    const e = await p.get('/api/widget/embed.js');
    assert.equal(e.status, 200);
    assert.ok(e.body.equals(raw), '/api/widget/embed.js: the same bytes');
    assert.equal(e.headers.etag, r.headers.etag);
    assert.equal(e.headers['cache-control'], 'no-store');
    assertBundleHeaders(e, 'embed.js');
    api.validate('GET', '/api/widget/embed.js', 200, e.headers['content-type'], e.text);
  });

  test('gzip when Accept-Encoding allows it (q-values read); the .gz bytes with their own ETag', async () => {
    const plain = await p.get('/widget/chat-widget.js');
    const cases = [
      ['gzip', true], ['gzip, deflate, br', true], ['br;q=1.0, gzip;q=0.8', true], ['*', true],
      ['x-gzip', true], ['GZIP;Q=0.5', true],
      ['gzip;q=0', false], ['gzip;q=0, *', false], ['deflate, br', false], ['identity', false],
      ['*;q=0', false], ['gzip;q=0.000', false], ['gzip;q=nope', false],
    ];
    for (const [ae, want] of cases) {
      const r = await p.get('/widget/chat-widget.js', { headers: { 'Accept-Encoding': ae } });
      assert.equal(r.status, 200, ae);
      assert.equal(r.headers.vary, 'Accept-Encoding', ae);
      if (want) {
        assert.equal(r.headers['content-encoding'], 'gzip', `Accept-Encoding: ${ae}`);
        assert.ok(r.body.equals(gz), `${ae}: the bytes of chat-widget.js.gz`);
        assert.ok(zlib.gunzipSync(r.body).equals(raw), `${ae}: gunzips to the bundle`);
        assert.equal(r.headers.etag, plain.headers.etag.replace(/"$/, '-gzip"'), `${ae}: ETag`);
      } else {
        assert.equal(r.headers['content-encoding'], undefined, `Accept-Encoding: ${ae}`);
        assert.ok(r.body.equals(raw), `${ae}: identity`);
        assert.equal(r.headers.etag, plain.headers.etag, `${ae}: ETag`);
      }
    }
    assert.ok(gz.length <= 12288, `gzipped bundle ${gz.length} bytes, budget 12288`);
  });

  test('If-None-Match: 304 without a body for either representation\'s tag', async () => {
    const r = await p.get('/widget/chat-widget.js');
    const tag = r.headers.etag;
    const gzTag = tag.replace(/"$/, '-gzip"');
    for (const [inm, ae, want] of [
      [tag, undefined, tag], [`W/${tag}`, undefined, tag], [`"nope", ${tag}`, undefined, tag], ['*', undefined, tag],
      [gzTag, 'gzip', gzTag], [tag, 'gzip', gzTag], [gzTag, undefined, tag],
    ]) {
      const headers = { 'If-None-Match': inm };
      if (ae) headers['Accept-Encoding'] = ae;
      const c = await p.get('/api/widget/embed.js', { headers });
      assert.equal(c.status, 304, `If-None-Match: ${inm}`);
      assert.equal(c.body.length, 0);
      assert.equal(c.headers.etag, want, `If-None-Match: ${inm}, Accept-Encoding: ${ae}`);
      assert.equal(c.headers['cache-control'], 'no-store');
      assert.equal(c.headers.vary, 'Accept-Encoding');
    }
    const other = await p.get('/widget/chat-widget.js', { headers: { 'If-None-Match': '"0123"' } });
    assert.equal(other.status, 200);
  });

  test('HEAD: the headers of GET, no body, the connection stays in sync', async () => {
    const c = await p.connect();
    try {
      const h = await c.request('HEAD', '/widget/chat-widget.js', { headers: { 'Accept-Encoding': 'gzip' } });
      assert.equal(h.status, 200);
      assert.equal(h.body.length, 0);
      assert.equal(h.headers['content-length'], String(gz.length));
      assert.equal(h.headers['content-encoding'], 'gzip');
      const g = await c.request('GET', '/health');
      assert.deepEqual(g.json(), { status: 'ok' });
    } finally { c.destroy(); }
  });

  test('any Origin gets the bundle (no CORS_ORIGIN check, ACAO *); other paths still refuse it', async () => {
    for (const origin of ['https://evil.example', SITE, 'null']) {
      const r = await p.get('/widget/chat-widget.js', { headers: { Origin: origin } });
      assert.equal(r.status, 200, origin);
      assert.equal(r.headers['access-control-allow-origin'], '*');
      assert.equal(r.headers.vary, 'Accept-Encoding', 'no Vary: Origin: the answer does not depend on it');
    }
    assertJsonError(await p.get('/health', { headers: { Origin: 'https://evil.example' } }), 403, 'Origin not allowed');
    assertJsonError(await p.get('/widget-test.html', { headers: { Origin: 'https://evil.example' } }), 403, 'Origin not allowed');
    const ok = await p.get('/widget-test.html', { headers: { Origin: SITE } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], SITE);
    const post = await p.request('POST', '/widget/chat-widget.js', { body: '' });
    assertJsonError(post, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  test('/widget-test.html: the widget set up for this server, the key HTML-escaped, a strict CSP, no inline script', async () => {
    const r = await p.get('/widget-test.html');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(r.headers['cache-control'], 'no-store');
    const csp = r.headers['content-security-policy'];
    assert.ok(csp, 'a Content-Security-Policy');
    for (const d of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "base-uri 'none'", "frame-ancestors 'none'"]) {
      assert.ok(csp.split(';').map((s) => s.trim()).includes(d), `CSP has ${d}: ${csp}`);
    }
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assertSecurityHeaders(r, '/widget-test.html');
    const html = r.text;
    assert.match(html, /<script src="\/widget\/chat-widget\.js"[^>]*\sdata-api-url="\/chat"/);
    assert.ok(html.includes(`data-api-key="${KEY_HTML}"`), 'the key, escaped, in data-api-key');
    assert.ok(!html.includes(KEY), 'never the raw key');
    assert.ok(!html.includes('{{'), 'no placeholder left');
    assertNoInlineScript(html, '/widget-test.html');
    api.validate('GET', '/widget-test.html', 200, r.headers['content-type'], html);
  });

  test('/headless-test.html: the form, the key escaped in the key field, a strict CSP, no inline script', async () => {
    const r = await p.get('/headless-test.html');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(r.headers['content-security-policy'], /script-src 'self';/);
    const html = r.text;
    assert.match(html, /<form id="chat-form"/);
    for (const ep of ['/v1/chat/stream', '/chat', '/v1/chat']) assert.ok(html.includes(`value="${ep}"`), ep);
    assert.ok(html.includes(`value="${KEY_HTML}"`), 'the key, escaped');
    assert.ok(!html.includes(KEY));
    assertNoInlineScript(html, '/headless-test.html');
  });

  test('GET /widget/parts/:file and /widget/lang/:file: each module the build wrote, gzip, ETag, any Origin; any other name 404', async () => {
    const dist = path.join(REPO, 'widget/dist');
    const seen = [];
    for (const dir of ['parts', 'lang']) {
      for (const f of fs.readdirSync(path.join(dist, dir)).filter((n) => n.endsWith('.js'))) {
        seen.push(`${dir}/${f}`);
        const raw = fs.readFileSync(path.join(dist, dir, f));
        const gz = fs.readFileSync(path.join(dist, dir, `${f}.gz`));
        const u = `/widget/${dir}/${f}`;
        // as the widget imports it: a version in the query, another site's Origin
        const r = await p.get(`${u}?v=1`, { headers: { Origin: 'https://evil.example' } });
        assert.equal(r.status, 200, u);
        assert.ok(r.body.equals(raw), `${u}: the built bytes`);
        assert.equal(r.headers['content-type'], 'text/javascript; charset=utf-8', u);
        assert.equal(r.headers['access-control-allow-origin'], '*', u);
        assert.equal(r.headers['cross-origin-resource-policy'], 'cross-origin', u);
        assert.equal(r.headers['cache-control'], 'no-store', u);
        assert.match(r.headers.etag, /^"[0-9a-f]{32}"$/, u);
        api.validate('GET', u, 200, r.headers['content-type'], r.text);
        const g = await p.get(u, { headers: { 'Accept-Encoding': 'gzip' } });
        assert.equal(g.headers['content-encoding'], 'gzip', u);
        assert.ok(g.body.equals(gz), `${u}: the .gz bytes`);
        assert.equal(g.headers.etag, r.headers.etag.replace(/"$/, '-gzip"'));
        const c = await p.get(u, { headers: { 'If-None-Match': r.headers.etag } });
        assert.equal(c.status, 304, `${u}: If-None-Match`);
      }
    }
    for (const want of ['parts/forms.js', 'parts/layout.js', 'lang/de.js', 'lang/ar.js']) assert.ok(seen.includes(want), `${want} served`);
    for (const u of ['/widget/parts/nope.js', '/widget/lang/en.js', '/widget/lang/forms.js', '/widget/parts/de.js',
      '/widget/parts/FORMS.js', '/widget/parts/forms.js.gz', '/widget/parts/forms', '/widget/parts/..%2Fchat-widget.js',
      '/widget/lang/..%2F..%2F..%2FMakefile', '/widget/parts/%2e%2e', '/widget/parts/.%2Fforms.js',
      `/widget/parts/${'a'.repeat(300)}.js`]) {
      const r = await p.get(u);
      assertJsonError(r, 404);
      assert.equal(r.headers['access-control-allow-origin'], '*', u);
    }
    assertJsonError(await p.get('/widget/parts/../chat-widget.js'), 404);
    assertJsonError(await p.get('/widget/parts/forms.js%00'), 400, 'Malformed URL');
    assertJsonError(await p.get('/widget/parts'), 404);
    assertJsonError(await p.request('POST', '/widget/parts/forms.js', { body: '' }), 405);
  });

  test('/test-pages/*: the pages\' scripts and style; anything else 404', async () => {
    for (const [f, type] of [['widget-test.js', 'application/javascript'], ['headless-test.js', 'application/javascript'], ['test-pages.css', 'text/css']]) {
      const r = await p.get(`/test-pages/${f}`);
      assert.equal(r.status, 200, f);
      assert.equal(r.headers['content-type'], `${type}; charset=utf-8`, f);
      assert.ok(r.body.equals(fs.readFileSync(path.join(REPO, 'widget/pages', f))), `${f}: the file's bytes`);
      api.validate('GET', `/test-pages/${f}`, 200, r.headers['content-type'], r.text);
    }
    for (const f of ['nope.js', 'widget-test.html', '..%2Fpages%2Fwidget-test.js', '..%2F..%2FMakefile', '%2e%2e']) {
      const r = await p.get(`/test-pages/${f}`);
      assertJsonError(r, 404);
      api.validate('GET', `/test-pages/${f}`, 404, r.headers['content-type'], r.json());
    }
    assertJsonError(await p.get('/test-pages/../Makefile'), 404);
    assertJsonError(await p.get('/widget-test.js'), 404);
  });
});

describe('widget bundle and test pages (production)', () => {
  let p;
  const { raw } = bundleBytes();

  before(async () => {
    p = new Parley({ workers: 1, env: { PARLEY_ENV: 'production', CORS_ORIGIN: SITE } });
    await p.start();
  });
  after(async () => { await p.stop(); });

  test('the bundle is cached 300 s at both addresses, as its parts: no cached core outlives them by more', async () => {
    const a = await p.get('/widget/chat-widget.js');
    assert.equal(a.status, 200);
    assert.ok(a.body.equals(raw));
    assert.equal(a.headers['cache-control'], 'public, max-age=300');
    assert.equal(a.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    assertBundleHeaders(a, 'production');
    const b = await p.get('/api/widget/embed.js', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(b.headers['cache-control'], 'public, max-age=300');
    assert.equal(b.headers['content-encoding'], 'gzip');
    const c = await p.get('/api/widget/embed.js', { headers: { 'If-None-Match': a.headers.etag } });
    assert.equal(c.status, 304);
    assert.equal(c.headers['cache-control'], 'public, max-age=300');
    // A site not in CORS_ORIGIN still loads it.
    const d = await p.get('/widget/chat-widget.js', { headers: { Origin: 'https://another.example' } });
    assert.equal(d.status, 200);
    // the parts and languages: 300 s too
    for (const u of ['/widget/parts/forms.js', '/widget/lang/de.js']) {
      const m = await p.get(u, { headers: { Origin: 'https://another.example' } });
      assert.equal(m.status, 200, u);
      assert.equal(m.headers['cache-control'], 'public, max-age=300', u);
    }
  });

  test('the test pages are not served in production', async () => {
    for (const u of ['/widget-test.html', '/headless-test.html', '/test-pages/widget-test.js', '/test-pages/test-pages.css']) {
      assertJsonError(await p.get(u), 404, 'Not found');
    }
  });
});

describe('WIDGET_BUNDLE_PATH and PARLEY_ASSETS_DIR', () => {
  let p;
  let dir;
  let bundle;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-assets-'));
    fs.mkdirSync(path.join(dir, 'widget/pages'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'widget/pages/widget-test.html'), '<p data-k="{{WIDGET_API_KEY}}">mine</p>\n');
    bundle = path.join(dir, 'custom/bundle.js');
    p = new Parley({ workers: 2, widgetKey: KEY, env: { WIDGET_BUNDLE_PATH: bundle, PARLEY_ASSETS_DIR: dir } });
    await p.start();
  });
  after(async () => {
    await p.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a missing bundle answers 404 JSON (the workers stay up); once built it is served without a restart', async () => {
    const workers = p.workerPids();
    for (const u of ['/widget/chat-widget.js', '/api/widget/embed.js']) {
      const r = await p.get(u);
      assertJsonError(r, 404, 'Widget bundle not found');
      assert.equal(r.headers['access-control-allow-origin'], '*');
    }
    assert.match(p.tail('masterd'), /widget bundle .*custom\/bundle\.js/, 'the worker said which file it missed');
    fs.mkdirSync(path.dirname(bundle), { recursive: true });
    fs.writeFileSync(bundle, '/* one */ void 0;\n');
    // Each worker looks again at most once a second: poll over new
    // connections until every worker has served it.
    const served = new Set();
    const deadline = Date.now() + 10000;
    while (served.size < workers.length && Date.now() < deadline) {
      const c = await p.connect();
      const r = await c.request('GET', '/widget/chat-widget.js');
      const owner = p.connectionOwners(workers).get(c.localPort);
      c.destroy();
      if (r.status === 200) {
        assert.equal(r.text, '/* one */ void 0;\n');
        served.add(owner);
      } else await sleep(100);
    }
    assert.deepEqual([...served].sort(), [...workers].sort(), 'every worker serves the bundle built later');
    assert.deepEqual(p.workerPids(), workers, 'no worker restarted');
  });

  test('PARLEY_ASSETS_DIR: the test pages come from there (a page missing there is 404)', async () => {
    const r = await p.get('/widget-test.html');
    assert.equal(r.status, 200);
    assert.equal(r.text, `<p data-k="${KEY_HTML}">mine</p>\n`);
    assertJsonError(await p.get('/headless-test.html'), 404);
  });

  test('SIGHUP (new workers) reads the bundle again; a .gz of other bytes is never sent', async () => {
    const before1 = await p.get('/widget/chat-widget.js');
    assert.equal(before1.status, 200);
    assertJsonError(await p.get('/widget/parts/mine.js'), 404);
    const v2 = Buffer.from('/* two */ void 2;\n');
    fs.writeFileSync(bundle, v2);
    // modules beside the bundle: <name>.js only (not a bad name, not a directory)
    const mine = Buffer.from('export default () => 1;\n');
    for (const d of ['parts', 'lang']) fs.mkdirSync(path.join(dir, 'custom', d), { recursive: true });
    fs.writeFileSync(path.join(dir, 'custom/parts/mine.js'), mine);
    fs.writeFileSync(path.join(dir, 'custom/parts/mine.js.gz'), zlib.gzipSync(Buffer.from('stale')));
    fs.writeFileSync(path.join(dir, 'custom/parts/Bad.js'), mine);
    fs.mkdirSync(path.join(dir, 'custom/parts/sub.js'));
    fs.writeFileSync(path.join(dir, 'custom/lang/xx.js'), 'export default {};\n');
    fs.writeFileSync(`${bundle}.gz`, zlib.gzipSync(Buffer.from('/* stale */')));
    // Workers already holding a bundle keep theirs until a reload.
    const still = await p.get('/widget/chat-widget.js');
    assert.equal(still.headers.etag, before1.headers.etag);
    // Once the reload is done, every connection goes to a new worker.
    await p.reload();
    const r = await p.get('/widget/chat-widget.js', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(v2), 'the reloaded bundle');
    assert.equal(r.headers['content-encoding'], undefined, 'the stale .gz is not used');
    assert.match(p.tail('masterd'), /does not hold the bytes of/);
    const m = await p.get('/widget/parts/mine.js', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(m.status, 200);
    assert.ok(m.body.equals(mine), 'a part beside WIDGET_BUNDLE_PATH, without its stale .gz');
    assert.equal(m.headers['content-encoding'], undefined);
    assert.equal((await p.get('/widget/lang/xx.js')).text, 'export default {};\n');
    for (const u of ['/widget/parts/Bad.js', '/widget/parts/sub.js', '/widget/parts/forms.js']) assertJsonError(await p.get(u), 404);

    // A matching .gz (what the build writes) is used after the next reload.
    const v3 = Buffer.from('/* three */ void 3;\n'.repeat(20));
    fs.writeFileSync(bundle, v3);
    fs.writeFileSync(`${bundle}.gz`, zlib.gzipSync(v3, { level: 9 }));
    await p.reload();
    const g = await p.get('/widget/chat-widget.js', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(g.status, 200);
    assert.equal(g.headers['content-encoding'], 'gzip', 'the gzip copy after a reload');
    assert.ok(zlib.gunzipSync(g.body).equals(v3));
    const plain = await p.get('/widget/chat-widget.js');
    assert.ok(plain.body.equals(v3));
    assert.notEqual(plain.headers.etag, before1.headers.etag);
  });
});
