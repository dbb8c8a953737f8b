// One page reached by several URLs is stored once: a link's fragment and
// its campaign-tracking parameters (utm_*, gclid ...) are not a page of
// their own, nor is a sitemap's <loc> with a fragment; a page whose
// <link rel="canonical"> names another URL of the site is stored as a
// copy of it (no text, its error saying whose), the canonical page
// fetched and stored in its place, once, whichever the crawl met first;
// two pages naming each other keep one of them; a canonical on another
// site is ignored. Synced again, the same. Served on loopback
// (PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { QUICK_POLLS } from './lib/harness.mjs';
import * as kb from './lib/knowledge.mjs';
import { receiver } from './lib/receiver.mjs';

const S = '/v1/admin/knowledge/sources';
const WAIT = 20000;

function page(title, body, canonical) {
  const link = canonical ? `<link rel="canonical" href="${canonical}">` : '';
  return `<!doctype html><html lang="en"><head><title>${title}</title>${link}</head>` +
    `<body><main><h1>${title}</h1>${body}</main></body></html>`;
}

describe('a page reached by several URLs', () => {
  let p, call, site;
  const files = new Map();

  before(async () => {
    site = await receiver((req, res) => {
      const f = files.get(req.url);
      if (!f) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': f.type || 'text/html; charset=utf-8' });
      res.end(f.body);
    });
    const b = '<p>The kettle base holds a bright blue light that glows while it boils.</p>';
    const c = '<p>Cleaning the filter: rinse it under warm water once a week.</p>';
    files.set('/kb/', { body: page('Home', '<p>Home.</p>' +
      '<a href="/kb/a?utm_source=news&utm_medium=mail">A</a> <a href="/kb/a#section">A again</a> ' +
      '<a href="/kb/a?gclid=xyz">A once more</a> <a href="/kb/b">B</a> <a href="/kb/b-print">B, printable</a> ' +
      '<a href="/kb/c?ref=menu">C</a> <a href="/kb/x">X</a> <a href="/kb/loop1">L1</a> <a href="/kb/loop2">L2</a>') });
    files.set('/kb/a', { body: page('A', '<p>The aardvark adapter fits every socket.</p>') });
    files.set('/kb/b', { body: page('B', b, '/kb/b') });
    files.set('/kb/b-print', { body: page('B', b, site.url('/kb/b')) });
    files.set('/kb/c?ref=menu', { body: page('C', c, '/kb/c') });
    files.set('/kb/c', { body: page('C', c, '/kb/c') });
    files.set('/kb/x', { body: page('X', '<p>A xenops page whose canonical is elsewhere.</p>', 'http://other.example/x') });
    files.set('/kb/loop1', { body: page('Loop', '<p>The looping lemur page.</p>', '/kb/loop2') });
    files.set('/kb/loop2', { body: page('Loop', '<p>The looping lemur page.</p>', '/kb/loop1') });
    ({ p, call } = await kb.kbParley(QUICK_POLLS));
  });
  after(() => kb.stopAll(p, site));

  const synced = (id, since) => kb.synced(call, id, since, WAIT);

  const pages = async (id) => new Map((await kb.pageList(call, id, 100)).map((x) => [x.url.slice(site.url('').length), x]));

  function check(got) {
    const keys = [...got.keys()].sort();
    assert.deepEqual(keys, ['/kb/', '/kb/a', '/kb/b', '/kb/b-print', '/kb/c', '/kb/c?ref=menu', '/kb/loop1',
      '/kb/loop2', '/kb/x'], 'one page a URL, no fragment or tracking parameter');
    const withText = keys.filter((k) => got.get(k).chunks > 0);
    assert.deepEqual(withText, ['/kb/', '/kb/a', '/kb/b', '/kb/c', withText.includes('/kb/loop1') ? '/kb/loop1' : '/kb/loop2',
      '/kb/x'].sort(), 'each page\'s text stored once');
    assert.equal(got.get('/kb/b-print').error, `a copy of its canonical URL ${site.url('/kb/b')}`);
    assert.equal(got.get('/kb/c?ref=menu').error, `a copy of its canonical URL ${site.url('/kb/c')}`);
    assert.equal(got.get('/kb/b-print').chunks, 0);
    const loops = ['/kb/loop1', '/kb/loop2'].map((k) => got.get(k));
    assert.equal(loops.filter((x) => x.chunks > 0).length, 1, JSON.stringify(loops));
  }

  test('a link crawl stores each page once, under its canonical URL', async () => {
    const r = await call('POST', S, { type: 'crawl', url: site.url('/kb/') });
    assert.equal(r.status, 201, r.text);
    let s = await synced(r.json().id, 0);
    assert.equal(s.status, 'ready', s.error);
    check(await pages(s.id));
    const asked = site.hits.map((h) => h.path);
    assert.equal(asked.filter((x) => x.startsWith('/kb/a')).length, 1, JSON.stringify(asked));
    const chunks = s.chunks;
    // Again: the copies read again, the same pages kept.
    assert.equal((await call('POST', `${S}/${s.id}/sync`)).status, 200);
    s = await synced(s.id, s.synced_at);
    assert.equal(s.status, 'ready', s.error);
    check(await pages(s.id));
    assert.equal(s.chunks, chunks);
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
  });

  test('a sitemap\'s <loc> with a fragment or tracking parameter is the page it names', async () => {
    files.set('/kb/sitemap.xml', { type: 'application/xml', body: `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>${site.url('/kb/a')}</loc></url>
  <url><loc>${site.url('/kb/a#top')}</loc></url>
  <url><loc>${site.url('/kb/a?utm_campaign=spring')}</loc></url>
  <url><loc>${site.url('/kb/b-print')}</loc></url>
</urlset>` });
    const before = site.hits.length;
    const r = await call('POST', S, { type: 'crawl', url: site.url('/kb/sitemap.xml') });
    assert.equal(r.status, 201, r.text);
    const s = await synced(r.json().id, 0);
    assert.equal(s.status, 'ready', s.error);
    const got = await pages(s.id);
    assert.deepEqual([...got.keys()].sort(), ['/kb/a', '/kb/b', '/kb/b-print']);
    assert.equal(site.hits.slice(before).filter((h) => h.path.startsWith('/kb/a')).length, 1);
    assert.ok(got.get('/kb/b').chunks > 0);
    assert.equal(got.get('/kb/b-print').chunks, 0);
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
  });
});
