// A re-sync that cannot read a part of a site keeps the pages it did not
// reach (served on 127.0.0.1, PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on): a hub
// page answering 503 keeps its text and its stored links are followed,
// so the pages under it stay; robots.txt answering 503 crawls nothing
// and fails the sync, every page kept; a child sitemap answering 503
// leaves the source ready, its error naming that sitemap, its pages
// kept, and the error gone once it answers again; an index listing more
// sitemaps than a sync reads keeps the pages of those it did not read.
// A page longer than PARLEY_FETCH_PAGE_MB (1 here) is read up to it: its
// first text found, the text past the bound not, the page saying so,
// and still saying so when kept by a 304 or read again unchanged.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { QUICK_POLLS } from './lib/harness.mjs';
import * as kb from './lib/knowledge.mjs';
import { receiver } from './lib/receiver.mjs';

const S = '/v1/admin/knowledge/sources';
const WAIT = 15000;
const page = (t, b) => '<!doctype html><html lang="en"><head>' +
  `<title>${t}</title></head><body><main><h1>${t}</h1>${b}</main></body></html>`;

let p;
let site;
let call;
let files;
const down = new Set();	// paths answering 503 for now
const bigAsked = [];	// /big/'s If-None-Match, each time it is asked

before(async () => {
  site = await receiver((req, res) => {
    if (down.has(req.url)) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('busy');
      return;
    }
    const f = files[req.url];
    if (req.url === '/big/') bigAsked.push(req.headers['if-none-match'] ?? null);
    if (!f) {
      res.writeHead(404);
      res.end();
      return;
    }
    // A third element is the file's ETag, answered 304 when asked with it.
    if (f[2] && req.headers['if-none-match'] === f[2]) {
      res.writeHead(304, { etag: f[2] });
      res.end();
      return;
    }
    res.writeHead(200, f[2] ? { 'content-type': f[0], etag: f[2] } : { 'content-type': f[0] });
    res.end(f[1]);
  });
  const u = (x) => site.url(x);
  const urlset = (x) => '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' +
    `<url><loc>${u(x)}</loc></url></urlset>`;
  files = {
    '/docs/': ['text/html', page('Home', '<p>Welcome home.</p><a href="/docs/hub">Hub</a>')],
    '/docs/hub': ['text/html', page('Hub', '<p>The hub lists guides.</p><a href="/docs/a">A</a> <a href="/docs/b">B</a>')],
    '/docs/a': ['text/html', page('Guide A', '<p>The capybara guide explains everything.</p>')],
    '/docs/b': ['text/html', page('Guide B', '<p>The axolotl guide explains the rest.</p>')],
    '/sitemap.xml': ['application/xml', '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' +
      `<sitemap><loc>${u('/sm1.xml')}</loc></sitemap><sitemap><loc>${u('/sm2.xml')}</loc></sitemap></sitemapindex>`],
    '/sm1.xml': ['application/xml', urlset('/docs/a')],
    '/sm2.xml': ['application/xml', urlset('/docs/b')],
    // 1 MiB and a half: the narwhal before the bound, the quokka after.
    '/big/': ['text/html; charset=utf-8', page('Big', '<p>The narwhal chapter opens the book.</p><p>' +
      'Plain filler words fill these pages — ünïcödé too. '.repeat(30000) + '</p><p>The quokka chapter closes it.</p>'), '"big1"'],
  };
  ({ p, call } = await kb.kbParley({ PARLEY_FETCH_PAGE_MB: '1', ...QUICK_POLLS }));
});

after(() => kb.stopAll(p, site));

const synced = (id, since) => kb.synced(call, id, since, WAIT);

async function pages(id) {
  const r = (await call('GET', `${S}/${id}/pages?limit=50`)).json();
  return new Map(r.pages.map((x) => [new URL(x.url).pathname, x]));
}

const found = async (q) => (await call('POST', '/v1/admin/knowledge/search', { query: q, k: 5 })).json().results.map((x) => x.url);

/* The source re-synced while paths answer 503. */
async function resync(s, paths) {
  paths.forEach((x) => down.add(x));
  try {
    assert.equal((await call('POST', `${S}/${s.id}/sync`)).status, 200);
    return await synced(s.id, s.synced_at);
  } finally {
    paths.forEach((x) => down.delete(x));
  }
}

let crawl;

test('a hub page answering 503 keeps its text, its stored links followed: the pages under it stay', async () => {
  const r = await call('POST', S, { type: 'crawl', url: site.url('/docs/') });
  assert.equal(r.status, 201, r.text);
  crawl = await synced(r.json().id, 0);
  assert.equal(crawl.status, 'ready', crawl.error);
  assert.equal(crawl.pages, 4);
  const s = await resync(crawl, ['/docs/hub']);
  assert.equal(s.status, 'ready', s.error);
  assert.equal(s.pages, 4);
  const got = await pages(s.id);
  assert.equal(got.get('/docs/hub').error, 'HTTP 503 (the last version kept)');
  assert.ok(got.has('/docs/a') && got.has('/docs/b'), [...got.keys()].join(' '));
  assert.ok((await found('capybara')).length > 0, 'a page under the hub removed');
  crawl = s;
});

