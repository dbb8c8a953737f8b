// The knowledge base's fetcher (parley-fetch, its own process) crawling a
// site the test serves on 127.0.0.1 (PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on):
// robots.txt honoured (a disallowed page never fetched), links followed
// under the start URL's directory (one outside it never fetched), a
// redirect followed and its page stored where it landed (the URL asked
// for beside it, without chunks), a 404 stored
// with its status and no chunk, a noindex page with no chunk; the pages
// searchable. Synced again: the pages whose links are followed asked
// whole and kept by their unchanged bytes, a changed page found by its
// new words and not its old ones, a page no longer linked removed with
// its chunks; synced with nothing changed, every page kept. A sitemap
// source reads the pages its sitemap lists, and on re-sync asks each
// conditionally (If-None-Match), a redirect at both hops, a 304 kept
// without re-reading; a URL that stops redirecting is read whole. A start
// URL that fails leaves the source failed with its reason, its old pages
// kept. A gzipped sitemap (.xml.gz) is unzipped, to 50 MB at most. Each redirect hop is checked before it is asked: a path robots.txt
// disallows, or another host, is not asked and the page says why. The
// fetcher is one process beside the notifier, named parley-fetch; another
// organisation's file source is read while a slow crawl waits on its pages.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';

import { waitFor } from './lib/harness.mjs';
import * as kb from './lib/knowledge.mjs';
import { receiver } from './lib/receiver.mjs';

const S = '/v1/admin/knowledge/sources';
const WAIT = 20000;

function page(title, body, extra = '') {
  return `<!doctype html><html lang="en"><head><title>${title}</title>${extra}</head>` +
    `<body><nav><a href="/docs/">Home</a></nav><main><h1>${title}</h1>${body}</main></body></html>`;
}

