// A crawl source whose start URL redirects: the crawl's scope follows the
// start URL's own redirect chain when it leads to the same host (or its
// www. twin), over https or on another port, or adds a trailing slash;
// the pages are stored under the URLs they came from, robots.txt of the
// origin the start landed on read before any other page. Served on
// loopback (PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on): an http site whose every
// path redirects to an https one (a certificate made here, trusted
// through the test build's PARLEY_TEST_FETCH_CA), to another port, and a
// start without its directory's trailing slash (the directory it landed
// in crawled), the site's root led to a directory (the whole site still
// crawled). A redirect to another host still fails the sync.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { QUICK_POLLS } from './lib/harness.mjs';
import * as kb from './lib/knowledge.mjs';
import { receiver } from './lib/receiver.mjs';

const S = '/v1/admin/knowledge/sources';
const WAIT = 20000;
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-crawl-redirect-'));
const CERT = path.join(TMP, 'site.crt');
const KEY = path.join(TMP, 'site.key');

function page(title, body) {
  return `<!doctype html><html lang="en"><head><title>${title}</title></head>` +
    `<body><main><h1>${title}</h1>${body}</main></body></html>`;
}

// A site of files: path -> {body, type, redirect}; every request kept.
function site(files, hits) {
  return (req, res) => {
    hits.push(req.url);
    const f = files.get(req.url);
    if (!f) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    } else if (f.redirect) {
      res.writeHead(301, { location: f.redirect });
      res.end();
    } else {
      res.writeHead(200, { 'content-type': f.type || 'text/html; charset=utf-8' });
      res.end(f.body);
    }
  };
}