test('robots.txt answering 503 crawls nothing and fails the sync, its pages kept', async () => {
  const before = site.hits.length;
  const s = await resync(crawl, ['/robots.txt']);
  assert.equal(s.status, 'failed');
  assert.equal(s.error, 'robots.txt: HTTP 503');
  assert.deepEqual(site.hits.slice(before).map((h) => h.path), ['/robots.txt']);
  assert.equal(s.pages, 4);
  assert.ok((await found('capybara')).length > 0, 'the pages removed');
  crawl = s;
});

test('a child sitemap answering 503: the source ready, its error naming it, its pages kept', async () => {
  const r = await call('POST', S, { type: 'crawl', url: site.url('/sitemap.xml') });
  let s = await synced(r.json().id, 0);
  assert.equal(s.status, 'ready', s.error);
  assert.equal(s.pages, 2);
  s = await resync(s, ['/sm1.xml']);
  assert.equal(s.status, 'ready');
  assert.equal(s.error, `sitemap ${site.url('/sm1.xml')}: HTTP 503`);
  assert.equal(s.pages, 2);
  assert.ok((await pages(s.id)).has('/docs/a'), 'the page of the unread sitemap removed');
  // Read again, the error is gone.
  assert.equal((await call('POST', `${S}/${s.id}/sync`)).status, 200);
  s = await synced(s.id, s.synced_at);
  assert.equal(s.status, 'ready');
  assert.equal(s.error, '');
  assert.equal(s.pages, 2);
});

test('an index listing more sitemaps than a sync reads: the source ready, its error naming the first unread, its pages kept', async () => {
  const u = (x) => site.url(x);
  const index = (locs) => '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' +
    locs.map((x) => `<sitemap><loc>${u(x)}</loc></sitemap>`).join('') + '</sitemapindex>';
  files['/big-index.xml'] = ['application/xml', index(['/sm1.xml', '/sm2.xml'])];
  const r = await call('POST', S, { type: 'crawl', url: u('/big-index.xml') });
  assert.equal(r.status, 201, r.text);
  let s = await synced(r.json().id, 0);
  assert.equal(s.status, 'ready', s.error);
  assert.equal(s.pages, 2);
  // The index grows: 60 sitemaps of an empty part first, the two read before last.
  const filler = [];
  for (let i = 0; i < 60; i++) {
    filler.push(`/filler${i}.xml`);
    files[`/filler${i}.xml`] = ['application/xml', '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' +
      `<url><loc>${u('/docs/')}</loc></url></urlset>`];
  }
  files['/big-index.xml'] = ['application/xml', index([...filler, '/sm1.xml', '/sm2.xml'])];
  assert.equal((await call('POST', `${S}/${s.id}/sync`)).status, 200);
  s = await synced(s.id, s.synced_at);
  assert.equal(s.status, 'ready');
  assert.match(s.error, /^sitemap http:\/\/[^ ]+\/filler\d+\.xml: not read, over 50 sitemaps in one sync$/);
  const got = await pages(s.id);
  assert.ok(got.has('/docs/a') && got.has('/docs/b'), [...got.keys()].join(' '));
});

test('a page over PARLEY_FETCH_PAGE_MB: read up to the bound, indexed, and said to be cut', async () => {
  assert.ok(Buffer.byteLength(files['/big/'][1]) > 1.4 * 1048576);
  const r = await call('POST', S, { type: 'crawl', url: site.url('/big/') });
  assert.equal(r.status, 201, r.text);
  const s = await synced(r.json().id, 0);
  assert.equal(s.status, 'ready', s.error);
  // Its first part (the others are /big/#part-2...) says so.
  const first = async (id) => (await call('GET', `${S}/${id}/pages?limit=50`)).json().pages.find((x) => x.url === site.url('/big/'));
  const got = await first(s.id);
  assert.equal(got.error, 'page: over the byte bound (PARLEY_FETCH_PAGE_MB): only the text before it is indexed', JSON.stringify(got));
  assert.ok(got.chunks > 0, JSON.stringify(got));
  assert.ok((await found('narwhal')).includes(site.url('/big/')), 'the text before the bound is found');
  assert.ok(!(await found('quokka')).includes(site.url('/big/')), 'the text past the bound is not');
  // Synced again unchanged (a 304 to its ETag): still said to be cut.
  const asked = bigAsked.length;
  const again = await resync(s, []);
  assert.deepEqual(bigAsked.slice(asked), ['"big1"'], 'the page asked again with its ETag');
  const kept = await first(again.id);
  assert.equal(kept.error, got.error, JSON.stringify(kept));
  assert.equal(kept.chunks, got.chunks, JSON.stringify(kept));
  // Changed (a new ETag, the same bytes): read again, still said to be cut.
  files['/big/'][2] = '"big2"';
  const third = await resync(again, []);
  assert.equal((await first(third.id)).error, got.error);
});
