// The knowledge base in the admin API, against the real processes with 2
// workers: sources made, listed, read, patched and deleted; a qa source
// is searchable at once through POST /v1/admin/knowledge/search and
// answers with its source, text and score; a patched answer is found by
// its new words and no longer by its old ones; a crawl waits, syncing;
// the 400s name the field (type, url, answer, a changed type, k,
// language, unknown fields); one organisation's search never returns
// another's text, and its sources are 404 to the other; a deleted source
// is never found again; an agent may search but not add sources; a
// crawl's start URL at a private or loopback address is refused unless
// PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on (a second stack). Every JSON answer is
// validated against the OpenAPI document.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { checkerFor } from './lib/openapi.mjs';
import { addKey } from './lib/people.mjs';

const S = '/v1/admin/knowledge/sources';
const Q = '/v1/admin/knowledge/search';
const PRIVATE = ['http://127.0.0.1:9/', 'http://10.0.0.1/docs', 'http://[::1]/', 'http://localhost:8080/wiki',
  'http://169.254.169.254/latest/meta-data/'];
// A refusal names the setting that allows it (as a webhook's does).
const WHY = 'url: resolves to a private, loopback or link-local address (PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on allows it, in the default organization)';

function client(p, api) {
  return async function call(method, pathname, body, headers = { 'x-admin-api-key': p.adminKey }) {
    const h = { ...headers };
    let b;
    if (body !== undefined) {
      b = JSON.stringify(body);
      h['content-type'] = 'application/json';
    }
    const r = await p.request(method, pathname, { headers: h, body: b });
    if ((r.headers['content-type'] || '').startsWith('application/json')) api.checkJson(method, pathname, r);
    return r;
  };
}