describe('a start URL that redirects', () => {
  let p, call, plain, other, secure;
  const plainFiles = new Map(), otherFiles = new Map(), secureFiles = new Map();
  const plainHits = [], otherHits = [], secureHits = [];

  before(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', KEY, '-out', CERT],
    { stdio: 'ignore' });
    plain = await receiver(site(plainFiles, plainHits));
    other = await receiver(site(otherFiles, otherHits));
    secure = https.createServer({ key: fs.readFileSync(KEY), cert: fs.readFileSync(CERT) }, site(secureFiles, secureHits));
    secure.on('tlsClientError', () => {});
    await new Promise((ok) => secure.listen(0, '127.0.0.1', ok));
    ({ p, call } = await kb.kbParley({ PARLEY_TEST_FETCH_CA: CERT, ...QUICK_POLLS }));
  });
  after(async () => {
    try {
      if (p) await p.stop();
    } finally {
      if (plain) await plain.close();
      if (other) await other.close();
      if (secure) {
        secure.closeAllConnections();
        await new Promise((ok) => secure.close(ok));
      }
      fs.rmSync(TMP, { recursive: true, force: true });
    }
  });

  const synced = (id, since) => kb.synced(call, id, since, WAIT);

  const pages = async (id) => new Map((await kb.pageList(call, id, 100)).map((x) => [x.url, x]));

  const found = (query) => kb.found(call, query);

  test('http to https: the https site is crawled, its robots.txt honoured', async () => {
    const su = (x) => `https://127.0.0.1:${secure.address().port}${x}`;
    // Every path of the http site moves to the https one.
    for (const x of ['/robots.txt', '/help/', '/help/kettle', '/help/secret']) plainFiles.set(x, { redirect: su(x) });
    secureFiles.set('/robots.txt', { type: 'text/plain', body: 'User-agent: *\nDisallow: /help/secret\n' });
    secureFiles.set('/help/', { body: page('Help', '<p>The help desk.</p><a href="/help/kettle">Kettle</a> ' +
      '<a href="secret">Secret</a> <a href="/elsewhere">Elsewhere</a>') });
    secureFiles.set('/help/kettle', { body: page('Kettle', '<p>The kettle whistles like a marmoset.</p>') });
    secureFiles.set('/help/secret', { body: page('Secret', '<p>A forbidden pangolin.</p>') });
    secureFiles.set('/elsewhere', { body: page('Elsewhere', '<p>Outside the start directory: a tapir.</p>') });
    const r = await call('POST', S, { type: 'crawl', url: plain.url('/help/') });
    assert.equal(r.status, 201, r.text);
    const s = await synced(r.json().id, 0);
    assert.equal(s.status, 'ready', s.error);
    const got = await pages(s.id);
    assert.ok(got.get(su('/help/kettle'))?.chunks >= 1, JSON.stringify([...got.keys()]));
    assert.ok(got.get(su('/help/'))?.chunks >= 1);
    assert.equal(got.get(plain.url('/help/')).error, `redirected to ${su('/help/')}`);
    assert.equal((await found('marmoset whistles'))[0]?.url, su('/help/kettle'));
    assert.ok(secureHits.includes('/robots.txt'), 'the https origin\'s robots.txt read');
    assert.ok(!secureHits.includes('/help/secret'), 'a page the https robots.txt disallows fetched');
    assert.ok(!secureHits.includes('/elsewhere'), 'a page outside the start directory fetched');
    for (const q of ['pangolin', 'tapir']) assert.equal((await found(q)).length, 0, q);
    // A re-sync keeps them.
    assert.equal((await call('POST', `${S}/${s.id}/sync`)).status, 200);
    const s2 = await synced(s.id, s.synced_at);
    assert.equal(s2.status, 'ready', s2.error);
    assert.equal((await found('marmoset whistles'))[0]?.url, su('/help/kettle'));
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
  });

  test('to another port of the same host, and a trailing slash added: followed', async () => {
    plainFiles.set('/moved/', { redirect: other.url('/guide') });
    otherFiles.set('/guide', { redirect: '/guide/' });
    otherFiles.set('/guide/', { body: page('Guide', '<p>The guide.</p><a href="install">Install</a> <a href="/guide/faq">FAQ</a> <a href="/other/">Other</a>') });
    otherFiles.set('/guide/install', { body: page('Install', '<p>Install the ocelot bracket first.</p>') });
    otherFiles.set('/guide/faq', { body: page('FAQ', '<p>The lid hinge is made of brass.</p>') });
    otherFiles.set('/other/', { body: page('Other', '<p>Outside the guide: an axolotl.</p>') });
    const r = await call('POST', S, { type: 'crawl', url: plain.url('/moved/') });
    assert.equal(r.status, 201, r.text);
    const s = await synced(r.json().id, 0);
    assert.equal(s.status, 'ready', s.error);
    const got = await pages(s.id);
    assert.ok(got.get(other.url('/guide/install'))?.chunks >= 1, JSON.stringify([...got.keys()]));
    assert.ok(got.get(other.url('/guide/faq'))?.chunks >= 1);
    assert.ok(otherHits.includes('/robots.txt'), 'the origin the start landed on: its robots.txt read');
    assert.equal((await found('ocelot bracket'))[0]?.url, other.url('/guide/install'));
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);

    // The start's own trailing slash, on its own host.
    const r2 = await call('POST', S, { type: 'crawl', url: other.url('/guide') });
    assert.equal(r2.status, 201, r2.text);
    const s2 = await synced(r2.json().id, 0);
    assert.equal(s2.status, 'ready', s2.error);
    const got2 = await pages(s2.id);
    assert.ok(got2.get(other.url('/guide/install'))?.chunks >= 1, JSON.stringify([...got2.keys()]));
    assert.ok(!otherHits.includes('/other/'), 'a page outside the directory the start landed in fetched');
    assert.equal((await call('DELETE', `${S}/${s2.id}`)).status, 200);

    // The site's root asked for, led to a directory of its own: the whole
    // site is still the crawl's, on the origin it moved to.
    plainFiles.set('/', { redirect: other.url('/guide/') });
    const r3 = await call('POST', S, { type: 'crawl', url: plain.url('/') });
    assert.equal(r3.status, 201, r3.text);
    const s3 = await synced(r3.json().id, 0);
    assert.equal(s3.status, 'ready', s3.error);
    const got3 = await pages(s3.id);
    assert.ok(got3.get(other.url('/other/'))?.chunks >= 1, JSON.stringify([...got3.keys()]));
    assert.ok(got3.get(other.url('/guide/install'))?.chunks >= 1);
    assert.equal((await call('DELETE', `${S}/${s3.id}`)).status, 200);
  });

  test('to another host: the sync fails, nothing widened', async () => {
    const port = new URL(other.url('/')).port;
    plainFiles.set('/away/', { redirect: `http://localhost:${port}/guide/` });
    const before = otherHits.length;
    const r = await call('POST', S, { type: 'crawl', url: plain.url('/away/') });
    assert.equal(r.status, 201, r.text);
    const s = await synced(r.json().id, 0);
    assert.equal(s.status, 'failed');
    assert.match(s.error, /start URL: redirected off the site/);
    assert.equal(otherHits.length, before, 'another host asked');
    assert.equal((await call('DELETE', `${S}/${s.id}`)).status, 200);
  });
});
