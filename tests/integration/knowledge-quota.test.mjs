// The knowledge base's quota (PARLEY_KB_QUOTA_MB=1, storaged's
// kbusage.c): a crawl of a site the test serves on 127.0.0.1 that would
// take more ends with the source failed, its error saying the
// organisation's knowledge base is full and its size, the pages stored
// before it kept and found; the listing says used and quota bytes, each
// source its own; a new source and a Q&A are refused 507 with that error
// while it is full; another organisation adds and finds its own; deleting
// the source frees the room at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { QUICK_POLLS, waitFor } from './lib/harness.mjs';
import { receiver } from './lib/receiver.mjs';
import * as kb from './lib/knowledge.mjs';

const S = '/v1/admin/knowledge/sources';
const QUOTA = 1 << 20;
const PAGES = 40;
const WAIT = 30000;
const FULL = /^the organisation's knowledge base is full: it holds [0-9.]+ MiB of its 1 MiB quota \(PARLEY_KB_QUOTA_MB\)$/;

// Page i's text: a word of its own (pagemarkI), then 500 words of a
// shared vocabulary, as a site's pages share theirs (about 40 KB counted
// each: some 25 fit a MiB).
function words(i) {
  const w = [`pagemark${i}`];
  let x = i * 7919 + 1;
  for (let n = 0; n < 500; n++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    w.push(`term${(x >> 8) % 2500}`);
  }
  return w.join(' ');
}

function html(title, body) {
  return `<!doctype html><html lang="en"><head><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;
}

describe('the knowledge base quota', () => {
  let p;
  let site;
  let call;
  let src;
  let b;

  before(async () => {
    site = await receiver((req, res) => {
      const m = /^\/docs\/p(\d+)$/.exec(req.url);
      let body;
      if (req.url === '/robots.txt') body = '';
      else if (req.url === '/docs/') {
        body = html('Handbook', Array.from({ length: PAGES }, (_, i) => `<a href="/docs/p${i}">p${i}</a>`).join(' '));
      } else if (m && Number(m[1]) < PAGES) body = html(`Page ${m[1]}`, `<p>${words(Number(m[1]))}</p>`);
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': req.url === '/robots.txt' ? 'text/plain' : 'text/html; charset=utf-8' });
      res.end(body);
    });
    ({ p, call } = await kb.kbParley({ PARLEY_KB_QUOTA_MB: '1', ...QUICK_POLLS }));
  });
  after(() => kb.stopAll(p, site));

  async function storage(headers = {}) {
    const r = await call('GET', S, undefined, { headers });
    assert.equal(r.status, 200, r.text);
    return r.json();
  }

  async function found(query, headers = {}) {
    const r = await call('POST', '/v1/admin/knowledge/search', { query, k: 5 }, { headers });
    assert.equal(r.status, 200, r.text);
    return r.json().results;
  }

  test('a crawl past the quota ends failed, its pages before kept and found', async () => {
    const r = await call('POST', S, { type: 'crawl', url: site.url('/docs/') });
    assert.equal(r.status, 201, r.text);
    let s;
    await waitFor(async () => {
      s = (await call('GET', `${S}/${r.json().id}`)).json();
      return s.status !== 'syncing';
    }, WAIT, 'the crawl ended');
    src = s;
    assert.equal(s.status, 'failed');
    assert.match(s.error, FULL);
    // Some pages stored, not all of them.
    assert.ok(s.pages > 5 && s.pages < PAGES + 1, `${s.pages} pages`);
    const l = await storage();
    assert.equal(l.storage.quota_bytes, QUOTA);
    assert.ok(l.storage.used_bytes > QUOTA / 2 && l.storage.used_bytes <= QUOTA, JSON.stringify(l.storage));
    assert.equal(l.sources[0].bytes, l.storage.used_bytes);
    // Each page stored is found by its own word.
    const pg = await call('GET', `${S}/${s.id}/pages?limit=200`);
    const stored = pg.json().pages.filter((x) => /\/docs\/p\d+$/.test(x.url));
    assert.ok(stored.length > 5);
    for (const x of stored.slice(0, 3)) {
      assert.ok(x.bytes > 0);
      const i = /p(\d+)$/.exec(x.url)[1];
      const hits = await found(`pagemark${i}`);
      assert.equal(hits[0] && hits[0].url, x.url, `page ${i} found`);
    }
  });

  test('while it is full, a new source and a Q&A are refused 507', async () => {
    for (const body of [{ type: 'crawl', url: site.url('/other/') },
      { type: 'qa', question: 'Opening hours?', answer: 'Nine to five.' }]) {
      const r = await call('POST', S, body);
      assert.equal(r.status, 507, r.text);
      assert.match(r.json().error, FULL);
    }
    assert.equal((await storage()).sources.length, 1);
  });

  test('another organisation adds and finds its own', async () => {
    b = (await call('POST', '/v1/admin/organizations', { name: 'Other' })).json().id;
    const inB = { 'x-organization-id': b };
    const r = await call('POST', S, { type: 'qa', question: 'Where is the zeppelin hangar?',
      answer: 'Behind the station.' }, { headers: inB });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json().status, 'ready');
    const l = await storage(inB);
    assert.equal(l.storage.used_bytes, r.json().bytes);
    assert.ok(l.storage.used_bytes > 0);
    assert.equal((await found('zeppelin hangar', inB))[0].source_id, r.json().id);
  });

  test('deleting the source frees the room at once', async () => {
    assert.equal((await call('DELETE', `${S}/${src.id}`)).status, 200);
    assert.equal((await storage()).storage.used_bytes, 0);
    const r = await call('POST', S, { type: 'qa', question: 'Opening hours?', answer: 'Nine to five.' });
    assert.equal(r.status, 201, r.text);
    assert.equal((await found('opening hours'))[0].source_id, r.json().id);
    // The other organisation's count is its own.
    assert.ok((await storage({ 'x-organization-id': b })).storage.used_bytes > 0);
  });
});