describe('the fetcher crawls a site on loopback', () => {
  let p;
  let site;
  let call;
  const files = new Map();
  const held = [];	// answers of pages that hold (never answer) until let go
  let failStart = false;

  function serve(req, res) {
    const url = req.url;
    if (failStart && url === '/docs/') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('down');
      return;
    }
    const f = files.get(url);
    if (!f) {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html><body><main><h1>Not found</h1></main></body></html>');
      return;
    }
    if (f.status) {
      res.writeHead(f.status, { 'content-type': 'text/plain' });
      res.end('unavailable');
      return;
    }
    if (f.drop) {	// no answer at all
      req.socket.destroy();
      return;
    }
    if (f.hold) {	// a slow site: answered when the test lets it go
      held.push(res);
      return;
    }
    if (f.redirect) {
      res.writeHead(301, { location: f.redirect });
      res.end();
      return;
    }
    if (f.etag && req.headers['if-none-match'] === f.etag) {
      res.writeHead(304, { etag: f.etag });
      res.end();
      return;
    }
    const h = { 'content-type': f.type || 'text/html; charset=utf-8' };
    if (f.etag) h.etag = f.etag;
    res.writeHead(200, h);
    res.end(f.body);
  }

  before(async () => {
    site = await receiver(serve);
    const u = (path) => site.url(path);
    files.set('/robots.txt', { type: 'text/plain', body: 'User-agent: *\nDisallow: /docs/private\n' });
    files.set('/docs/', { etag: '"home1"', body: page('Kettle manual', `<p>Welcome to the kettle manual.</p>
      <a href="/docs/descaling">Descaling</a> <a href="/docs/warranty">Warranty</a> <a href="/docs/old">Old</a>
      <a href="/docs/missing">Missing</a> <a href="/docs/private/secret">Secret</a> <a href="/blog/news">News</a>
      <a href="/docs/hidden">Hidden</a> <a href="${u('/docs/notes.md')}">Notes</a> <a href="/docs/faq-old">FAQ</a>`) });
    files.set('/docs/descaling', { etag: '"d1"', body: page('Descaling', '<p>Descale the kettle every month with citric acid dissolved in water.</p>') });
    files.set('/docs/warranty', { etag: '"w1"', body: page('Warranty', '<p>The warranty lasts two years from the purchase date.</p>') });
    files.set('/docs/old', { redirect: '/docs/renamed' });
    files.set('/docs/renamed', { body: page('Renamed page', '<p>The limescale filter sits behind the spout.</p>') });
    files.set('/docs/faq-old', { redirect: '/docs/faq' });
    files.set('/docs/faq', { etag: '"f1"', body: page('FAQ', '<p>The lid opens with the walnut button.</p>') });
    files.set('/docs/private/secret', { body: page('Secret', '<p>Robots forbid this zeppelin page.</p>') });
    files.set('/blog/news', { body: page('News', '<p>Outside the docs: a xylophone.</p>') });
    files.set('/docs/hidden', { body: page('Hidden', '<p>A quokka page that asks not to be indexed.</p>', '<meta name="robots" content="noindex">') });
    files.set('/docs/notes.md', { type: 'text/markdown', body: '# Release notes\n\nThe boil-dry cutoff now trips sooner.\n' });
    ({ p, call } = await kb.kbParley());
  });
  after(() => kb.stopAll(p, site));

  const synced = (id, since) => kb.synced(call, id, since, WAIT);

  const found = (query) => kb.found(call, query);

  async function pages(id) {
    const all = [];
    let cursor = '';
    for (let i = 0; i < 20; i++) {
      const r = await call('GET', `${S}/${id}/pages?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200, r.text);
      all.push(...r.json().pages);
      if (!r.json().next_cursor) break;
      cursor = r.json().next_cursor;
    }
    return new Map(all.map((x) => [/^https?:/.test(x.url) ? new URL(x.url).pathname : x.url, x]));
  }

  let src;

  test('a first sync reads the site under its rules', async () => {
    const r = await call('POST', S, { type: 'crawl', url: site.url('/docs/') });
    assert.equal(r.status, 201, r.text);
    src = await synced(r.json().id, 0);
    assert.equal(src.status, 'ready', src.error);
    const got = await pages(src.id);
    assert.deepEqual([...got.keys()].sort(), ['/docs/', '/docs/descaling', '/docs/faq', '/docs/faq-old',
      '/docs/hidden', '/docs/missing', '/docs/notes.md', '/docs/old', '/docs/renamed', '/docs/warranty']);
    // A redirected URL is kept beside the page it led to, without chunks.
    assert.equal(got.get('/docs/old').error, `redirected to ${site.url('/docs/renamed')}`);
    assert.equal(got.get('/docs/old').chunks, 0);
    assert.equal(got.get('/docs/missing').status_code, 404);
    assert.equal(got.get('/docs/missing').chunks, 0);
    assert.match(got.get('/docs/hidden').error, /noindex/);
    assert.equal(got.get('/docs/hidden').chunks, 0);
    assert.ok(got.get('/docs/descaling').chunks >= 1);
    assert.equal(src.pages, 10);
    // robots.txt and the start directory kept these out.
    const paths = site.hits.map((h) => h.path);
    assert.ok(!paths.includes('/docs/private/secret'), 'a disallowed page fetched');
    assert.ok(!paths.includes('/blog/news'), 'a page outside the start directory fetched');
    assert.equal(paths[0], '/robots.txt');
    assert.ok(site.hits.every((h) => /^Parley\//.test(h.headers['user-agent'])));

    const d = await found('how often should I descale');
    assert.equal(d[0].source_id, src.id);
    assert.equal(new URL(d[0].url).pathname, '/docs/descaling');
    assert.equal(d[0].title, 'Descaling');
    assert.equal((await found('limescale filter'))[0].url, site.url('/docs/renamed'));
    assert.equal((await found('boil-dry cutoff'))[0].title, 'Release notes');
    for (const q of ['zeppelin', 'xylophone', 'quokka']) assert.equal((await found(q)).length, 0, q);
  });

  test('a re-sync asks conditionally, reads what changed and removes what is gone', async () => {
    files.set('/docs/warranty', { etag: '"w2"', body: page('Warranty', '<p>The guarantee now covers five years of ownership.</p>') });
    const home = files.get('/docs/');
    files.set('/docs/', { etag: '"home2"', body: home.body.replace('<a href="/docs/old">Old</a>', '') });
    const before = site.hits.length;
    const r = await call('POST', `${S}/${src.id}/sync`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().status, 'syncing');
    const s = await synced(src.id, src.synced_at);
    assert.equal(s.status, 'ready', s.error);
    const hits = site.hits.slice(before);
    // A page whose links keep others is asked conditionally too: on its
    // 304 the links stored with it are followed.
    const desc = hits.find((h) => h.path === '/docs/descaling');
    assert.equal(desc.headers['if-none-match'], '"d1"');
    assert.equal((await found('walnut button'))[0].url, site.url('/docs/faq'), 'a redirected page kept');
    assert.equal((await found('guarantee five years'))[0].url, site.url('/docs/warranty'));
    assert.equal((await found('purchase date')).length, 0);
    assert.equal((await found('limescale filter')).length, 0);
    const got = await pages(src.id);
    assert.ok(!got.has('/docs/renamed'));
    assert.ok(!got.has('/docs/old'), 'a redirect no longer linked is removed');
    assert.ok(got.has('/docs/faq-old') && got.has('/docs/faq'));
    assert.equal(s.pages, 8);
    assert.ok((await found('descale citric acid')).length > 0, 'a page kept by its unchanged bytes');
    src = s;
  });

  test('a re-sync where nothing changed keeps every page: the unchanged pages answer 304, their stored links followed', async () => {
    // A page that fails for now keeps its last version, the failure its error.
    const warranty = files.get('/docs/warranty');
    files.set('/docs/warranty', { status: 503 });
    const before = site.hits.length;
    assert.equal((await call('POST', `${S}/${src.id}/sync`)).status, 200);
    const s = await synced(src.id, src.synced_at);
    assert.equal(s.status, 'ready', s.error);
    assert.equal(s.pages, 8);
    assert.deepEqual([...(await pages(src.id)).keys()].sort(), ['/docs/', '/docs/descaling', '/docs/faq',
      '/docs/faq-old', '/docs/hidden', '/docs/missing', '/docs/notes.md', '/docs/warranty']);
    const hits = site.hits.slice(before);
    assert.equal(hits.find((h) => h.path === '/docs/').headers['if-none-match'], '"home2"', 'the start page asked conditionally');
    assert.equal(hits.find((h) => h.path === '/docs/descaling').headers['if-none-match'], '"d1"');
    assert.ok((await found('descale citric acid')).length > 0);
    const w = (await pages(src.id)).get('/docs/warranty');
    assert.match(w.error, /^HTTP 503 \(the last version kept\)$/);
    assert.ok(w.chunks >= 1);
    assert.equal((await found('guarantee five years'))[0].url, site.url('/docs/warranty'));
    // Redirected to a page that fails for now (a 503, or no answer): it
    // keeps its last version too. It lost it (put under the target's URL,
    // or as a redirect without text), and once left the list.
    let last = s;
    for (const target of [{ status: 503 }, { drop: true }]) {
      files.set('/docs/warranty', { redirect: '/docs/warranty-moved' });
      files.set('/docs/warranty-moved', target);
      assert.equal((await call('POST', `${S}/${src.id}/sync`)).status, 200);
      last = await synced(src.id, last.synced_at);
      const got = await pages(src.id);
      const kept = got.get('/docs/warranty');
      assert.ok(kept, `the page asked for is listed: ${JSON.stringify([...got.keys()])}`);
      assert.match(kept.error, /\(the last version kept\)$/, JSON.stringify(kept));
      assert.ok(kept.chunks >= 1);
      assert.ok(!got.has('/docs/warranty-moved'), 'the target, never read, is not a page');
      assert.equal((await found('guarantee five years'))[0]?.url, site.url('/docs/warranty'));
    }
    files.delete('/docs/warranty-moved');
    // Answering again, its error is gone.
    files.set('/docs/warranty', warranty);
    assert.equal((await call('POST', `${S}/${src.id}/sync`)).status, 200);
    src = await synced(src.id, last.synced_at);
    assert.equal((await pages(src.id)).get('/docs/warranty').error, '');
  });

  // A page's links are stored after the crawl's start directory. A review
  // found a start URL moved down a directory replayed them under the new
  // one on a 304 (/rebase/guide/guide/install, a 404) and removed the
  // real page as no longer linked. Links of another start are not followed.
  test('a start URL moved to another directory reads the pages under it, none made up', async () => {
    files.set('/rebase/', { etag: '"rb1"', body: page('Rebase home', '<p>The rebase home.</p><a href="/rebase/guide/">Guide</a>') });
    files.set('/rebase/guide/', { etag: '"rb2"', body: page('Rebase guide', '<p>The guide.</p><a href="/rebase/guide/install">Install</a>') });
    files.set('/rebase/guide/install', { etag: '"rb3"', body: page('Install', '<p>Install the walrus adapter with care.</p>') });
    let r = await call('POST', S, { type: 'crawl', url: site.url('/rebase/') });
    assert.equal(r.status, 201, r.text);
    let s = await synced(r.json().id, 0);
    assert.deepEqual([...(await pages(s.id)).keys()].sort(), ['/rebase/', '/rebase/guide/', '/rebase/guide/install']);
    const before = site.hits.length;
    r = await call('PATCH', `${S}/${s.id}`, { url: site.url('/rebase/guide/') });
    assert.equal(r.status, 200, r.text);
    s = await synced(s.id, s.synced_at);
    assert.equal(s.status, 'ready', s.error);
    const asked = site.hits.slice(before).map((h) => h.path).filter((x) => x !== '/robots.txt');
    assert.deepEqual(asked.sort(), ['/rebase/guide/', '/rebase/guide/install'], 'the pages under the new start URL, none made up');
    const got = await pages(s.id);
    assert.ok(got.get('/rebase/guide/install')?.chunks >= 1, JSON.stringify([...got.keys()]));
    assert.ok(!got.has('/rebase/guide/guide/install'));
    assert.ok((await found('walrus adapter')).some((x) => x.url === site.url('/rebase/guide/install')));
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
  });

  test('a failed start leaves the source failed and its pages', async () => {
    failStart = true;
    const r = await call('POST', `${S}/${src.id}/sync`);
    assert.equal(r.status, 200);
    const s = await synced(src.id, (await call('GET', `${S}/${src.id}`)).json().synced_at);
    failStart = false;
    assert.equal(s.status, 'failed');
    assert.match(s.error, /start URL: HTTP 500/);
    assert.ok((await found('descale citric acid')).length > 0);
  });

  // So does a start URL that redirects where the crawl may not follow (a
  // login or maintenance page elsewhere, a path robots.txt refuses): the
  // sync read as ready with the start page alone, and the source's other
  // pages were gone.
  test('a start redirected off the site or to a refused path fails the sync, its pages kept', async () => {
    const home = files.get('/docs/');
    const port = new URL(site.url('/')).port;
    try {
      for (const [to, why] of [[`http://localhost:${port}/docs/`, /start URL: redirected off the site/],
        ['/docs/private/x', /start URL: .*robots\.txt/]]) {
        files.set('/docs/', { redirect: to });
        assert.equal((await call('POST', `${S}/${src.id}/sync`)).status, 200);
        const s = await synced(src.id, (await call('GET', `${S}/${src.id}`)).json().synced_at);
        assert.equal(s.status, 'failed', `${to}: ${JSON.stringify(s)}`);
        assert.match(s.error, why);
        assert.ok((await found('descale citric acid')).length > 0, `${to}: the pages kept`);
      }
    } finally { files.set('/docs/', home); }
  });

  test('a crawl stays within its source\'s bounds: max_depth 0 reads the start page alone, max_pages 2 two pages', async () => {
    let r = await call('POST', S, { type: 'crawl', url: site.url('/docs/'), max_depth: 0 });
    assert.equal(r.status, 400, 'max_depth 0 is no depth: null is the default');
    r = await call('POST', S, { type: 'crawl', url: site.url('/docs/'), max_depth: 1, max_pages: 2 });
    assert.equal(r.status, 201, r.text);
    const s = await synced(r.json().id, 0);
    assert.equal(s.status, 'ready', s.error);
    assert.equal(s.pages, 2);
    assert.ok((await pages(s.id)).has('/docs/'));
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
  });

  test('a sitemap source reads the pages it lists, and asks them conditionally on re-sync', async () => {
    files.set('/docs/sitemap.xml', { type: 'application/xml', body: `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>${site.url('/docs/descaling')}</loc></url>
  <url><loc>${site.url('/docs/warranty')}</loc></url>
  <url><loc>${site.url('/docs/faq-old')}</loc></url>
  <url><loc>http://other.example/page</loc></url>
</urlset>` });
    const r = await call('POST', S, { type: 'crawl', url: site.url('/docs/sitemap.xml') });
    assert.equal(r.status, 201, r.text);
    let s = await synced(r.json().id, 0);
    assert.equal(s.status, 'ready', s.error);
    let got = await pages(s.id);
    assert.deepEqual([...got.keys()].sort(), ['/docs/descaling', '/docs/faq', '/docs/faq-old', '/docs/warranty']);
    // A redirected URL is kept beside the page it led to, without chunks.
    assert.equal(got.get('/docs/faq-old').error, `redirected to ${site.url('/docs/faq')}`);
    assert.equal(got.get('/docs/faq-old').chunks, 0);

    // Synced again: each page asked with its validators, a redirect too
    // (and followed with them); the 304s keep the pages.
    let before = site.hits.length;
    assert.equal((await call('POST', `${S}/${s.id}/sync`)).status, 200);
    s = await synced(s.id, s.synced_at);
    assert.equal(s.status, 'ready', s.error);
    const hits = site.hits.slice(before);
    assert.equal(hits.find((h) => h.path === '/docs/descaling')?.headers['if-none-match'], '"d1"');
    for (const path of ['/docs/faq-old', '/docs/faq'])
      assert.equal(hits.find((h) => h.path === path)?.headers['if-none-match'], '"f1"', path);
    assert.equal(s.pages, 4);
    // (Its passage is the crawl source's too: a search lists it once.)
    assert.ok((await pages(s.id)).get('/docs/faq').chunks >= 1, 'a redirected page kept by its 304');
    assert.equal((await found('walnut button')).length, 1);

    // The URL stops redirecting and answers 304 to the validators it had
    // (another page's): stored as an error, then read whole.
    files.set('/docs/faq-old', { etag: '"f1"', body: page('Old FAQ', '<p>The kettle hums in zebra stripes.</p>') });
    assert.equal((await call('POST', `${S}/${s.id}/sync`)).status, 200);
    s = await synced(s.id, s.synced_at);
    got = await pages(s.id);
    assert.match(got.get('/docs/faq-old').error, /304/);
    assert.equal(got.get('/docs/faq-old').chunks, 0);
    assert.ok(!got.has('/docs/faq'), 'the page it led to is no longer listed');
    before = site.hits.length;
    assert.equal((await call('POST', `${S}/${s.id}/sync`)).status, 200);
    s = await synced(s.id, s.synced_at);
    assert.equal(site.hits.slice(before).find((h) => h.path === '/docs/faq-old')?.headers['if-none-match'], undefined);
    got = await pages(s.id);
    assert.equal(got.get('/docs/faq-old').error, '');
    assert.ok(got.get('/docs/faq-old').chunks >= 1);
    assert.equal((await found('zebra stripes'))[0].url, site.url('/docs/faq-old'));
    files.set('/docs/faq-old', { redirect: '/docs/faq' });
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
  });

  test('each redirect hop is checked before it is asked: robots.txt on the same host, another host refused', async () => {
    const port = new URL(site.url('/')).port;
    files.set('/docs/to-private', { redirect: '/docs/private/moved' });
    files.set('/docs/private/moved', { body: page('Moved', '<p>Robots forbid this narwhal page.</p>') });
    files.set('/docs/away', { redirect: `http://localhost:${port}/docs/elsewhere` });
    files.set('/docs/elsewhere', { body: page('Elsewhere', '<p>Another host holds this ocelot page.</p>') });
    files.set('/docs/hops.xml', { type: 'application/xml', body: `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>${site.url('/docs/to-private')}</loc></url>
  <url><loc>${site.url('/docs/away')}</loc></url>
  <url><loc>${site.url('/docs/warranty')}</loc></url>
</urlset>` });
    const before = site.hits.length;
    const r = await call('POST', S, { type: 'crawl', url: site.url('/docs/hops.xml') });
    assert.equal(r.status, 201, r.text);
    const s = await synced(r.json().id, 0);
    assert.equal(s.status, 'ready', s.error);
    const paths = site.hits.slice(before).map((h) => h.path);
    assert.ok(paths.includes('/docs/to-private') && paths.includes('/docs/away'));
    assert.ok(!paths.includes('/docs/private/moved'), 'a redirect to a disallowed path fetched');
    assert.ok(!paths.includes('/docs/elsewhere'), 'a redirect to another host asked');
    const got = await pages(s.id);
    assert.deepEqual([...got.keys()].sort(), ['/docs/away', '/docs/to-private', '/docs/warranty']);
    assert.equal(got.get('/docs/to-private').error,
      `redirected to a page robots.txt disallows: ${site.url('/docs/private/moved')}`);
    assert.equal(got.get('/docs/to-private').chunks, 0);
    assert.equal(got.get('/docs/away').error,
      `redirected off the site: http://localhost:${port}/docs/elsewhere`);
    assert.equal(got.get('/docs/away').chunks, 0);
    for (const q of ['narwhal', 'ocelot']) assert.equal((await found(q)).length, 0, q);
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
  });

  test('a gzipped sitemap (.xml.gz) is unzipped and read, an index\'s too; a zip bomb fails the sync', async () => {
    const urlset = (...paths) => `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
${paths.map((x) => `  <url><loc>${site.url(x)}</loc></url>`).join('\n')}
</urlset>`;
    files.set('/docs/sitemap.xml.gz', { type: 'application/gzip', body: zlib.gzipSync(urlset('/docs/descaling')) });
    files.set('/docs/more.xml.gz', { type: 'application/x-gzip', body: zlib.gzipSync(urlset('/docs/warranty')) });
    files.set('/docs/index.xml', { type: 'application/xml', body: `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>${site.url('/docs/more.xml.gz')}</loc></sitemap>
</sitemapindex>` });
    let r = await call('POST', S, { type: 'crawl', url: site.url('/docs/sitemap.xml.gz') });
    assert.equal(r.status, 201, r.text);
    let s = await synced(r.json().id, 0);
    assert.equal(s.status, 'ready', s.error);
    assert.deepEqual([...(await pages(s.id)).keys()], ['/docs/descaling']);
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
    r = await call('POST', S, { type: 'crawl', url: site.url('/docs/index.xml') });
    s = await synced(r.json().id, 0);
    assert.equal(s.status, 'ready', s.error);
    assert.deepEqual([...(await pages(s.id)).keys()], ['/docs/warranty']);
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
    // 60 MB of white space in about 60 KB: refused past 50 MB unzipped.
    files.set('/docs/bomb.xml.gz', { type: 'application/gzip',
      body: zlib.gzipSync(Buffer.concat([Buffer.from(urlset()), Buffer.alloc(60 << 20, 32)]), { level: 9 }) });
    r = await call('POST', S, { type: 'crawl', url: site.url('/docs/bomb.xml.gz') });
    s = await synced(r.json().id, 0);
    assert.equal(s.status, 'failed');
    // The parser's reason names its part: "sitemap: " once.
    assert.equal(s.error, 'sitemap: over 50 MB unzipped');
    assert.doesNotMatch(s.error, /sitemap: sitemap:/);
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
    // Not XML: the parser's reason, once prefixed, as an unread one's.
    files.set('/docs/broken.xml', { type: 'application/xml', body: '<urlset><url>' });
    r = await call('POST', S, { type: 'crawl', url: site.url('/docs/broken.xml') });
    s = await synced(r.json().id, 0);
    assert.equal(s.status, 'failed');
    assert.equal(s.error, 'sitemap: not well-formed XML');
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
    r = await call('POST', S, { type: 'crawl', url: site.url('/docs/gone.xml') });
    s = await synced(r.json().id, 0);
    assert.equal(s.status, 'failed');
    assert.equal(s.error, 'sitemap: not read');
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
  });

  // Its unchanged file was kept, its words left analysed in the old
  // language, which searches in the new one then missed.
  test('a source\'s language changed: its unchanged file is read again in the new one', async () => {
    const md = (await call('POST', S, { type: 'file', url: 'versand.md' })).json();
    let r = await p.request('PUT', `${S}/${md.id}/file`, { headers: { 'x-admin-api-key': p.adminKey,
      'content-type': 'text/markdown' }, body: '# Versand\n\nDie Lieferungen an unsere Kunden dauern zwei Tage.\n' });
    assert.equal(r.status, 200, r.text);
    let s = await synced(md.id, 0);
    assert.equal(s.status, 'ready', s.error);
    const agent = (await call('POST', '/v1/admin/agents', { name: 'Versand', knowledge_source_ids: [md.id] })).json();
    const finds = async () => (await call('POST', '/v1/admin/knowledge/search', { query: 'Lieferung Kunde', k: 5, agent_id: agent.id })).json().results.length;
    assert.equal(await finds(), 0, 'English stems miss the German words');
    r = await call('PATCH', `${S}/${md.id}`, { language: 'de' });
    assert.equal(r.status, 200, r.text);
    s = await synced(md.id, s.synced_at);
    assert.equal(s.status, 'ready', s.error);
    assert.equal(await finds(), 1, 'read again in German');
    assert.equal((await call('DELETE', `/v1/admin/agents/${agent.id}`)).status, 200);
    assert.equal((await call('DELETE', `${S}/${md.id}`)).status, 200);
  });

  // A review found a text or Markdown answer read as UTF-8 whatever its
  // charset: a page served "text/plain; charset=iso-8859-1" was indexed
  // as "Cr\ufffdme br\ufffdl\ufffde" (found by neither word), and a UTF-16 text
  // file (Windows Notepad's "Unicode") as "\ufffd\ufffdLe caf\ufffd". HTML honoured it.
  test("text and Markdown are read in their charset, or their UTF-16 mark's", async () => {
    files.set('/latin/notes.txt', { type: 'text/plain; charset=iso-8859-1',
      body: Buffer.from('Cr\xe8me br\xfbl\xe9e\n\nThe caramel crust of the cr\xe8me is torched.\n', 'latin1') });
    const crawl = (await call('POST', S, { type: 'crawl', url: site.url('/latin/notes.txt') })).json();
    const sources = [crawl.id];
    let s = await synced(crawl.id, 0);
    assert.equal(s.status, 'ready', s.error);
    let hit = (await found('caramel crust torched'))[0];
    assert.equal(hit?.source_id, crawl.id);
    assert.equal(hit.title, 'Cr\u00e8me br\u00fbl\u00e9e');
    assert.match(hit.text, /crust of the cr\u00e8me/);
    assert.equal((await found('cr\u00e8me br\u00fbl\u00e9e'))[0]?.source_id, crawl.id, 'found by its accented words');
    const put = async (name, type, body) => {
      const f = (await call('POST', S, { type: 'file', url: name })).json();
      sources.push(f.id);
      const r = await p.request('PUT', `${S}/${f.id}/file`, { headers: { 'x-admin-api-key': p.adminKey, 'content-type': type }, body });
      assert.equal(r.status, 200, r.text);
      const st = await synced(f.id, 0);
      assert.equal(st.status, 'ready', st.error);
      return f.id;
    };
    const md = await put('quotes.md', 'text/markdown; charset="windows-1252"',
      Buffer.from('# Caf\xe9 hours\n\nThe \x93quiet\x94 caf\xe9 opens at nine for the porcupines.\n', 'latin1'));
    hit = (await found('porcupines quiet'))[0];
    assert.equal(hit?.source_id, md);
    assert.equal(hit.title, 'Caf\u00e9 hours');
    assert.match(hit.text, /The \u201cquiet\u201d caf\u00e9 opens/);
    const u16 = await put('notepad.txt', 'text/plain',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Gr\u00f6\u00dfe der Seekuh\n\nDie Seekuh wiegt 500 Kilogramm.\n', 'utf16le')]));
    hit = (await found('Seekuh Kilogramm'))[0];
    assert.equal(hit?.source_id, u16);
    assert.equal(hit.title, 'Gr\u00f6\u00dfe der Seekuh');
    // A charset the fetcher does not know: the bytes read as UTF-8, as before.
    const odd = await put('odd.txt', 'text/plain; charset=x-made-up', 'Na\u00efve wombats dig burrows.\n');
    hit = (await found('wombats burrows'))[0];
    assert.equal(hit?.source_id, odd);
    assert.equal(hit.text, 'Na\u00efve wombats dig burrows.');
    for (const id of sources) assert.equal((await call('DELETE', `${S}/${id}`)).status, 200);
    files.delete('/latin/notes.txt');
  });

  test('file sources: Markdown and a PDF uploaded, read by the fetcher, kept unread when unchanged', async () => {
    const md = (await call('POST', S, { type: 'file', url: 'returns.md' })).json();
    assert.equal(md.status, 'syncing');
    assert.equal(md.next_sync_at, 0, 'not due before its file');
    let r = await p.request('PUT', `${S}/${md.id}/file`, { headers: { 'x-admin-api-key': p.adminKey,
      'content-type': 'text/markdown' }, body: '# Returns\n\nParcels go back within thirty days, postage paid.\n' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().status, 'syncing');
    let s = await synced(md.id, 0);
    assert.equal(s.status, 'ready', s.error);
    assert.equal(s.pages, 1);
    const hit = (await found('postage paid parcels'))[0];
    assert.equal(hit.source_id, md.id);
    assert.equal(hit.title, 'Returns');

    const pdf = (await call('POST', S, { type: 'file', url: 'manual.pdf' })).json();
    r = await p.request('PUT', `${S}/${pdf.id}/file`, { headers: { 'x-admin-api-key': p.adminKey,
      'content-type': 'application/pdf' }, body: fs.readFileSync(new URL('../fixtures/knowledge/paragraphs.pdf', import.meta.url)) });
    assert.equal(r.status, 200, r.text);
    s = await synced(pdf.id, 0);
    assert.equal(s.status, 'ready', s.error);
    const ph = (await found('hyphenated word extraction'))[0];
    assert.equal(ph.source_id, pdf.id);
    assert.match(ph.text, /bullet item/);
    // Synced again, the same bytes: kept, not read again.
    const before = s.synced_at;
    assert.equal((await call('POST', `${S}/${pdf.id}/sync`)).status, 200);
    s = await synced(pdf.id, before);
    assert.equal(s.status, 'ready');
    assert.equal(s.chunks, (await pages(pdf.id)).get('manual.pdf')?.chunks ?? s.chunks);

    // A file in pieces (Content-Range), each within a client's body budget:
    // stored in order, joined by the last, read whole.
    const pc = (await call('POST', S, { type: 'file', url: 'pieces.md' })).json();
    const text = Buffer.from(`# Pieces\n\n${'Filler words about kettles and tea.\n\n'.repeat(800)}The walrus valve releases steam.\n`);
    const A = 12 * 1024;
    const put = (from, to, range = `bytes ${from}-${to - 1}/${text.length}`, type = 'text/markdown') => p.request('PUT', `${S}/${pc.id}/file`,
      { headers: { 'x-admin-api-key': p.adminKey, 'content-type': type, 'content-range': range }, body: text.subarray(from, to) });
    r = await put(0, A);
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(r.json(), { received: A, size: text.length });
    // Not where the upload stands: nothing stored, the answer says where.
    r = await put(2 * A, text.length);
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json().received, A);
    assert.match(r.json().error, /holds 12288 bytes of a file of this size and Content-Type; send the rest from byte 12288/);
    // Another size: none of this file's bytes are there (it once said "the upload has 0 bytes").
    r = await put(A, 2 * A, `bytes ${A}-${2 * A - 1}/${text.length + 1}`);
    assert.equal(r.status, 409, r.text);
    assert.match(r.json().error, /holds 0 bytes of a file of this size and Content-Type/);
    // Another type, the same size: none of it either (it said 12288, and a
    // client sending the rest from there was refused again and again).
    r = await put(A, 2 * A, undefined, 'text/plain');
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json().received, 0);
    // Ranges that do not match the body, or past 7 MiB: 400.
    for (const range of ['bytes 0-5/100', `bytes ${A}-${2 * A - 1}`, 'bytes=0-1/2', `bytes ${A}-${2 * A - 1}/${8 << 20}`]) {
      r = await put(A, 2 * A, range);
      assert.equal(r.status, 400, range);
      assert.match(r.json().error, /^Content-Range: /);
    }
    assert.equal((await call('GET', `${S}/${pc.id}`)).json().next_sync_at, 0, 'not due before its last piece');
    r = await put(A, 2 * A);
    assert.equal(r.status, 202, r.text);
    r = await put(2 * A, text.length);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().status, 'syncing');
    s = await synced(pc.id, 0);
    assert.equal(s.status, 'ready', s.error);
    assert.equal((await found('walrus valve steam'))[0].source_id, pc.id);
    // One audit entry for the file, not one a piece.
    const audit = (await call('GET', '/v1/admin/audit?limit=200')).json().entries
      .filter((e) => e.target === pc.id && e.action === 'knowledge_source.file');
    assert.equal(audit.length, 1, JSON.stringify(audit));
    // A file of more text than a page keeps (500 chunks), in 192 KiB pieces:
    // stored as parts of 500, all searched, all kept when it did not change.
    const long = (await call('POST', S, { type: 'file', url: 'long.txt' })).json();
    let para = '';
    for (let i = 0; para.length < 900 * 1024; i++) para += `Paragraph ${i} explains how the kettle heats water.\n\n`;
    para += 'The final paragraph mentions the axolotl warranty desk.\n';
    const lbuf = Buffer.from(para);
    for (let at = 0; at < lbuf.length; at += 192 * 1024) {
      const end = Math.min(at + 192 * 1024, lbuf.length);
      r = await p.request('PUT', `${S}/${long.id}/file`, { headers: { 'x-admin-api-key': p.adminKey,
        'content-type': 'text/plain', 'content-range': `bytes ${at}-${end - 1}/${lbuf.length}` }, body: lbuf.subarray(at, end) });
      assert.equal(r.status, end < lbuf.length ? 202 : 200, r.text);
    }
    s = await synced(long.id, 0);
    assert.equal(s.status, 'ready', s.error);
    assert.ok(s.pages >= 2 && s.chunks > 500 * (s.pages - 1) && s.chunks <= 500 * s.pages, JSON.stringify(s));
    const partUrls = Array.from({ length: s.pages }, (_, i) => (i === 0 ? 'long.txt' : `long.txt#part-${i + 1}`));
    const partChunks = async () => { const m = await pages(long.id); return partUrls.map((u) => m.get(u)?.chunks); };
    const expected = partUrls.map((_, i) => (i < s.pages - 1 ? 500 : s.chunks - 500 * (s.pages - 1)));
    assert.deepEqual(await partChunks(), expected);
    assert.equal((await found('axolotl warranty desk'))[0].url, partUrls.at(-1));
    assert.equal((await call('POST', `${S}/${long.id}/sync`)).status, 200);
    const again = await synced(long.id, s.synced_at);
    assert.equal(again.pages, s.pages);
    assert.equal(again.chunks, s.chunks);
    assert.deepEqual(await partChunks(), expected, 'the later parts kept with the first');
    assert.equal((await found('axolotl warranty desk'))[0].url, partUrls.at(-1));

    // A type it does not read, an empty body, a crawl given a file: refused.
    r = await p.request('PUT', `${S}/${md.id}/file`, { headers: { 'x-admin-api-key': p.adminKey,
      'content-type': 'image/png' }, body: 'x' });
    assert.equal(r.status, 415);
    r = await p.request('PUT', `${S}/${md.id}/file`, { headers: { 'x-admin-api-key': p.adminKey,
      'content-type': 'text/plain' }, body: '' });
    assert.equal(r.status, 400);
    r = await p.request('PUT', `${S}/${src.id}/file`, { headers: { 'x-admin-api-key': p.adminKey,
      'content-type': 'text/plain' }, body: 'words' });
    assert.equal(r.status, 400);
    assert.match(r.json().error, /not a file source/);
    // A file that is not what it says: the source fails with the reader's reason.
    r = await p.request('PUT', `${S}/${md.id}/file`, { headers: { 'x-admin-api-key': p.adminKey,
      'content-type': 'application/pdf' }, body: 'not a pdf at all' });
    assert.equal(r.status, 200);
    s = await synced(md.id, (await call('GET', `${S}/${md.id}`)).json().synced_at);
    assert.equal(s.status, 'failed');
    assert.match(s.error, /^file: pdf: /);
  });

  // One organisation's slow site (pages that answer only at their 30 s
  // bound) once held every other organisation's sources behind its sync,
  // for as long as PARLEY_FETCH_SYNC_MINUTES.
  test('another organisation\'s file source is read while a slow crawl runs', async () => {
    let links = '';
    for (let i = 0; i < 8; i++) {
      files.set(`/slow/p${i}`, { hold: true });
      links += `<a href="/slow/p${i}">p${i}</a> `;
    }
    files.set('/slow/', { body: page('Slow site', `<p>A slow site.</p> ${links}`) });
    const slow = (await call('POST', S, { type: 'crawl', url: site.url('/slow/') })).json();
    await waitFor(() => held.length > 0, WAIT, 'the slow crawl waiting on its pages');
    const org = (await call('POST', '/v1/admin/organizations', { name: 'Not slow' })).json().id;
    const inB = { 'x-admin-api-key': p.adminKey, 'x-organization-id': org };
    const b = (await p.request('POST', S, { headers: { ...inB, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'file', url: 'teapot.md' }) })).json();
    const r = await p.request('PUT', `${S}/${b.id}/file`, { headers: { ...inB, 'content-type': 'text/markdown' },
      body: '# Teapot\n\nThe teapot sings in a minor key.\n' });
    assert.equal(r.status, 200, r.text);
    let s;
    await waitFor(async () => {
      s = (await p.request('GET', `${S}/${b.id}`, { headers: inB })).json();
      return s.status !== 'syncing';
    }, 10000, 'the other organisation\'s file source read');
    assert.equal(s.status, 'ready');
    assert.equal(s.pages, 1);
    assert.equal((await call('GET', `${S}/${slow.id}`)).json().status, 'syncing');
    // The slow pages let go: the crawl ends.
    for (let i = 0; i < 8; i++) files.get(`/slow/p${i}`).hold = false;
    for (const res of held.splice(0)) res.writeHead(404).end();
    await synced(slow.id, 0);
  });

  test('the fetcher is a process of its own, named parley-fetch', async () => {
    const pids = p.fetcherPids();
    assert.equal(pids.length, 1);
    assert.equal(fs.readFileSync(`/proc/${pids[0]}/comm`, 'utf8').trim(), 'parley-fetch');
    assert.ok(!p.workerPids().includes(pids[0]));
    await p.waitLog('masterd', new RegExp(`parley-fetch\\[${pids[0]}\\]: info: storaged: connected`));
  });
});