describe('knowledge sources and search, 2 workers', () => {
  let p;
  let call;

  before(async () => {
    p = new Parley({ workers: 2, mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
    call = client(p, await checkerFor(p));
  });
  after(async () => {
    if (p) await p.stop();
  });

  async function search(query, k, headers) {
    const r = await call('POST', Q, k === undefined ? { query } : { query, k }, headers);
    assert.equal(r.status, 200, r.text);
    return r.json().results;
  }

  test('a qa source is found at once, patched, listed and deleted', async () => {
    const r = await call('POST', S, { type: 'qa', question: 'How do I return an order?',
      answer: 'Send the parcel back within 30 days with its receipt.' });
    assert.equal(r.status, 201, r.text);
    const s = r.json();
    assert.match(s.id, /^ks_[0-9a-f]{32}$/);
    assert.equal(s.type, 'qa');
    assert.equal(s.status, 'ready');
    assert.equal(s.chunks, 1);
    assert.equal(s.organization_id, 'default');

    let hits = await search('returning an order I bought');
    assert.equal(hits.length, 1);
    assert.equal(hits[0].source_id, s.id);
    assert.equal(hits[0].title, 'How do I return an order?');
    assert.match(hits[0].text, /30 days/);
    assert.ok(hits[0].score > 0);
    assert.match(hits[0].chunk_id, /^kc_[0-9a-f]{32}$/);

    const pr = await call('PATCH', `${S}/${s.id}`, { answer: 'Returns are free for 60 days; print the label online.' });
    assert.equal(pr.status, 200, pr.text);
    assert.equal(pr.json().status, 'ready');
    assert.equal((await search('free label')).length, 1);
    assert.equal((await search('receipt')).length, 0);

    const g = await call('GET', `${S}/${s.id}`);
    assert.equal(g.status, 200);
    assert.match(g.json().answer, /60 days/);
    const l = await call('GET', S);
    assert.ok(l.json().sources.some((x) => x.id === s.id));

    const d = await call('DELETE', `${S}/${s.id}`);
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(d.json(), { deleted: true });
    assert.equal((await search('free label')).length, 0);
    assert.equal((await call('GET', `${S}/${s.id}`)).status, 404);
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 404);
  });

  test('a crawl waits for the fetcher, syncing', async () => {
    const r = await call('POST', S, { type: 'crawl', url: 'https://93.184.216.34/docs/', max_pages: 200, sync_hours: 24 });
    assert.equal(r.status, 201, r.text);
    const s = r.json();
    assert.equal(s.status, 'syncing');
    assert.equal(s.max_pages, 200);
    assert.equal(s.sync_hours, 24);
    assert.equal(s.max_depth, null);
    assert.ok(s.next_sync_at > 0);
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
  });

  test('bad input is a 400 that names the field', async () => {
    const bad = [
      [{}, /^type: required/],
      [{ type: 'wiki' }, /^type: /],
      [{ type: 'crawl', url: 'ftp://x.example/' }, /^url: /],
      [{ type: 'qa', question: 'Why?' }, /^answer: /],
      [{ type: 'qa', question: 'Why?', answer: 'So.', language: 'xx' }, /^language: /],
      [{ type: 'qa', question: 'Why?', answer: 'So.', status: 'ready' }, /status/],
      [{ type: 'qa', question: 'Why?', answer: 'So.', colour: 'red' }, /colour/],
      [{ type: 'qa', question: 'q'.repeat(301), answer: 'So.' }, /^question: /],
    ];
    for (const [body, re] of bad) {
      const r = await call('POST', S, body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.match(r.json().error, re);
    }
    const s = (await call('POST', S, { type: 'qa', question: 'Why?', answer: 'So.' })).json();
    const t = await call('PATCH', `${S}/${s.id}`, { type: 'crawl' });
    assert.equal(t.status, 400);
    assert.match(t.json().error, /^type: cannot change/);
    for (const [body, re] of [[{}, /^query: /], [{ query: '' }, /^query: /], [{ query: 'x', k: 0 }, /^k: /],
      [{ query: 'x', k: 51 }, /^k: /], [{ query: 'x', language: 'xx' }, /^language: /],
      [{ query: 'x'.repeat(2001) }, /^query: /], [{ query: 'x', agent: 1 }, /unknown/], [{ query: 'x', agent_id: 7 }, /^agent_id: /]]) {
      const r = await call('POST', Q, body);
      assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
      assert.match(r.json().error, re);
    }
    assert.equal((await call('GET', `${S}/nope`)).status, 404);
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
  });

  test("one organisation never finds another's text", async () => {
    const b = (await call('POST', '/v1/admin/organizations', { name: 'Knowledge B' })).json().id;
    const inB = { 'x-admin-api-key': p.adminKey, 'x-organization-id': b };
    const a = (await call('POST', S, { type: 'qa', question: 'Kettle warranty?', answer: 'Two years on every kettle.' })).json();
    const sb = (await call('POST', S, { type: 'qa', question: 'Kettle warranty?', answer: 'Five years on every kettle.' }, inB)).json();
    assert.equal(sb.organization_id, b);
    const hb = await search('kettle warranty', 50, inB);
    assert.deepEqual(hb.map((h) => h.source_id), [sb.id]);
    assert.match(hb[0].text, /Five/);
    const ha = await search('kettle warranty', 50);
    assert.ok(ha.every((h) => h.source_id !== sb.id));
    assert.equal((await call('GET', `${S}/${a.id}`, undefined, inB)).status, 404);
    assert.equal((await call('PATCH', `${S}/${a.id}`, { answer: 'mine' }, inB)).status, 404);
    assert.equal((await call('DELETE', `${S}/${a.id}`, undefined, inB)).status, 404);
    assert.ok((await call('GET', S, undefined, inB)).json().sources.every((x) => x.organization_id === b));
    // A deleted organisation's sources go with it.
    assert.equal((await call('DELETE', `/v1/admin/organizations/${b}`)).status, 200);
    assert.equal((await call('GET', `${S}/${sb.id}`, undefined, inB)).status === 200, false);
  });

  test('an agent may search, not add sources', async () => {
    const { key } = await addKey(p, { role: 'agent' });
    const h = { 'x-admin-api-key': key };
    assert.equal((await call('POST', S, { type: 'qa', question: 'a?', answer: 'b' }, h)).status, 403);
    assert.equal((await call('GET', S, undefined, h)).status, 403);
    const r = await call('POST', Q, { query: 'kettle' }, h);
    assert.equal(r.status, 200, r.text);
  });

  test('a crawl of a private address is refused', async () => {
    for (const url of PRIVATE) {
      const r = await call('POST', S, { type: 'crawl', url });
      assert.equal(r.status, 400, `${url}: ${r.text}`);
      assert.equal(r.json().error, WHY, url);
    }
    const s = (await call('POST', S, { type: 'crawl', url: 'https://93.184.216.34/' })).json();
    const r = await call('PATCH', `${S}/${s.id}`, { url: 'http://127.0.0.1:8080/' });
    assert.equal(r.status, 400);
    assert.equal(r.json().error, WHY);
  });

  // Its URL is logged, listed and shown: a password in it was logged.
  test('a crawl URL with a user name or password is refused', async () => {
    for (const url of ['https://crawluser:secret@93.184.216.34/', 'https://crawluser@93.184.216.34/docs/']) {
      const r = await call('POST', S, { type: 'crawl', url });
      assert.equal(r.status, 400, `${url}: ${r.text}`);
      assert.equal(r.json().error, 'url: must not hold a user name or password', url);
    }
    const ok = await call('POST', S, { type: 'crawl', url: 'https://93.184.216.34/a@b' });
    assert.equal(ok.status, 201, 'an @ in the path is no password');
  });

  // A URL the fetcher refuses was stored (201), to fail 2 s later, and
  // a loopback one so passed the private-address check unjudged.
  test('a crawl URL the fetcher would refuse is 400 at once, naming why', async () => {
    for (const [url, why] of [
      ['https://93.184.216.34/page#top', 'url: must not have a fragment'],
      ['http://127.0.0.1:9010/k#frag', 'url: must not have a fragment'],
      ['http://[fe80::1%25lo]:9010/k', 'url: IPv6 zone ids are not allowed'],
    ]) {
      const r = await call('POST', S, { type: 'crawl', url });
      assert.equal(r.status, 400, `${url}: ${r.text}`);
      assert.equal(r.json().error, why, url);
    }
    const s = (await call('POST', S, { type: 'crawl', url: 'https://93.184.216.34/' })).json();
    const r = await call('PATCH', `${S}/${s.id}`, { url: 'https://93.184.216.34/#top' });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json().error, 'url: must not have a fragment');
  });
});

describe('knowledge crawls with PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on', () => {
  let p;
  let call;

  before(async () => {
    p = new Parley({ workers: 1, mock: true, env: { PARLEY_KNOWLEDGE_ALLOW_PRIVATE: 'on' } });
    await p.start();
    call = client(p, await checkerFor(p));
  });
  after(async () => {
    if (p) await p.stop();
  });

  test("the default organisation may crawl its intranet, another may not", async () => {
    const r = await call('POST', S, { type: 'crawl', url: 'http://127.0.0.1:9/wiki/' });
    assert.equal(r.status, 201, r.text);
    const b = (await call('POST', '/v1/admin/organizations', { name: 'Knowledge B' })).json().id;
    const rb = await call('POST', S, { type: 'crawl', url: 'http://127.0.0.1:9/wiki/' },
      { 'x-admin-api-key': p.adminKey, 'x-organization-id': b });
    assert.equal(rb.status, 400);
    assert.equal(rb.json().error, WHY);
  });
});
